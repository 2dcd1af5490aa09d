"""Browser tests: compiled translations and a live server on a free port with its own SQLite instance."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.config import test_config
from tests.accounts.helpers import PASSWORD, compile_translations
from tests.conftest import build_schema
from tests.services import unavailable

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chinese_browser_env() -> dict[str, str]:
    """The environment of a Chromium whose own words are Chinese, as a Chinese user's browser shows them.

    A file input's button and a date input's fields are drawn by the browser in the browser's language, which
    Chromium on Linux takes from LANGUAGE/LANG, not from the page's lang or the context's locale; with Debian's
    chromium-l10n installed this gives 选择文件 and 年/月/日 instead of "Choose File" and mm/dd/yyyy.
    """
    return {**os.environ, "LANGUAGE": "zh_CN", "LANG": "zh_CN.UTF-8"}


def require_chromium() -> None:
    """Skip (or, where the services are required, fail) the test when there is no Chromium to drive."""
    if not Path(CHROMIUM).exists():
        unavailable("chromium", f"{CHROMIUM} is not installed")


@pytest.fixture(scope="session", autouse=True)
def _translations() -> None:
    compile_translations()


_TEMPLATE: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _sqlite_template(sqlite_template: Path) -> None:
    _TEMPLATE[:] = [sqlite_template]


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


@contextmanager
def serve(tmp_path: Path, **config: Any) -> Iterator[LiveServer]:
    """A live server on a fresh SQLite instance under `tmp_path`, with `config` over the test configuration."""
    instance = tmp_path / "instance"
    instance.mkdir()
    if _TEMPLATE:  # the session's database built through the migrations (tests/conftest.py), copied
        shutil.copy(_TEMPLATE[0], instance / "test.sqlite")
    app = create_app(test_config(instance, **config))
    if not _TEMPLATE:  # outside pytest (make screenshots)
        build_schema(app)
    server = LiveServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    with serve(tmp_path) as server:
        yield server


def submit_login(page: Any, base: str, username: str, next_path: str) -> None:
    """Fill and send the sign-in form (password step) of the server at `base`, asking to go on to `next_path`."""
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#submit")


CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var where = " @" + e.sourceFile + ":" + e.lineNumber;
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + where);
});
"""


def watch_csp(context: Any) -> list[str]:
    """Collect Content-Security-Policy violations of every page of a Playwright browser context.

    Each page records `securitypolicyviolation` events (read them with `csp_violations(page)`); console messages
    about the policy are collected in the returned list.
    """
    seen: list[str] = []
    context.add_init_script(CSP_WATCH)

    def on_page(page: Any) -> None:
        page.on(
            "console",
            lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None,
        )

    context.on("page", on_page)
    return seen


def csp_violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))
