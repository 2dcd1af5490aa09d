"""`audit.note`: an entry checked at once and appended by the transaction's commit, in it.

The busy paths (a ticket issued, called, served) note their entries, so the log's append lock is held for the
commit only, not from the service's append to the end of the request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import audit
from app.audit import services
from app.audit.models import AuditEntry
from app.core.db import db
from crypto.canonical import CanonicalError


def _entries() -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.data) for e in db.session.execute(select(AuditEntry).order_by(AuditEntry.index)).scalars()]


def test_a_noted_entry_is_appended_by_the_commit(app_ctx: Flask) -> None:
    audit.note("queue.ticket_issued", actor="system:kiosk", subject="ticket:1", data={"number": "A001"})
    assert services.tree_size() == 0  # nothing appended, no lock taken yet
    db.session.commit()
    assert _entries() == [("queue.ticket_issued", {"number": "A001"})]
    assert db.session.get(AuditEntry, 0).subject == "ticket:1"  # type: ignore[union-attr]
    assert services.verify_log().ok


def test_noted_and_recorded_entries_share_the_log_in_commit_order(app_ctx: Flask) -> None:
    audit.note("b", actor=None, subject=None, data={"n": 2})
    entry = audit.record("a", actor=None, subject=None, data={"n": 1})  # appended at once
    db.session.commit()
    assert entry.index == 0
    assert _entries() == [("a", {"n": 1}), ("b", {"n": 2})]


def test_a_rollback_drops_what_was_noted(app_ctx: Flask) -> None:
    audit.note("dropped", actor=None, subject=None)
    db.session.rollback()
    audit.note("kept", actor=None, subject=None)
    db.session.commit()
    assert [a for a, _ in _entries()] == ["kept"]
    db.session.commit()  # a later commit appends nothing again
    assert services.tree_size() == 1


def test_a_closed_session_drops_what_was_noted(app: Flask) -> None:
    with app.app_context():
        audit.note("never", actor=None, subject=None)
        db.session.remove()  # the request ended without a commit (an error handler, a teardown)
    with app.app_context():
        db.session.commit()
        assert services.tree_size() == 0


def test_a_savepoint_rolled_back_drops_only_what_was_noted_inside_it(app_ctx: Flask) -> None:
    audit.note("outer", actor=None, subject=None)
    savepoint = db.session.begin_nested()
    audit.note("inner", actor=None, subject=None)
    inner = db.session.begin_nested()
    audit.note("innermost", actor=None, subject=None)
    inner.rollback()
    savepoint.rollback()
    kept = db.session.begin_nested()
    audit.note("after", actor=None, subject=None)
    kept.commit()
    db.session.commit()
    assert [a for a, _ in _entries()] == ["outer", "after"]
    assert services.verify_log().ok


@pytest.mark.parametrize(
    ("data", "error"),
    [({"price": 1.5}, CanonicalError), ("not a mapping", TypeError)],
)
def test_bad_parts_are_refused_at_once(app_ctx: Flask, data: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        audit.note("x", actor=None, subject=None, data=data)
    with pytest.raises(ValueError):
        audit.note("", actor=None, subject=None)
    db.session.commit()
    assert services.tree_size() == 0


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_noting_transaction_does_not_hold_the_log_until_it_commits(app: Flask) -> None:
    """While one transaction has noted an entry and is still building its answer, another appends and commits."""
    noted = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow_request() -> None:
        try:
            with app.app_context():
                audit.note("slow", actor=None, subject=None)
                noted.set()
                release.wait(30)  # the answer being built, say
                db.session.commit()
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=slow_request)
    thread.start()
    try:
        assert noted.wait(30)
        with app.app_context():
            started = time.monotonic()
            audit.record("fast", actor=None, subject=None)
            db.session.commit()
            waited = time.monotonic() - started
            db.session.remove()
        assert waited < 5, f"the fast append waited {waited:.1f} s for the noting transaction"
    finally:
        release.set()
        thread.join(60)
    assert not errors, errors
    with app.app_context():
        assert [a for a, _ in _entries()] == ["fast", "slow"]
        assert services.verify_log().ok
