"""Convenience pages: the kiosk (take a ticket), my ticket, the window's call panel, the hall display and its
Server-Sent Events stream.

The stream is a bounded streaming response: it polls the hall's change counter (one primary-key read) every
`CONVENIENCE_STREAM_POLL_SECONDS` in a fresh app context, so no database connection or session is held between
polls, sends the hall's state when the counter moved, and ends after `CONVENIENCE_STREAM_SECONDS`; the browser's
EventSource reconnects by itself (`retry`). Under gunicorn's sync workers one display ties up one worker for at most
that long.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField

from app.convenience import queue, services
from app.convenience.models import TicketStatus
from app.convenience.permissions import WINDOW_OPERATE
from app.core.db import db
from app.core.errors import PermissionDenied
from app.core.pages import attempt, me
from app.core.problems import N_
from app.core.security import public, requires
from app.core.views import register_nav

bp = Blueprint("convenience", __name__, url_prefix="/convenience", template_folder="templates")

STATUS_LABELS = {
    TicketStatus.WAITING: _l("Waiting"),
    TicketStatus.CALLED: _l("Called: please go to the window"),
    TicketStatus.SERVED: _l("Served"),
    TicketStatus.NO_SHOW: _l("Missed twice: no longer in the queue"),
}


class TicketForm(FlaskForm):
    service = SelectField(_l("Service"), choices=[], validate_choice=True)
    surname = StringField(
        _l("Surname (optional)"), description=_l("Only its first character is kept; the display shows 张*女士.")
    )
    honorific = RadioField(
        _l("How to address you (optional)"),
        choices=[("none", _l("No title")), ("mr", _l("Mr (先生)")), ("ms", _l("Ms (女士)"))],
        default="none",
        validate_choice=True,
    )
    channel = HiddenField(default="kiosk")
    submit = SubmitField(_l("Take a ticket"))


class TransferForm(FlaskForm):
    to_window = SelectField(_l("Transfer to window"), choices=[], coerce=int, validate_choice=True)
    submit = SubmitField(_l("Transfer"))


def _localized(zh: str, en: str) -> str:
    from flask_babel import get_locale

    return en if str(get_locale() or "zh_CN").startswith("en") and en else zh


def _ticket_form() -> TicketForm:
    form = TicketForm()
    form.service.choices = [
        (s.code, f"{s.group.prefix} · {_localized(s.name, s.name_en)}") for s in services.list_services()
    ]
    return form


@bp.get("/")
@public
def kiosk() -> Any:
    form = _ticket_form()
    form.channel.data = "phone" if request.args.get("via") == "phone" else "kiosk"
    return render_template("convenience/kiosk.html", form=form, groups=services.list_groups())


@bp.post("/tickets")
@public
def take_ticket() -> Any:
    form = _ticket_form()
    if not form.validate_on_submit():
        return render_template("convenience/kiosk.html", form=form, groups=services.list_groups()), 422
    with attempt(form) as outcome:
        ticket = queue.issue_ticket(
            service_code=form.service.data or "",
            channel=form.channel.data or "kiosk",
            surname=form.surname.data or "",
            honorific="" if form.honorific.data in (None, "none") else form.honorific.data,
        )
        public_id = ticket.public_id
    if outcome.failed:
        return render_template(
            "convenience/kiosk.html", form=form, groups=services.list_groups(), errors=outcome.errors
        ), outcome.status
    return redirect(url_for("convenience.my_ticket", public_id=public_id), code=303)


@bp.get("/tickets/<string:public_id>")
@public
def my_ticket(public_id: str) -> Any:
    ticket = queue.get_ticket(public_id)
    return render_template(
        "convenience/ticket.html", ticket=ticket, progress=queue.progress(ticket), status=STATUS_LABELS[ticket.status]
    )


@bp.get("/windows")
@requires(WINDOW_OPERATE)
def my_windows() -> Any:
    user = me()
    rows = [(w, services.open_session(window_id=w.id)) for w in services.windows_of(user)]
    mine = services.open_session(user_id=user.id)
    return render_template("convenience/windows.html", rows=rows, mine=mine)


def _assigned_window(window_id: int) -> Any:
    window = services.get_window(window_id)
    if not services.is_assigned(window, me()):
        raise PermissionDenied(N_("You are not assigned to this window."))
    return window


@bp.get("/windows/<int:window_id>")
@requires(WINDOW_OPERATE)
def panel(window_id: int) -> Any:
    window = _assigned_window(window_id)
    session = services.open_session(window_id=window.id)
    current = queue.current_ticket(window)
    form = TransferForm()
    form.to_window.choices = [
        (w.id, _localized(w.name, w.name_en))  # as the hall display names it (01号窗口)
        for w in services.list_windows()
        if w.id != window.id and w.is_active
    ]
    return render_template(
        "convenience/panel.html",
        window=window,
        signed_on=session is not None and session.user_id == me().id,
        someone_else=session is not None and session.user_id != me().id,
        current=current,
        waiting=queue.waiting_count(window),
        is_open=services.is_open(window),
        form=form,
    )


ACTIONS = {
    "sign-on": (services.sign_on, _l("You are signed on.")),
    "sign-off": (services.sign_off, _l("You are signed off.")),
    "call": (queue.call_next, _l("Called.")),
    "recall": (queue.recall, _l("Called again.")),
    "serve": (queue.serve, _l("Marked served.")),
    "miss": (queue.miss, _l("Marked missed.")),
}


@bp.post("/windows/<int:window_id>/<any('sign-on','sign-off',call,recall,serve,miss):action>")
@requires(WINDOW_OPERATE)
def window_action(window_id: int, action: str) -> Any:
    fn, done = ACTIONS[action]
    with attempt() as outcome:
        fn(actor=me(), window_id=window_id)
    if outcome.failed:
        outcome.flash()
    else:
        flash(str(done), "success")
    return redirect(url_for("convenience.panel", window_id=window_id), code=303)


@bp.post("/windows/<int:window_id>/transfer")
@requires(WINDOW_OPERATE)
def transfer(window_id: int) -> Any:
    _assigned_window(window_id)
    form = TransferForm()
    form.to_window.choices = [(w.id, w.number) for w in services.list_windows()]
    if not form.validate_on_submit():
        flash(_("Choose another window."), "error")
        return redirect(url_for("convenience.panel", window_id=window_id), code=303)
    with attempt(form) as outcome:
        ticket = queue.transfer(actor=me(), window_id=window_id, to_window_id=int(form.to_window.data))
        number = ticket.number
    if outcome.failed:
        outcome.flash()
    else:
        flash(_("Ticket %(number)s was transferred.", number=number), "success")
    return redirect(url_for("convenience.panel", window_id=window_id), code=303)


@bp.get("/display")
@public
def display() -> Any:
    """The hall display: full-screen, in Chinese, live through the stream below."""
    with force_locale("zh_CN"):
        return render_template("convenience/display.html", hall=queue.hall_snapshot())


def _event(snapshot: dict[str, Any]) -> str:
    data = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
    return f"id: {snapshot['version']}\nevent: hall\ndata: {data}\n\n"


def _stream(app: Flask, last: int | None) -> Iterator[str]:
    seconds = float(app.config["CONVENIENCE_STREAM_SECONDS"])
    poll = float(app.config["CONVENIENCE_STREAM_POLL_SECONDS"])
    ends = time.monotonic() + seconds
    quiet_since = time.monotonic()
    yield "retry: 1000\n\n"
    while True:
        with app.app_context():  # a fresh session for this poll, returned to the pool when the context ends
            version = queue.hall_version()
            snapshot = queue.hall_snapshot() if version != last else None
        if snapshot is not None:
            last = version
            quiet_since = time.monotonic()
            yield _event(snapshot)
        elif time.monotonic() - quiet_since > 10:
            quiet_since = time.monotonic()
            yield ": still here\n\n"  # a comment keeps proxies from closing the idle stream
        if time.monotonic() >= ends:
            return
        time.sleep(poll)


@bp.get("/display/stream")
@public
def display_stream() -> Any:
    """Server-Sent Events: `hall` events with the display's state when it changes (bounded; the browser
    reconnects and sends Last-Event-ID, so an unchanged hall is not sent again)."""
    raw = request.headers.get("Last-Event-ID", "")
    last = int(raw) if raw.isdigit() and len(raw) < 12 else None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db.session.remove()  # nothing of the request's session lives on into the stream
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(_stream(app, last), mimetype="text/event-stream", headers=headers)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"convenience_localized": _localized}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("convenience.kiosk", _l("Take a ticket"), "@public", order=12)
    register_nav("convenience.my_windows", _l("My window"), WINDOW_OPERATE, order=20)
