"""Shared fixtures: one app per test process and configuration, given back as made; a fake clock; a client."""

from __future__ import annotations

import copy
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from app import create_app
from app.config import test_config
from app.core import time as clock_mod
from tests.seal_fixtures import seal_dir, seal_service  # noqa: F401  (session fixtures)
from tests.services import POSTGRES_URL, unavailable

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def _schema_sharing_deepcopy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
    """copy.deepcopy that shares the marshmallow Schema instances it meets in dicts, lists and tuples.

    flask-smorest and apispec deep-copy each endpoint's documentation on every `create_app`, to be free to edit the
    dicts; the Schema instances in them are only read, yet copying them (every declared field, again) is about half
    of the cost of creating an app, and the suite creates one per test. The copied dicts and lists are the same as
    before, so the OpenAPI document is too: tests/core/test_api_doc_copy.py compares it with the unpatched one."""
    from marshmallow import Schema

    memo = {} if memo is None else memo
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, Schema):
            memo[id(item)] = item  # deepcopy returns what the memo holds: the same instance
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return copy.deepcopy(obj, memo)


def share_api_doc_schemas() -> None:
    import apispec.core
    import flask_smorest.blueprint

    apispec.core.deepcopy = _schema_sharing_deepcopy  # type: ignore[attr-defined]
    flask_smorest.blueprint.deepcopy = _schema_sharing_deepcopy  # type: ignore[attr-defined]


share_api_doc_schemas()


def build_schema(app: Flask) -> None:
    """Build the schema the way production does: through the migrations."""
    from flask_migrate import upgrade

    from app.extensions import db

    with app.app_context():
        if any(MIGRATIONS.glob("*.py")):
            upgrade()
        else:  # before the first migration exists
            db.create_all()
        seed_reference(app)


def seed_reference(app: Flask) -> None:
    from app.core.reference import ensure_reference_data
    from app.extensions import db

    with app.app_context():
        ensure_reference_data()
        db.session.commit()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sqlite-template")
    app = create_app(test_config(base))
    build_schema(app)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    return base / "test.sqlite"


_pg_state: dict[str, Any] = {}
# The tests' connections commit without waiting for the WAL to reach the disk: a commit is the same transaction,
# visible to every other connection at once; only a crash of the server could lose it (the database is thrown
# away anyway). The shared test server keeps fsync on, and a test commits tens of times.
PG_ENGINE_OPTIONS: dict[str, Any] = {"connect_args": {"options": "-c synchronous_commit=off"}}


def _pg_ready() -> str:
    """A private database for this test session, so concurrent runs never share tables."""
    if "url" in _pg_state:
        return str(_pg_state["url"])
    base, _ = POSTGRES_URL.rsplit("/", 1)
    name = f"platform_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        eng = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
    except Exception as exc:
        _pg_state["error"] = str(exc)
        raise
    _pg_state["url"] = f"{base}/{name}"
    _pg_state["name"] = name
    return str(_pg_state["url"])


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_database() -> Iterator[None]:
    yield
    name = _pg_state.get("name")
    if not name:
        return
    eng = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


# Every sequence of the schema back to 1, as TRUNCATE … RESTART IDENTITY did (the tables' own: there are no others).
RESTART_SEQUENCES = (
    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


def delete_every_row() -> None:
    """DELETE every table's rows in the app context's session, children first (no commit)."""
    from app.extensions import db

    tables = db.metadata.sorted_tables
    for table in tables:  # the cycles (bids <-> bid_versions) go through nullable use_alter keys: cut them first
        for key in table.foreign_key_constraints:
            if key.use_alter:
                db.session.execute(table.update().values({column.name: None for column in key.columns}))
    for table in reversed(tables):
        db.session.execute(table.delete())


def _pg_empty(app: Flask) -> None:
    """Empty every table and restart the ids, then seed the reference data: each test starts from the same state.

    DELETE, children first, rather than TRUNCATE: the tables hold a few rows, and TRUNCATE makes new files for each
    of the 55 tables and their indexes (about a second a test on a loaded machine, against 0.2 s)."""
    from app.extensions import db

    with app.app_context():
        delete_every_row()
        db.session.execute(text(RESTART_SEQUENCES))
        db.session.commit()
    seed_reference(app)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> Iterator[clock_mod.FakeClock]:
    fake = clock_mod.FakeClock()
    previous = clock_mod.set_clock(fake)
    yield fake
    clock_mod.set_clock(previous)


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra configuration for the `app` fixture; a test package overrides it in its conftest."""
    return {}


class _Reusable:
    """An app this test process made once and hands to every test with the same backend and configuration.

    Creating an app costs about half a second (≈ 570 URL rules and the OpenAPI document), which the suite paid per
    test. A reused app is given back as it was made: its configuration, request hooks, extensions and view functions
    as they were after `create_app`, its instance folder (keys, storage, broker folders, the SQLite file) restored
    from the copy taken then, its database emptied and reseeded, Celery bound to it again. A test that changes the
    app in a way this cannot undo (adds a route) asks for its own with `@pytest.mark.fresh_app`."""

    HOOKS = (
        "before_request_funcs",
        "after_request_funcs",
        "teardown_request_funcs",
        "teardown_appcontext_funcs",
        "url_value_preprocessors",
        "url_default_functions",
        "template_context_processors",
    )

    def __init__(self, app: Flask, instance: Path, backend: str) -> None:
        self.app, self.instance, self.backend = app, instance, backend
        _release(app)  # the SQLite file is copied with no connection open on it
        self.pristine = instance.with_name(instance.name + ".pristine")
        shutil.copytree(instance, self.pristine, symlinks=True)
        self.config = dict(app.config)
        self.hooks = {name: _copy_hooks(getattr(app, name)) for name in self.HOOKS}
        self.extensions = dict(app.extensions)
        self.view_functions = dict(app.view_functions)

    def restore(self) -> Flask:
        from app.core import tasks as task_registry
        from app.core.sealing.config import Sealing

        app = self.app
        _release(app, dispose=self.backend == "sqlite")
        shutil.rmtree(self.instance)
        shutil.copytree(self.pristine, self.instance, symlinks=True)
        app.config.clear()
        app.config.update(self.config)
        for name, saved in self.hooks.items():
            hooks = getattr(app, name)
            if isinstance(hooks, dict):
                hooks.clear()
                hooks.update(_copy_hooks(saved))
            else:
                hooks[:] = saved
        app.extensions.clear()
        app.extensions.update(self.extensions)
        # the sealer keeps what it built on first use from files in the instance folder: built again from there
        app.extensions["sealing"] = Sealing(app.config)
        app.view_functions.clear()
        app.view_functions.update(self.view_functions)
        celery = app.extensions["celery"]
        celery.set_default()
        task_registry.bind(celery)
        if self.backend == "postgresql":
            _pg_empty(app)
        return app


def _copy_hooks(hooks: Any) -> Any:
    """A copy of one of the app's hook registries: lists of functions by blueprint, or one list."""
    return {k: list(v) for k, v in hooks.items()} if isinstance(hooks, dict) else list(hooks)


def _release(app: Flask, *, dispose: bool = True) -> None:
    """End the app's session and, with `dispose`, close its pooled connections."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        if dispose:
            db.engine.dispose()


_reusable: dict[str, _Reusable] = {}  # by backend and configuration, oldest first
REUSABLE_MAX = 6


def _new_app(instance: Path, db_backend: str, sqlite_template: Path, app_config: dict[str, Any]) -> Flask:
    instance.mkdir(parents=True)
    extra: dict[str, Any] = dict(app_config)
    if db_backend == "sqlite":
        shutil.copy(sqlite_template, instance / "test.sqlite")
    else:
        if "error" in _pg_state:
            unavailable("PostgreSQL", _pg_state["error"])
        try:
            url = _pg_ready()
        except Exception as exc:
            unavailable("PostgreSQL", str(exc))
        extra["SQLALCHEMY_DATABASE_URI"] = url
        extra.setdefault("SQLALCHEMY_ENGINE_OPTIONS", PG_ENGINE_OPTIONS)
    application = create_app(test_config(instance, **extra))
    if db_backend == "postgresql":
        if not _pg_state.get("built"):
            build_schema(application)
            _pg_state["built"] = True
        _pg_empty(application)
    return application


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    db_backend: str,
    sqlite_template: Path,
    app_config: dict[str, Any],
) -> Iterator[Flask]:
    if request.node.get_closest_marker("fresh_app"):
        application = _new_app(tmp_path / "instance", db_backend, sqlite_template, app_config)
        yield application
        _release(application)
        return
    key = f"{db_backend} {sorted(app_config.items())!r}"
    entry = _reusable.pop(key, None)
    if entry is None:
        instance = tmp_path_factory.mktemp("app") / "instance"
        entry = _Reusable(_new_app(instance, db_backend, sqlite_template, app_config), instance, db_backend)
    else:
        entry.restore()
    _reusable[key] = entry  # the most recently used last
    while len(_reusable) > REUSABLE_MAX:
        _release(_reusable.pop(next(iter(_reusable))).app)
    yield entry.app
    _release(entry.app, dispose=False)


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


REALTIME_PATHS = ("tests/recording/", "tests/recordings/test_recorder.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Recorders timed against the wall clock are marked `realtime`: `make test` runs them after the parallel
    part, alone, so that the machine's load cannot skew what they measure."""
    for item in items:  # node ids start with the test file's path from the root directory, on every worker
        if item.nodeid.startswith(REALTIME_PATHS):
            item.add_marker(pytest.mark.realtime)
