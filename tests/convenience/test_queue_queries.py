"""The peak day's busy paths stay cheap (issue 12, bench/convenience_peak_bench.py): the statements one ticket issue,
one call and one serve send through the API, counted on both engines; the hall's change counter moves in the
commit (after the evidence log's entries), so the one row every queue change writes is not held through the
building of the answer, and a rolled-back change does not move it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from app.core.time import FakeClock
from tests import factories
from tests.convenience.conftest import window_id

# Statements per request when this test was written (both engines; one more when the log's append completes a
# subtree and writes a node). Before: a call 28, a serve 19 (the token's own commit, which loaded the token, its
# user and roles again; the answer reading the window, its session and its ticket again). A new statement on these
# paths is paid 10,000 times a peak day: raise a budget only knowingly.
ISSUE_BUDGET = 14
CALL_BUDGET = 24
SERVE_BUDGET = 17


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    from app.extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def hall_version(app: Flask) -> int:
    from app.convenience import queue

    with app.app_context():
        return queue.hall_version()


def test_one_issue_call_and_serve_send_few_statements(floor: Flask, clock: FakeClock, db_backend: str) -> None:
    client = floor.test_client()
    clerk = factories.party(floor, client, "clerk1", role="window_staff")
    w1 = window_id(floor, "01")
    with floor.app_context():
        from app.convenience import services
        from app.extensions import db

        services.assign_staff(actor="system:test", window_id=w1, user_id=clerk.user_id)
        db.session.commit()
    auth = {"Authorization": f"Bearer {clerk.token}"}
    assert client.post(f"/api/v1/convenience/windows/{w1}/sign-on", headers=auth).status_code == 200
    # a first ticket and call: counters, tallies and the token's last use are written once, not on every request
    assert client.post("/api/v1/convenience/tickets", json={"service": "SI-001"}).status_code == 201
    assert client.post(f"/api/v1/convenience/windows/{w1}/call", headers=auth).status_code == 200
    assert client.post(f"/api/v1/convenience/windows/{w1}/serve", headers=auth).status_code == 200
    before = hall_version(floor)

    with statements(floor) as issue:
        resp = client.post("/api/v1/convenience/tickets", json={"service": "SI-001"})
    assert resp.status_code == 201 and resp.get_json()["number"] == "A002"
    with statements(floor) as call:
        resp = client.post(f"/api/v1/convenience/windows/{w1}/call", headers=auth)
    assert resp.status_code == 200 and resp.get_json()["current"]["number"] == "A002"
    with statements(floor) as serve:
        resp = client.post(f"/api/v1/convenience/windows/{w1}/serve", headers=auth)
    assert resp.status_code == 200 and resp.get_json()["current"] is None

    assert hall_version(floor) == before + 3  # each change announced once, to the display
    counts = {"issue": len(issue), "call": len(call), "serve": len(serve)}
    assert counts["issue"] <= ISSUE_BUDGET and counts["call"] <= CALL_BUDGET and counts["serve"] <= SERVE_BUDGET, (
        counts,
        issue,
        call,
        serve,
    )
    for sent in (issue, call, serve):
        # the token authenticated without a commit of its own (its last use moved less than a minute ago)
        assert sum(1 for s in sent if s.lstrip().upper().startswith("SELECT API_TOKENS")) <= 1, sent
        # the hall's row is written after the log's entry, in the commit
        upserts = [i for i, s in enumerate(sent) if "convenience_hall_state" in s and "INSERT" in s.upper()]
        entries = [i for i, s in enumerate(sent) if "INSERT INTO audit_entries" in s]
        assert len(upserts) == 1 and len(entries) == 1 and upserts[0] > entries[0], sent


def test_the_hall_moves_at_commit_and_not_on_rollback(floor: Flask, clock: FakeClock, db_backend: str) -> None:
    from app.audit.models import AuditEntry
    from app.convenience import queue
    from app.convenience.models import Ticket
    from app.extensions import db

    before = hall_version(floor)
    with floor.app_context():
        queue.issue_ticket(service_code="SI-001", channel="kiosk")
        assert queue.hall_version() == before  # not yet: the counter moves in the commit
        db.session.rollback()
    assert hall_version(floor) == before
    with floor.app_context():
        assert db.session.scalar(select(Ticket.id)) is None
        assert (
            db.session.scalar(select(AuditEntry.index).where(AuditEntry.action == "convenience.ticket_issued")) is None
        )
        queue.issue_ticket(service_code="SI-001", channel="kiosk")
        queue.issue_ticket(service_code="SI-002", channel="phone")
        db.session.commit()
    assert hall_version(floor) == before + 1  # one transaction, one move
