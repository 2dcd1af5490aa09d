"""JSON API of the recordings module (/api/v1/recordings): rooms, start/stop, schedules, sessions, integrity,
timeline events, exports and replay grants. Media is served by the replay pages' proxy routes."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, url_for
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.fields import Float, Instant, Integer
from app.core.pages import me
from app.core.security import authenticated, requires
from app.recordings import exports, replay, services
from app.recordings import permissions as perms

blp = Blueprint(
    "recordings-api",
    __name__,
    url_prefix="/api/v1/recordings",
    description="Room recordings: start/stop, schedules, sessions, integrity, events, exports, grants.",
)


def problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


class PlainText(ma.fields.String):
    """A string without control characters (which no user types and some databases refuse)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any(not c.isprintable() for c in text):
            raise ma.ValidationError("Control characters are not allowed.")
        return str(text)


class RoomIn(ma.Schema):
    code = PlainText(required=True, validate=ma.validate.Length(min=1, max=40))
    name = PlainText(required=True, validate=ma.validate.Length(min=1, max=200))
    source = PlainText(load_default="synthetic", validate=ma.validate.Length(min=1, max=500))
    kind = ma.fields.String(
        load_default="opening",
        validate=ma.validate.OneOf(["opening", "evaluation", "window"]),
        metadata={"description": "window: kept for the retention period only; opening, evaluation: write-once"},
    )
    subject = PlainText(load_default=None, allow_none=True, validate=ma.validate.Length(max=300))
    width = Integer(load_default=640, validate=ma.validate.Range(min=16, max=3840))
    height = Integer(load_default=360, validate=ma.validate.Range(min=16, max=2160))
    fps = Integer(load_default=15, validate=ma.validate.Range(min=1, max=60))


class SessionOut(ma.Schema):
    id = Integer(required=True)
    key = ma.fields.String(required=True)
    room = ma.fields.Function(lambda s: s.room.code, required=True)
    subject = ma.fields.String(allow_none=True, required=True)
    status = ma.fields.Function(lambda s: s.status.value, required=True)
    schedule_id = Integer(allow_none=True, required=True)
    requested_at = Instant(required=True)
    started_at = Instant(allow_none=True, required=True)
    stop_requested_at = Instant(allow_none=True, required=True)
    ended_at = Instant(allow_none=True, required=True)
    manifest_sha256 = ma.fields.String(allow_none=True, required=True)
    final_chain_hash = ma.fields.String(allow_none=True, required=True)
    bucket = ma.fields.String(
        required=True,
        metadata={
            "description": "Where its media lies: recordings (write-once, kept) or window-recordings (deleted "
            "after the windows' retention period)"
        },
    )
    write_once = ma.fields.Boolean(attribute="is_write_once", required=True)
    segments = ma.fields.Function(lambda s: len(s.segments), required=True)
    gaps = ma.fields.Function(
        lambda s: [
            {"kind": g.kind, "cause": g.cause, "from": g.wall_start_at.isoformat(), "to": g.wall_end_at.isoformat()}
            for g in s.gaps
        ],
        required=True,
    )
    replay_url = ma.fields.Function(lambda s: url_for("recordings.replay", session_id=s.id), required=True)
    playlist_url = ma.fields.Function(lambda s: url_for("recordings.playlist", session_id=s.id), required=True)


class RoomOut(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Function(lambda r: r.kind.value, required=True)
    subject = ma.fields.String(allow_none=True, required=True)
    width = Integer(required=True)
    height = Integer(required=True)
    fps = Integer(required=True)
    active = ma.fields.Function(lambda r: SessionOut(many=True).dump(services.active_sessions(r)), required=True)


class StartIn(ma.Schema):
    subject = PlainText(load_default=None, allow_none=True, validate=ma.validate.Length(max=300))


class ScheduleIn(ma.Schema):
    room = PlainText(required=True, validate=ma.validate.Length(min=1, max=40))
    subject = PlainText(load_default=None, allow_none=True, validate=ma.validate.Length(max=300))
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    margin_before_s = Integer(load_default=None, allow_none=True, validate=ma.validate.Range(0, 14400))
    margin_after_s = Integer(load_default=None, allow_none=True, validate=ma.validate.Range(0, 14400))


class ScheduleOut(ma.Schema):
    id = Integer(required=True)
    room = ma.fields.Function(lambda s: s.room.code, required=True)
    subject = ma.fields.String(allow_none=True, required=True)
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    margin_before_s = Integer(required=True)
    margin_after_s = Integer(required=True)
    cancelled_at = Instant(allow_none=True, required=True)


class ExportIn(ma.Schema):
    start = Instant(required=True)
    end = Instant(required=True)


class ExportOut(ma.Schema):
    id = Integer(required=True)
    session_id = Integer(required=True)
    status = ma.fields.Function(lambda x: x.status.value, required=True)
    error = ma.fields.String(allow_none=True, required=True)
    start_at = Instant(required=True)
    end_at = Instant(required=True)
    sha256 = ma.fields.String(allow_none=True, required=True)
    size = Integer(allow_none=True, required=True)
    first_sequence = Integer(allow_none=True, required=True)
    last_sequence = Integer(allow_none=True, required=True)
    mp4_url = ma.fields.Function(
        lambda x: url_for("recordings.download_export", export_id=x.id, kind="mp4") if x.mp4_key else None
    )
    json_url = ma.fields.Function(
        lambda x: url_for("recordings.download_export", export_id=x.id, kind="json") if x.json_key else None
    )


class GrantIn(ma.Schema):
    username = PlainText(required=True, validate=ma.validate.Length(min=1, max=64))
    expires_at = Instant(load_default=None, allow_none=True)
    allow_export = ma.fields.Boolean(load_default=False)
    reason = PlainText(load_default="", validate=ma.validate.Length(max=500))


class GrantOut(ma.Schema):
    id = Integer(required=True)
    session_id = Integer(required=True)
    user_id = Integer(required=True)
    allow_export = ma.fields.Boolean(required=True)
    reason = ma.fields.String(required=True)
    granted_by = ma.fields.String(required=True)
    created_at = Instant(required=True)
    expires_at = Instant(allow_none=True, required=True)
    revoked_at = Instant(allow_none=True, required=True)


class EventOut(ma.Schema):
    index = Integer(required=True)
    at = ma.fields.String(required=True)
    action = ma.fields.String(required=True)
    actor = ma.fields.String(required=True)
    subject = ma.fields.String(allow_none=True, required=True)
    data = ma.fields.Raw(required=True)
    media_time = Float(allow_none=True, required=True, metadata={"description": "Seconds into the player"})
    in_gap = ma.fields.Boolean(required=True)


@blp.route("/rooms", methods=["GET"])
@blp.response(200, RoomOut(many=True))
@problems(401, 403)
@requires(perms.OPERATE)
def list_rooms() -> Any:
    """Rooms and the sessions in progress in each."""
    return services.list_rooms()


@blp.route("/rooms", methods=["POST"])
@blp.arguments(RoomIn)
@blp.response(201, RoomOut)
@problems(401, 403, 409, 422)
@requires(perms.MANAGE)
def create_room(args: dict[str, Any]) -> Any:
    """Add a room with its camera source ('synthetic', a device index or a URL)."""
    room = services.create_room(actor=me(), **args)
    return room


@blp.route("/rooms/<code>/start", methods=["POST"])
@blp.arguments(StartIn)
@blp.response(202, SessionOut)
@problems(401, 403, 404, 409, 422)
@requires(perms.OPERATE)
def start_room(args: dict[str, Any], code: str) -> Any:
    """Start recording by hand; the room's recorder (follow mode) begins within seconds."""
    session = services.request_start(code, actor=me(), subject=args.get("subject"))
    return session


@blp.route("/rooms/<code>/stop", methods=["POST"])
@blp.response(202, SessionOut(many=True))
@problems(401, 403, 404, 409)
@requires(perms.OPERATE)
def stop_room(code: str) -> Any:
    """Stop by hand: a pending session is cancelled, a running one closes and signs its manifest."""
    sessions = services.request_stop(code, actor=me())
    return sessions


@blp.route("/schedules", methods=["POST"])
@blp.arguments(ScheduleIn)
@blp.response(201, ScheduleOut)
@problems(401, 403, 404, 422)
@requires(perms.OPERATE)
def create_schedule(args: dict[str, Any]) -> Any:
    """Record a room in a window (plus margins); other modules call services.schedule_recording directly."""
    from datetime import timedelta

    def margin(name: str) -> timedelta | None:
        return timedelta(seconds=args[name]) if args.get(name) is not None else None

    schedule = services.schedule_recording(
        args["room"],
        args.get("subject"),
        args["starts_at"],
        args["ends_at"],
        margin_before=margin("margin_before_s"),
        margin_after=margin("margin_after_s"),
        actor=me(),
    )
    return schedule


@blp.route("/schedules/<int:schedule_id>", methods=["DELETE"])
@blp.response(200, ScheduleOut)
@problems(401, 403, 404)
@requires(perms.OPERATE)
def cancel_schedule(schedule_id: int) -> Any:
    """Cancel a window; a session it started is asked to stop."""
    schedule = services.cancel_schedule(schedule_id, actor=me())
    return schedule


@blp.route("/sessions", methods=["GET"])
@blp.response(200, SessionOut(many=True))
@problems(401)
@authenticated(perms.REPLAY, perms.GRANTED)
def list_sessions() -> Any:
    """Sessions the caller may replay (all with recordings.replay, else those granted), newest first."""
    return services.visible_sessions()


@blp.route("/sessions/<int:session_id>", methods=["GET"])
@blp.response(200, SessionOut)
@problems(401, 403, 404)
@authenticated(perms.REPLAY, perms.GRANTED)
def get_session(session_id: int) -> Any:
    session = services.get_session(session_id)
    services.authorize_replay(session, "api")
    return session


@blp.route("/sessions/<int:session_id>/integrity", methods=["GET"])
@blp.response(200)
@problems(401, 403, 404)
@authenticated(perms.REPLAY, perms.GRANTED)
def integrity(session_id: int) -> Any:
    """Re-hash every stored segment, check the chain and the signed manifest; each problem names its segment."""
    session = services.get_session(session_id)
    services.authorize_replay(session, "integrity")
    report = replay.verify_session(session)
    return report.as_dict()


@blp.route("/sessions/<int:session_id>/events", methods=["GET"])
@blp.response(200, EventOut(many=True))
@problems(401, 403, 404)
@authenticated(perms.REPLAY, perms.GRANTED)
def events(session_id: int) -> Any:
    """Evidence-log events about the session's subject during the recording, placed on the player's timeline."""
    session = services.get_session(session_id)
    services.authorize_replay(session, "events")
    return replay.timeline_events(session)


@blp.route("/sessions/<int:session_id>/exports", methods=["POST"])
@blp.arguments(ExportIn)
@blp.response(202, ExportOut)
@problems(401, 403, 404, 409, 422)
@authenticated(perms.REPLAY, perms.GRANTED)
def create_export(args: dict[str, Any], session_id: int) -> Any:
    """Queue an export of [start, end) as one faststart MP4 with its signed EXPORT.json."""
    session = services.get_session(session_id)
    services.authorize_export(session)
    export = exports.request_export(session, args["start"], args["end"], actor=me())
    return export


@blp.route("/exports/<int:export_id>", methods=["GET"])
@blp.response(200, ExportOut)
@problems(401, 403, 404)
@authenticated(perms.REPLAY, perms.GRANTED)
def get_export(export_id: int) -> Any:
    export = exports.get_export(export_id)
    services.authorize_export(export.session)
    return export


@blp.route("/sessions/<int:session_id>/grants", methods=["POST"])
@blp.arguments(GrantIn)
@blp.response(201, GrantOut)
@problems(401, 403, 404, 422)
@requires(perms.GRANT)
def create_grant(args: dict[str, Any], session_id: int) -> Any:
    """Let one more user replay this session (optionally export), until `expires_at` or revocation."""
    session = services.get_session(session_id)
    grant = services.grant_replay(session, actor=me(), **args)
    return grant


@blp.route("/grants/<int:grant_id>", methods=["DELETE"])
@blp.response(200, GrantOut)
@problems(401, 403, 404)
@requires(perms.GRANT)
def revoke_grant(grant_id: int) -> Any:
    grant = services.revoke_grant(grant_id, actor=me())
    return grant


def init_app(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
