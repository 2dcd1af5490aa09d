"""Stages of a scenario, built once per test process and handed to each test as built.

A test that starts where its behaviour starts (a tender awarded, a room with every score in) would otherwise build
that stage again: a pool, a draw, five reviews, fifteen score sheets, a report, five signatures. `reach` builds a
named stage the first time a test asks for it, keeps what it left behind (the database's rows, the app's instance
folder with its stored files and keys, the fake clock's time, and the Python value the builder returned: parties,
ids, the answers the steps received), and gives the next test that asks for it the same state again.

    def awarded(app, clock):
        return stages.reach(app, clock, "to_award.awarded", lambda: award(publicised(app, clock)))

Builders chain: a stage's builder asks for the stage before it through `reach`, so the chain is built once, each
stage beginning from its predecessor's state. The value is given back as a shallow copy; a step makes its next
stage with dataclasses.replace or new attributes, never by changing a list or dict of the stage it started from.
The test's own `world` fixture is not used (the stage holds the world its builder made, whose API tokens are in the
stage's database). Everything a stage needs again lives in the database and the instance folder (the test
configuration keeps storage, keys, Celery's folders and the SQLite file there).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from sqlalchemy import text

from app.core import time as clock_mod

T = TypeVar("T")


@dataclass
class _Snapshot:
    folder: Path  # a copy of the instance folder (with the SQLite file)
    now: datetime
    value: Any
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # PostgreSQL: every table's rows
    sequences: dict[str, tuple[int, bool]] = field(default_factory=dict)


_built: dict[tuple[int, str, str], _Snapshot] = {}
_root: list[Path] = []


def reach(app: Flask, clock: clock_mod.FakeClock, name: str, build: Callable[[], T]) -> T:
    """The stage `name` on `app`: built by `build` the first time, restored (database, files, clock) after."""
    key = (id(app), str(_instance(app)), name)
    snap = _built.get(key)
    if snap is None:
        value = build()
        _built[key] = snap = _take(app, clock, value)
    else:
        _restore(app, snap)
        clock.set(snap.now)
    return copy.copy(snap.value)


def _postgres(app: Flask) -> bool:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql")


def _instance(app: Flask) -> Path:
    return Path(app.config["INSTANCE_PATH"])


def _release(app: Flask) -> None:
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


SEQUENCES = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


def _take(app: Flask, clock: clock_mod.FakeClock, value: Any) -> _Snapshot:
    from app.extensions import db

    if not _root:
        _root.append(Path(tempfile.mkdtemp(prefix="stages-")))
    folder = _root[0] / str(len(_built))
    snap = _Snapshot(folder, clock.now(), copy.copy(value))
    if _postgres(app):
        with app.app_context():
            conn = db.session.connection()
            for table in db.metadata.sorted_tables:
                snap.rows[table.name] = [dict(r) for r in conn.execute(table.select()).mappings()]
            for seq in conn.execute(text(SEQUENCES)).scalars():
                last, called = conn.execute(text(f'SELECT last_value, is_called FROM "{seq}"')).one()
                snap.sequences[seq] = (int(last), bool(called))
            db.session.rollback()
    _release(app)  # the SQLite file is copied with no connection open on it
    shutil.copytree(_instance(app), folder, symlinks=True)
    return snap


def _restore(app: Flask, snap: _Snapshot) -> None:
    from app.core.sealing.config import Sealing

    _release(app)
    shutil.rmtree(_instance(app))
    shutil.copytree(snap.folder, _instance(app), symlinks=True)
    app.extensions["sealing"] = Sealing(app.config)  # it keeps what it built from the instance folder
    if _postgres(app):
        _load_rows(app, snap)


def _load_rows(app: Flask, snap: _Snapshot) -> None:
    """Empty every table (children first), insert the stage's rows (parents first), set the sequences back."""
    from app.extensions import db

    with app.app_context():
        from tests.conftest import delete_every_row

        delete_every_row()
        tables = db.metadata.sorted_tables
        deferred = []
        for table in tables:
            rows = snap.rows[table.name]
            if not rows:
                continue
            later = [c.name for key in table.foreign_key_constraints if key.use_alter for c in key.columns]
            db.session.execute(table.insert(), [{**r, **dict.fromkeys(later)} for r in rows])
            if later:
                deferred.append((table, later, rows))
        for table, later, rows in deferred:
            pk = list(table.primary_key.columns)
            for row in rows:
                if any(row[c] is not None for c in later):
                    where = [col == row[col.name] for col in pk]
                    db.session.execute(table.update().where(*where).values({c: row[c] for c in later}))
        for seq, (last, called) in snap.sequences.items():
            db.session.execute(text("SELECT setval(CAST(:s AS regclass), :v, :c)"), {"s": seq, "v": last, "c": called})
        db.session.commit()


def chain(prefix: str, steps: dict[str, Callable[..., Any]]) -> Callable[[Flask, Any, str], Any]:
    """Stages in order, each made by its step: the first step takes (app, clock), each later one (the stage
    before it, clock). Returns `at(app, clock, name)`, which reaches the named stage through `reach`."""
    names = list(steps)

    def at(app: Flask, clock: Any, name: str) -> Any:
        i = names.index(name)

        def build() -> Any:
            if i == 0:
                return steps[name](app, clock)
            return steps[name](at(app, clock, names[i - 1]), clock)

        return reach(app, clock, f"{prefix}.{name}", build)

    return at


def fixture(at: Callable[[Flask, Any, str], Any], name: str) -> Any:
    """A pytest fixture named `name` that hands the test the stage `name` of the chain `at`."""

    @pytest.fixture(name=name)
    def stage(app: Flask, clock: Any) -> Any:
        return at(app, clock, name)

    return stage
