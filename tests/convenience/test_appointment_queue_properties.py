"""Booked visitors in the queue (hypothesis): call-next interleaves booked tickets with walk-ins by the rule in the
settings (priority, or a quota of booked calls per N calls), takes each kind oldest first, and no ticket is
skipped or served twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.core.time import FakeClock
from tests.convenience.conftest import staff, window_id

WINDOWS = ("01", "02")  # both of group A
OPS = st.one_of(
    st.tuples(st.just("walk_in"), st.sampled_from(("SI-001", "SI-002"))),
    st.tuples(st.just("booked"), st.sampled_from(("SI-001", "SI-002"))),
    st.tuples(st.sampled_from(("call", "serve", "miss")), st.sampled_from(WINDOWS)),
)


def expected_booked(recent: list[str], rule: str, booked: int, calls: int) -> bool:
    """The rule, written from the settings' description: priority always; quota while the last calls-1 calls
    gave fewer than `booked` to booked visitors."""
    if rule == "priority":
        return True
    window = recent[-(calls - 1) :] if calls > 1 else []
    return window.count("B") < booked


@pytest.mark.parametrize(("rule", "booked", "calls"), [("priority", 0, 0), ("quota", 2, 3), ("quota", 1, 4)])
def test_booked_tickets_are_interleaved_by_the_rule(
    floor: Flask, clock: FakeClock, rule: str, booked: int, calls: int
) -> None:
    from app.accounts.models import User
    from app.audit.models import AuditEntry
    from app.convenience import queue, services
    from app.convenience.models import Ticket, TicketStatus
    from app.core.errors import DomainError
    from app.extensions import db

    floor.config.update(
        CONVENIENCE_BOOKED_RULE=rule, CONVENIENCE_BOOKED_QUOTA_BOOKED=booked, CONVENIENCE_BOOKED_QUOTA_CALLS=calls
    )
    ids = {n: window_id(floor, n) for n in WINDOWS}
    people = {n: staff(floor, f"clerk{n}", (n,), sign_on=n) for n in WINDOWS}

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(OPS, min_size=1, max_size=40))
    def run(ops: list[tuple[str, str]]) -> None:
        clock.advance(timedelta(days=1))  # a new day: a new queue and a new tally
        model: dict[int, dict[str, Any]] = {}
        recent: list[str] = []
        called: dict[str, int] = {}
        with floor.app_context():
            actors = {n: db.session.get(User, people[n]) for n in WINDOWS}
            for w in WINDOWS:  # a failed example (while shrinking) may have left a call open
                if queue.current_ticket(services.get_window(ids[w])) is not None:
                    queue.serve(actor=actors[w], window_id=ids[w])
            db.session.commit()
            for step, (kind, arg) in enumerate(ops):
                clock.advance(timedelta(seconds=1))
                try:
                    if kind in ("walk_in", "booked"):
                        t = queue.issue_ticket(service_code=arg, channel="kiosk", booked=kind == "booked")
                        model[t.id] = {"status": "waiting", "place": step, "booked": kind == "booked", "served": 0}
                    elif kind == "call":
                        waiting = [
                            (m["place"], tid, m["booked"]) for tid, m in model.items() if m["status"] == "waiting"
                        ]
                        oldest_b = min((w for w in waiting if w[2]), default=None)
                        oldest_w = min((w for w in waiting if not w[2]), default=None)
                        t = queue.call_next(actor=actors[arg], window_id=ids[arg])
                        assert arg not in called and waiting, "a call was allowed that should not be"
                        if oldest_b and oldest_w:
                            want = oldest_b if expected_booked(recent, rule, booked, calls) else oldest_w
                        else:
                            want = oldest_b or oldest_w
                        assert want is not None and t.id == want[1], "the rule or the order was broken"
                        recent.append("B" if t.is_booked else "W")
                        model[t.id]["status"] = "called"
                        called[arg] = t.id
                    elif kind == "serve":
                        t = queue.serve(actor=actors[arg], window_id=ids[arg])
                        assert called.pop(arg) == t.id
                        model[t.id]["status"] = "served"
                        model[t.id]["served"] += 1
                    else:
                        t = queue.miss(actor=actors[arg], window_id=ids[arg])
                        assert called.pop(arg) == t.id
                        m = model[t.id]
                        m.update(status="no_show") if m.get("requeued") else m.update(
                            status="waiting", place=step, requeued=True
                        )
                    db.session.commit()
                except DomainError:
                    db.session.rollback()
                    if kind == "call":
                        assert arg in called or not any(m["status"] == "waiting" for m in model.values())
                    else:
                        assert kind in ("serve", "miss") and arg not in called
            db.session.commit()  # the queue notes its entries: the commit appends them (app.audit.note)
            tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(list(model) or [0])))}
            for tid, m in model.items():
                assert tickets[tid].status is TicketStatus(m["status"])
                assert tickets[tid].is_booked is m["booked"]
                served = list(
                    db.session.scalars(
                        select(AuditEntry.action).where(
                            AuditEntry.subject == f"convenience.ticket:{tid}",
                            AuditEntry.action == "convenience.ticket_served",
                        )
                    )
                )
                assert len(served) == m["served"] <= 1
            for w in list(called):
                queue.serve(actor=actors[w], window_id=ids[w])
            db.session.commit()

    run()


def test_the_model_reads_short_histories_whole() -> None:
    """The reference model once sliced from len - (calls - 1): with fewer calls than that it saw too few."""
    assert not expected_booked(["B", "W"], "quota", 1, 4) and expected_booked(["W", "W"], "quota", 1, 4)


def test_the_rule_itself() -> None:
    from app.convenience.queue import booked_first

    assert booked_first("WWWW", "priority", 0, 0) and booked_first("BBBB", "priority", 0, 0)
    assert booked_first("", "quota", 2, 3) and booked_first("WB", "quota", 2, 3)
    assert not booked_first("BB", "quota", 2, 3) and booked_first("BBW", "quota", 2, 3)
    assert not booked_first("WBB", "quota", 2, 3)
    assert booked_first("BWW", "quota", 1, 3) and not booked_first("WB", "quota", 1, 3)
