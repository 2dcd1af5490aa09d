"""Browser tests: compiled translations and a live server on a free port with its own SQLite instance."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.config import test_config
from tests.accounts.helpers import compile_translations
from tests.conftest import build_schema


@pytest.fixture(scope="session", autouse=True)
def _translations() -> None:
    compile_translations()


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    instance = tmp_path / "instance"
    instance.mkdir()
    app = create_app(test_config(instance))
    build_schema(app)
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
