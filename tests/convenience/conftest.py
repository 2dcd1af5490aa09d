"""Convenience test fixtures: SQLite by default (the concurrency tests ask for PostgreSQL), the demo floor loaded,
a clock on a Monday morning in the center, staff signed on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from app.core import time as clock_mod
from tests.accounts.helpers import compile_translations

# Monday 2026-12-07 09:00 in Asia/Shanghai: every demo window is open.
MONDAY_9 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sms_gateway() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """A fake SMS gateway on a free port: a path with "fail" answers 500, any other 202; every request is kept as
    (its Authorization header, its JSON body). Yields (the base URL, the requests)."""
    import http.server
    import json
    import threading

    got: list[tuple[str, dict[str, Any]]] = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.headers.get("Authorization", ""), json.loads(body)))
            self.send_response(500 if "fail" in self.path else 202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()


@pytest.fixture
def clock() -> Iterator[clock_mod.FakeClock]:
    fake = clock_mod.FakeClock(MONDAY_9)
    previous = clock_mod.set_clock(fake)
    yield fake
    clock_mod.set_clock(previous)


@pytest.fixture
def floor(app: Flask, clock: clock_mod.FakeClock) -> Flask:
    """The demo floor (demo_floor.json), loaded and committed."""
    from app.convenience import services
    from app.extensions import db

    compile_translations()
    with app.app_context():
        services.load_floor_file(services.DEMO_FLOOR, actor="system:test")
        db.session.commit()
    return app


def staff(app: Flask, username: str, numbers: tuple[str, ...], *, sign_on: str | None = None) -> int:
    """A window-staff account assigned to these windows (and signed on at one); returns its id."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.convenience import services
    from app.convenience.models import Window
    from app.extensions import db
    from tests.accounts.helpers import make_user

    user_id, _secret = make_user(app, username, ["window_staff"])
    with app.app_context():
        for number in numbers:
            window = db.session.scalar(select(Window).where(Window.number == number))
            assert window is not None
            services.assign_staff(actor="system:test", window_id=window.id, user_id=user_id)
        if sign_on is not None:
            window = db.session.scalar(select(Window).where(Window.number == sign_on))
            assert window is not None
            services.sign_on(actor=db.session.get(User, user_id), window_id=window.id)
        db.session.commit()
    return user_id


def window_id(app: Flask, number: str) -> int:
    from sqlalchemy import select

    from app.convenience.models import Window
    from app.extensions import db

    with app.app_context():
        found = db.session.scalar(select(Window.id).where(Window.number == number))
        assert found is not None
        return int(found)


def user(user_id: int) -> Any:
    from app.accounts.models import User
    from app.extensions import db

    return db.session.get(User, user_id)
