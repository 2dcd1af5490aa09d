"""The ingest sweep: items opened and closed from the evidence log, resumable and idempotent across crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.cases import services as cases
from app.permits.cases.models import ApplicationChannel
from app.supervision import ingest
from app.supervision.models import IngestCursor, ItemState, MonitoredItem
from tests.permits.cases.helpers import attach_all, people, submit, who
from tests.supervision.conftest import run_ingest

BEIJING = 8


def _items(app: Flask, kind: str | None = None) -> list[dict[str, Any]]:
    """The items (of one kind: an accepted permits case also opens its `case` item beside the desk's)."""
    with app.app_context():
        query = select(MonitoredItem).order_by(MonitoredItem.id)
        rows = db.session.scalars(query.where(MonitoredItem.kind == kind) if kind else query)
        return [
            {
                "kind": r.kind,
                "subject": r.subject,
                "state": r.state,
                "department": r.department,
                "person_id": r.person_id,
                "due": r.promised_due_at,
                "opened_index": r.opened_index,
                "reference": r.reference,
            }
            for r in rows
        ]


def _submitted(app: Flask, n: int, *, accept: int = 0) -> dict[str, int]:
    """n applications entered at the desk, the first `accept` of them accepted."""
    ids = people(app)
    with app.app_context():
        desk = who(ids["desk"])
        for i in range(n):
            application = submit(desk, channel=ApplicationChannel.DESK)
            if i < accept:
                attach_all(desk, application)
                cases.accept_application(actor=desk, application=cases.get_application(application.id))
        db.session.commit()
    return ids


def test_a_waiting_application_is_an_item_with_its_department_person_and_due_instant(desk_app: Flask) -> None:
    ids = _submitted(desk_app, 1)
    batch = run_ingest(desk_app)
    assert batch.opened == 1 and batch.read >= 2
    [item] = _items(desk_app)
    assert item["kind"] == "desk_decision" and item["state"] is ItemState.OPEN
    assert item["person_id"] == ids["desk"]  # 首问负责人: the clerk who entered it
    with desk_app.app_context():
        from app.permits.cases.models import Application

        application = db.session.scalar(select(Application))
        assert item["department"] == application.item.department.name != ""
        assert item["reference"] == application.number
    # Received Monday 2026-03-02: the desk decides by the 5th working day after, Monday 03-09, until midnight.
    assert item["due"] == datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=UTC) - timedelta(hours=BEIJING)


def test_the_desk_decision_closes_the_item(desk_app: Flask, clock: Any) -> None:
    _submitted(desk_app, 1)
    run_ingest(desk_app)
    clock.advance(timedelta(hours=2))
    with desk_app.app_context():
        from app.permits.cases.models import Application

        application = db.session.scalar(select(Application))
        desk = who(application.first_handler_id)
        attach_all(desk, application)
        cases.accept_application(actor=desk, application=cases.get_application(application.id))
        db.session.commit()
    batch = run_ingest(desk_app)
    assert batch.closed == 1
    [item] = _items(desk_app, "desk_decision")
    assert item["state"] is ItemState.CLOSED
    with desk_app.app_context():
        row = db.session.scalar(select(MonitoredItem))
        assert row.closed_at == clock.now()


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_crash_mid_batch_loses_nothing_and_duplicates_nothing(desk_app: Flask) -> None:
    _submitted(desk_app, 4, accept=2)
    with desk_app.app_context():
        from app.audit.services import tree_size

        size = tree_size()

    # A first batch of 5 entries, committed; then a run that dies after its 3rd entry (the worker was killed).
    first = run_ingest(desk_app, limit=5)
    assert first.read == 5 and first.position == 5
    seen: list[int] = []

    def die(entry: Any) -> None:
        seen.append(entry.index)
        if len(seen) == 3:
            raise Crash("killed")

    with pytest.raises(Crash):
        run_ingest(desk_app, limit=10, on_entry=die)
    with desk_app.app_context():
        assert db.session.get(IngestCursor, ingest.CURSOR_ID).position == 5  # the dead batch left no trace
    assert seen == [5, 6, 7]
    # Restarted: it reads on from the cursor, to the end.
    while run_ingest(desk_app, limit=7).read:
        pass
    items = _items(desk_app, "desk_decision")
    assert len(items) == 4  # one desk item per application, none twice
    assert sum(1 for i in items if i["state"] is ItemState.CLOSED) == 2
    with desk_app.app_context():
        assert db.session.get(IngestCursor, ingest.CURSOR_ID).position == size
    assert run_ingest(desk_app).read == 0  # caught up: nothing more

    # Even with the cursor lost (moved back to 0), a second reading opens nothing twice.
    with desk_app.app_context():
        db.session.get(IngestCursor, ingest.CURSOR_ID).position = 0
        db.session.commit()
    again = run_ingest(desk_app)
    assert again.opened == 0 and again.read == size
    assert _items(desk_app, "desk_decision") == items


def test_every_entry_is_read_once_whatever_the_batch_size(desk_app: Flask) -> None:
    _submitted(desk_app, 3, accept=1)
    reads = []
    while True:
        batch = run_ingest(desk_app, limit=2)
        if not batch.read:
            break
        reads.append(batch.read)
    with desk_app.app_context():
        from app.audit.services import tree_size

        assert sum(reads) == tree_size()
        assert db.session.scalar(select(func.count(MonitoredItem.id)).where(MonitoredItem.kind == "desk_decision")) == 3
        assert db.session.scalar(select(func.count(MonitoredItem.id)).where(MonitoredItem.kind == "case")) == 1


def test_convenience_ticket_waits_until_called(app: Flask, clock: Any) -> None:
    from app.convenience import queue
    from app.convenience import services as floor
    from tests.convenience.conftest import MONDAY_9, staff, window_id

    clock.set(MONDAY_9)
    with app.app_context():
        floor.load_floor_file(floor.DEMO_FLOOR, actor="system:test")
        ticket = queue.issue_ticket(service_code="SI-001", channel="kiosk")
        number, department = ticket.number, ticket.service.department
        db.session.commit()
    staff_id = staff(app, "clerk1", ("01",), sign_on="01")
    run_ingest(app)
    [item] = _items(app)
    assert (item["kind"], item["reference"], item["department"]) == ("ticket_wait", number, department)
    assert item["due"] == MONDAY_9 + timedelta(minutes=30)
    clock.advance(timedelta(minutes=4))
    window = window_id(app, "01")
    with app.app_context():
        queue.call_next(actor=who(staff_id), window_id=window)
        db.session.commit()
    run_ingest(app)
    assert _items(app)[0]["state"] is ItemState.CLOSED


@pytest.fixture
def app_config() -> dict[str, Any]:
    """The tendering tests' shortened legal periods (the rules stay on)."""
    from tests.tendering.conftest import TENDERING_CONFIG

    return dict(TENDERING_CONFIG)


def test_a_tender_opening_is_a_milestone_closed_by_the_opening(app: Flask, clock: Any) -> None:
    from tests.factories import opened_tender, world

    made = world(app, bidders=3)
    tender = opened_tender(made, clock)
    run_ingest(app)
    items = {i["kind"]: i for i in _items(app)}
    assert items["opening"]["state"] is ItemState.CLOSED
    assert items["opening"]["subject"] == f"tender:{tender['id']}"
    assert items["opening"]["department"] == "邯郸招标代理有限公司"  # the agency runs the procedure
    assert items["opening"]["person_id"] == made.agency.user_id
    with app.app_context():
        from app.tendering.models import Tender

        row = db.session.get(Tender, tender["id"])
        assert items["opening"]["due"] == row.opening_at
    # Opened with enough bids: the evaluation is the next step watched.
    assert items["evaluation"]["state"] is ItemState.OPEN
    assert items["evaluation"]["subject"] == f"tender:{tender['id']}/evaluation"
