"""Recording pages: sessions and rooms, the replay page, its playlist and media proxy, exports, grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import NotFound, ValidationFailed
from app.core.fields import InstantOutOfRange, parse_instant
from app.core.pages import attempt, me
from app.core.problems import N_
from app.core.security import authenticated, caller_has, requires
from app.core.storage import EXPORTS, content_disposition, get_storage
from app.core.views import register_nav
from app.recordings import exports, services
from app.recordings import permissions as perms
from app.recordings import replay as rp
from app.recordings.models import ExportStatus, window_retention_days

bp = Blueprint("recordings", __name__, url_prefix="/recordings", template_folder="templates", static_folder="static")

HLS_TYPE = "application/vnd.apple.mpegurl"


@bp.get("/")
@authenticated  # replay holders see every session, grant holders theirs, operators the rooms
def index() -> Any:
    sessions = services.visible_sessions()
    rooms = services.list_rooms() if caller_has(perms.OPERATE) else []
    if not sessions and not rooms and not caller_has(perms.REPLAY):
        abort(403)
    active = {room.id: services.active_sessions(room) for room in rooms}
    return render_template("recordings/index.html", sessions=sessions, rooms=rooms, active=active)


@bp.post("/rooms/<code>/start")
@requires(perms.OPERATE)
def start_room(code: str) -> Any:
    with attempt() as outcome:
        session = services.request_start(code, actor=me(), subject=request.form.get("subject") or None)
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("recordings.index"), code=303)
    flash(_("Recording of %(room)s requested (session %(key)s).", room=code, key=session.key), "success")
    return redirect(url_for("recordings.index"), code=303)


@bp.post("/rooms/<code>/stop")
@requires(perms.OPERATE)
def stop_room(code: str) -> Any:
    with attempt() as outcome:
        services.request_stop(code, actor=me())
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("recordings.index"), code=303)
    flash(_("Recording of %(room)s stops within seconds.", room=code), "success")
    return redirect(url_for("recordings.index"), code=303)


@bp.get("/sessions/<int:session_id>")
@authenticated  # object-level: recordings.replay or a grant (checked, and a refusal logged, in the service)
def replay(session_id: int) -> Any:
    session = services.get_session(session_id)
    services.authorize_replay(session)
    report = rp.verify_session(session)
    spans = rp.media_spans(session)
    events = rp.timeline_events(session)
    services.record_replay(session, actor=me(), intact=report.intact)
    first_pdt_us = spans[0].wall_start_us if spans else None
    total = spans[-1].media_start + spans[-1].duration if spans else 0.0
    return render_template(
        "recordings/replay.html",
        session=session,
        report=report,
        spans=spans,
        spans_json=[
            {"s": x.sequence, "w0": x.wall_start_us, "w1": x.wall_end_us, "m": x.media_start, "d": x.duration}
            for x in spans
        ],
        events=events,
        gaps=session.gaps,
        first_pdt_us=first_pdt_us,
        total=total,
        grants=services.list_grants(session) if caller_has(perms.GRANT) else [],
        exports=exports.list_exports(session),
        may_export=services.may_export(session),
        may_grant=caller_has(perms.GRANT),
        bundle_exists=_bundle_exists(),
        ref_words=ref_words,
        kept_days=window_retention_days(),
    )


def ref_words(ref: str | None) -> dict[str, str | None]:
    """An evidence reference ('tender:2', 'user:7', 'system:opening') in words for a page, with a link where one
    exists; `ref` stays the exact reference (shown as a hint, searchable in the evidence log)."""
    from app.accounts.models import User
    from app.core.db import db
    from app.tendering.models import Tender

    kind, _sep, key = (ref or "").partition(":")
    if kind == "tender" and key.isdigit():
        tender = db.session.get(Tender, int(key))
        if tender is not None:
            name = f"{tender.reference} {tender.title}" if tender.reference else tender.title
            return {"text": name, "url": url_for("tendering.tender_detail", tender_id=tender.id), "ref": ref}
    if kind == "user" and key.isdigit():
        user = db.session.get(User, int(key))
        if user is not None:
            return {"text": user.display_name, "url": None, "ref": ref}
    if kind == "system":
        return {"text": str(_("The platform")), "url": None, "ref": ref}
    return {"text": ref or "", "url": None, "ref": ref}


def _bundle_exists() -> bool:
    from pathlib import Path

    return (Path(current_app.static_folder or "") / "dist" / "replay.js").is_file()


@bp.get("/sessions/<int:session_id>/playlist.m3u8")
@authenticated
def playlist(session_id: int) -> Any:
    session = services.get_session(session_id)
    services.authorize_replay(session, "playlist")
    services.record_media_access(session, actor=me(), what="playlist")
    text = rp.playlist(session, uri=lambda key: url_for("recordings.media", session_id=session.id, key=key))
    resp = Response(text, mimetype=HLS_TYPE)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.get("/sessions/<int:session_id>/media/<path:key>")
@authenticated
def media(session_id: int, key: str) -> Any:
    """A segment or init section of this session, streamed from storage in chunks, with Range support."""
    session = services.get_session(session_id)
    services.authorize_replay(session, "media")
    if rp.session_object_key(session, key) is None:
        raise NotFound(N_("No such media object in this recording."))
    services.record_media_access(session, actor=me(), what="media")
    return _stream(session.bucket, key, content_type="video/mp4", filename=None, inline=True)


def _stream(bucket: str, key: str, *, content_type: str, filename: str | None, inline: bool) -> Response:
    """Serve a stored object in constant memory; one byte range (RFC 9110) when asked, else all of it."""
    storage = get_storage()
    info = storage.stat(bucket, key)
    etag = f'"{info.sha256}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
    }
    if filename:
        headers["Content-Disposition"] = content_disposition(filename)
    elif not inline:
        headers["Content-Disposition"] = "attachment"
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers=headers)
    status, start, end = 200, None, None
    byte_range = request.range
    if_range = request.headers.get("If-Range")
    if byte_range and byte_range.units == "bytes" and len(byte_range.ranges) == 1 and if_range in {None, etag}:
        span = byte_range.range_for_length(info.size)
        if span is None:
            resp = Response(status=416, headers={"Content-Range": f"bytes */{info.size}"})
            return resp
        status, start, end = 206, span[0], span[1] - 1
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    if info.size == 0:
        return Response(b"", status=200, headers=headers, content_type=content_type)
    chunks = storage.get(bucket, key, start=start, end=end)
    length = info.size if start is None or end is None else end - start + 1
    headers["Content-Length"] = str(length)
    return Response(chunks, status=status, headers=headers, content_type=content_type, direct_passthrough=True)


def _parse_local(value: str, name: str) -> datetime:
    """A datetime-local form value in the center's time zone (or an ISO instant with an offset), as UTC in range."""
    try:
        return parse_instant(value or "", default_zone=ZoneInfo(current_app.config["CENTER_TIMEZONE"]))
    except InstantOutOfRange as exc:
        raise ValidationFailed(_(str(exc)), errors={name: ["invalid"]}) from exc


@bp.post("/sessions/<int:session_id>/exports")
@authenticated
def export_range(session_id: int) -> Any:
    session = services.get_session(session_id)
    services.authorize_export(session)
    with attempt() as outcome:
        start = _parse_local(request.form.get("start", ""), "start")
        end = _parse_local(request.form.get("end", ""), "end")
        export = exports.request_export(session, start, end, actor=me())
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("recordings.replay", session_id=session.id) + "#exports", code=303)
    flash(_("Export %(id)s queued; it appears below when it is ready.", id=export.id), "success")
    return redirect(url_for("recordings.replay", session_id=session.id) + "#exports", code=303)


@bp.get("/exports/<int:export_id>/<any(mp4, json):kind>")
@authenticated
def download_export(export_id: int, kind: str) -> Any:
    export = exports.get_export(export_id)
    services.authorize_export(export.session)
    if export.status != ExportStatus.DONE:
        raise NotFound(N_("The export is not ready."))
    key = export.mp4_key if kind == "mp4" else export.json_key
    assert key is not None
    exports.record_download(export, kind, actor=me())
    content_type = "video/mp4" if kind == "mp4" else "application/json"
    return _stream(
        EXPORTS, key, content_type=content_type, filename=exports.export_filename(export, kind), inline=False
    )


@bp.post("/sessions/<int:session_id>/grants")
@requires(perms.GRANT)
def grant(session_id: int) -> Any:
    session = services.get_session(session_id)
    with attempt() as outcome:
        expires = request.form.get("expires_at", "").strip()
        services.grant_replay(
            session,
            actor=me(),
            username=request.form.get("username", ""),
            expires_at=_parse_local(expires, "expires_at") if expires else None,
            allow_export=request.form.get("allow_export") == "1",
            reason=request.form.get("reason", ""),
        )
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("recordings.replay", session_id=session.id) + "#grants", code=303)
    flash(_("Replay granted."), "success")
    return redirect(url_for("recordings.replay", session_id=session.id) + "#grants", code=303)


@bp.post("/grants/<int:grant_id>/revoke")
@requires(perms.GRANT)
def revoke(grant_id: int) -> Any:
    grant_row = services.revoke_grant(grant_id, actor=me())
    flash(_("Grant revoked."), "success")
    return redirect(url_for("recordings.replay", session_id=grant_row.session_id) + "#grants", code=303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("recordings.index", _l("Recordings"), perms.REPLAY, order=60)

    @app.template_filter("us_time")
    def _us_time(value: int | None) -> str:
        from app.core.time import format_center_time
        from recording.clock import from_epoch_us

        return "" if value is None else format_center_time(from_epoch_us(value), app.config["CENTER_TIMEZONE"])
