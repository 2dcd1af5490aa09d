"""Pages of the remote opening (不见面开标), routed on the tendering blueprint: the live page, its panels (fetched again
when the stream says the opening moved), the Server-Sent Events stream, the JSON state, and the bidder's and the
host's forms. Thin: the rules are in app/tendering/remote_opening.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.db import db
from app.core.errors import NotFound
from app.core.pages import Errors, attempt, me
from app.core.problems import N_
from app.core.security import authenticated
from app.recordings import replay as rp
from app.tendering import remote_opening as ro
from app.tendering import services_tenders
from app.tendering.models import OpeningConfirmation, OpeningRecord, Tender
from app.tendering.views import bp


def _tender(tender_id: int) -> Tender:
    return services_tenders.get_tender(tender_id, me())


def _panel_context(tender: Tender, role: str) -> dict[str, Any]:
    state = ro.snapshot(tender)
    mine = None
    if role == "bidder":
        org = me().organisation_id
        mine = {
            c.stage: c
            for c in db.session.scalars(
                select(OpeningConfirmation).where(
                    OpeningConfirmation.tender_id == tender.id, OpeningConfirmation.organisation_id == org
                )
            )
        }
    present = ro.bidders_present(tender) if role in ("host", "overseer") else None
    return {
        "tender": tender,
        "role": role,
        "state": state,
        "mine": mine or {},
        "my_org": me().organisation_id,
        "present": present,
    }


def _page(tender: Tender, role: str, errors: Errors | None = None, form: dict[str, str] | None = None) -> str:
    context = _panel_context(tender, role)
    return render_template(
        "tendering/opening_live.html",
        **context,
        errors=errors,
        form=form or {},
        version=ro.version(context["state"]),
    )


@bp.get("/tenders/<int:tender_id>/opening/live")
@authenticated
def opening_live(tender_id: int) -> Any:
    tender = _tender(tender_id)
    role = ro.watch(me(), tender)  # refused and logged for anyone else; each visit logged
    return _page(tender, role)


@bp.get("/tenders/<int:tender_id>/opening/live/panel")
@authenticated
def opening_live_panel(tender_id: int) -> Any:
    """The panels alone (progress, records and answers, objections): what the page puts in place of its own."""
    tender = _tender(tender_id)
    role = ro.require_watcher(me(), tender)
    return render_template("tendering/_opening_live_panels.html", **_panel_context(tender, role))


@bp.get("/tenders/<int:tender_id>/opening/live.json")
@authenticated
def opening_live_json(tender_id: int) -> Any:
    tender = _tender(tender_id)
    ro.require_watcher(me(), tender)
    state = ro.snapshot(tender)
    return {**state, "version": ro.version(state)}


def _event(state: dict[str, Any]) -> str:
    body = json.dumps({**state, "version": ro.version(state)}, ensure_ascii=False, separators=(",", ":"))
    return f"id: {ro.version(state)}\nevent: opening\ndata: {body}\n\n"


_shared: dict[tuple[int, int], tuple[float, dict[str, Any] | None]] = {}  # (app, tender) → (when, state)
_shared_lock = threading.Lock()


def _shared_state(app: Flask, tender_id: int, max_age: float) -> dict[str, Any] | None:
    """The tender's live state, computed at most once per `max_age` seconds in this process, whatever the number
    of watchers: every stream of the tender reads the same snapshot (the state is the same for all of them)."""
    key = (id(app), tender_id)
    with _shared_lock:
        found = _shared.get(key)
        now = time.monotonic()
        if found is not None and now - found[0] < max_age:
            return found[1]
        for old in [k for k, (at, _state) in _shared.items() if now - at > 60]:
            del _shared[old]
        with app.app_context():  # a fresh session for this poll, returned to the pool when the context ends
            tender = db.session.get(Tender, tender_id)
            state = ro.snapshot(tender) if tender is not None else None
            db.session.rollback()
        _shared[key] = (time.monotonic(), state)
        return state


def _stream(app: Flask, tender_id: int, last: str | None) -> Iterator[str]:
    seconds = float(app.config["TENDER_LIVE_STREAM_SECONDS"])
    poll = float(app.config["TENDER_LIVE_STREAM_POLL_SECONDS"])
    ends = time.monotonic() + seconds
    quiet_since = time.monotonic()
    yield "retry: 1000\n\n"
    while True:
        state = _shared_state(app, tender_id, poll)
        if state is not None and ro.version(state) != last:
            last = ro.version(state)
            quiet_since = time.monotonic()
            yield _event(state)
        elif time.monotonic() - quiet_since > 10:
            quiet_since = time.monotonic()
            yield ": still here\n\n"  # a comment keeps proxies from closing the idle stream
        if time.monotonic() >= ends:
            return
        time.sleep(poll)


@bp.get("/tenders/<int:tender_id>/opening/live/stream")
@authenticated
def opening_live_stream(tender_id: int) -> Any:
    """Server-Sent Events: an `opening` event with the state whenever it changed (bounded; the browser reconnects
    with Last-Event-ID, so an unchanged state is not sent again). No database connection is held between polls."""
    tender = _tender(tender_id)
    ro.require_watcher(me(), tender)
    raw = request.headers.get("Last-Event-ID", "")
    last = raw if len(raw) == 20 and all(c in "0123456789abcdef" for c in raw) else None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db.session.rollback()
    db.session.remove()  # nothing of the request's session lives on into the stream
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(_stream(app, tender_id, last), mimetype="text/event-stream", headers=headers)


def _form() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k not in ("csrf_token", "password", "totp")}


def _done(tender_id: int, anchor: str) -> Any:
    return redirect(url_for("tendering.opening_live", tender_id=tender_id) + anchor, code=303)


def _failed(tender: Tender, outcome: Any) -> Any:
    role = ro.require_watcher(me(), tender)
    return _page(tender, role, outcome.errors, _form()), outcome.status


@bp.post("/tenders/<int:tender_id>/opening/messages")
@authenticated
def opening_raise(tender_id: int) -> Any:
    tender = _tender(tender_id)
    with attempt() as outcome:
        msg = ro.raise_message(actor=me(), tender=tender, kind=request.form.get("kind"), text=request.form.get("text"))
    if outcome.failed:
        return _failed(tender, outcome)
    flash(_("Sent to the host. The answer appears on this page."), "success")
    return _done(tender_id, f"#message-{msg.id}")


@bp.post("/tenders/<int:tender_id>/opening/messages/<int:message_id>/answer")
@authenticated
def opening_answer(tender_id: int, message_id: int) -> Any:
    tender = _tender(tender_id)
    with attempt() as outcome:
        ro.answer_message(actor=me(), tender=tender, message_id=message_id, text=request.form.get("answer"))
    if outcome.failed:
        return _failed(tender, outcome)
    flash(_("Answer sent."), "success")
    return _done(tender_id, f"#message-{message_id}")


@bp.post("/tenders/<int:tender_id>/opening/answers")
@authenticated
def opening_answer_record(tender_id: int) -> Any:
    tender = _tender(tender_id)
    raw_stage = request.form.get("stage", "")
    stage = int(raw_stage) if raw_stage.isdigit() and len(raw_stage) < 4 else 0
    with attempt() as outcome:
        answer = ro.answer_record(
            actor=me(),
            tender=tender,
            stage=stage,
            verdict=request.form.get("verdict"),
            record_sha256=request.form.get("record_sha256"),
            reason=request.form.get("reason"),
            password=request.form.get("password"),
            totp=request.form.get("totp"),
        )
    if outcome.failed:
        return _failed(tender, outcome)
    if answer.verdict == "confirmed":
        flash(_("You confirmed the opening record. The signed confirmation is on the record page."), "success")
    else:
        flash(_("Your dispute of the opening record is recorded and signed."), "success")
    return _done(tender_id, f"#record-{stage}")


@bp.get("/tenders/<int:tender_id>/opening/answers/<int:stage>.json")
@authenticated
def opening_answers_json(tender_id: int, stage: int) -> Any:
    """The bidders' signed answers to a stage's record (each verifiable with the platform's public key)."""
    return ro.signed_answers(me(), _tender(tender_id), stage)


@bp.get("/tenders/<int:tender_id>/opening/live/playlist.m3u8")
@authenticated
def opening_live_playlist(tender_id: int) -> Any:
    """The opening room's live (growing, EVENT) HLS playlist, for the tender's watchers; segments through the
    route below. The recorder uploads each segment as it closes; the playlist lists the uploaded ones."""
    from app.recordings import services as rec_services
    from app.recordings.views import HLS_TYPE

    tender = _tender(tender_id)
    ro.require_watcher(me(), tender)
    session = ro.live_session(tender)
    if session is None:
        raise NotFound(N_("The opening room is not being filmed now."))
    rec_services.record_media_access(session, actor=me(), what="playlist")
    text = rp.playlist(session, uri=lambda key: url_for("tendering.opening_live_media", tender_id=tender.id, key=key))
    resp = Response(text, mimetype=HLS_TYPE)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.get("/tenders/<int:tender_id>/opening/live/media/<path:key>")
@authenticated
def opening_live_media(tender_id: int, key: str) -> Any:
    from app.recordings import services as rec_services
    from app.recordings.views import _stream as stream_object

    tender = _tender(tender_id)
    ro.require_watcher(me(), tender)
    session = ro.live_session(tender)
    if session is None or rp.session_object_key(session, key) is None:
        raise NotFound(N_("No such media object in this recording."))
    rec_services.record_media_access(session, actor=me(), what="media")
    return stream_object(session.bucket, key, content_type="video/mp4", filename=None, inline=True)


@bp.app_template_global("opening_answers")
def opening_answers(rec: OpeningRecord) -> list[dict[str, Any]]:
    return ro.answers_of(rec)
