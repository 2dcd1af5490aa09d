"""Recordings fixtures: the module switched on, users of each role signed in, a short real recording."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from flask import Flask

from tests.accounts.helpers import PASSWORD, compile_translations, csrf_from, make_user


@pytest.fixture(scope="session", autouse=True)
def _translations() -> None:
    compile_translations()


def sign_in(client: Any, username: str, totp_secret: str | None = None) -> None:
    """Sign in through the real forms, on the real clock: the TOTP step is the next one (enrolment used this one)."""
    token = csrf_from(client.get("/login").data)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    if totp_secret is not None:
        assert "/login/totp" in resp.headers.get("Location", ""), resp.data[:300]
        token = csrf_from(client.get("/login/totp").data)
        code = pyotp.TOTP(totp_secret).at(time.time() + 30)
        resp = client.post("/login/totp", data={"code": code, "csrf_token": token})
    assert resp.status_code in (302, 303), resp.data[:500]


def user_client(app: Flask, username: str, roles: list[str]) -> Any:
    """A test client signed in as a new user with `roles` (TOTP enrolled when a role needs it)."""
    from app.accounts.permissions import SEEDED_ROLES

    totp = any(SEEDED_ROLES[r][2] for r in roles)
    _uid, secret = make_user(app, username, roles, totp=totp)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # assertions below read the English pages
    sign_in(client, username, secret)
    return client


def csrf_of(client: Any) -> str:
    return csrf_from(client.get("/").data)


def create_room(app: Flask, code: str = "room-a", **kw: Any) -> None:
    from app.extensions import db
    from app.recordings import services

    with app.app_context():
        services.create_room(
            actor="test",
            code=code,
            name=kw.pop("name", "开标室 A"),
            width=kw.pop("width", 320),
            height=kw.pop("height", 180),
            fps=kw.pop("fps", 10),
            **kw,
        )
        db.session.commit()


@dataclass
class Recorded:
    session_id: int
    events: list[tuple[int, float]]  # (audit index, wall-clock epoch seconds) written during the recording


def record(
    app: Flask,
    *,
    room: str = "room-a",
    seconds: float = 6.0,
    subject: str | None = "tender:12",
    events_at: tuple[float, ...] = (),
    segment_seconds: float = 1.0,
    follow: bool = False,
    continuous: bool = False,
) -> Recorded:
    """Run the room recorder in a thread for `seconds` (real time), writing audit events on `subject` at offsets."""
    from app import audit
    from app.extensions import db
    from app.recordings.recorder import Options, RoomRecorder

    options = Options(
        room=room,
        segment_seconds=segment_seconds,
        preset="ultrafast",
        subject=subject,
        follow=follow,
        continuous=continuous,
        poll_s=0.2,
    )
    recorder = RoomRecorder(app, options, echo=lambda _line: None)
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    started = time.monotonic()
    thread.start()
    written: list[tuple[int, float]] = []
    for offset in events_at:
        time.sleep(max(0.0, started + offset - time.monotonic()))
        with app.app_context():
            entry = audit.record(
                "tendering.bid_decrypted", actor="user:1", subject=subject, data={"bid": len(written) + 1}
            )
            written.append((entry.index, entry.created_at.timestamp()))
            db.session.commit()
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    stop.set()
    thread.join(60)
    assert not thread.is_alive(), "the recorder did not stop"
    assert recorder.sessions_closed, "no session was closed"
    with app.app_context():
        from sqlalchemy import select

        from app.recordings.models import RecordingSession

        session_id = db.session.scalar(
            select(RecordingSession.id).where(RecordingSession.key == recorder.sessions_closed[-1])
        )
    return Recorded(int(session_id), written)


@pytest.fixture
def auditor(app: Flask) -> Any:
    return user_client(app, "auditor1", ["auditor"])


@pytest.fixture
def bidder(app: Flask) -> Any:
    return user_client(app, "bidder1", ["bidder"])


@pytest.fixture
def recorded(app: Flask) -> Iterator[Recorded]:
    create_room(app)
    yield record(app, seconds=6.0, events_at=(1.5, 3.5))
