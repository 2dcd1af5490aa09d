"""Properties of the queue under any sequence of window actions (hypothesis): no ticket is skipped or served twice,
a ticket is re-queued at most once, and the numbers of a day run without a gap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.core.time import FakeClock
from tests.convenience.conftest import staff, window_id

WINDOWS = ("01", "02", "04")  # 01 and 02 serve group A; 04 (group B) only gets what is transferred to it
OPS = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(("SI-001", "SI-002"))),
    st.tuples(st.sampled_from(("call", "serve", "miss", "recall")), st.sampled_from(WINDOWS)),
    st.tuples(st.just("transfer"), st.sampled_from(WINDOWS), st.sampled_from(WINDOWS)),
)


def test_no_ticket_is_skipped_or_served_twice_and_requeued_at_most_once(floor: Flask, clock: FakeClock) -> None:
    from app.accounts.models import User
    from app.audit.models import AuditEntry
    from app.convenience import queue
    from app.convenience.models import Ticket, TicketStatus
    from app.core.errors import DomainError
    from app.extensions import db

    ids = {n: window_id(floor, n) for n in WINDOWS}
    people = {n: staff(floor, f"clerk{n}", (n,), sign_on=n) for n in WINDOWS}

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(OPS, min_size=1, max_size=40))
    def run(ops: list[tuple[Any, ...]]) -> None:
        clock.advance(timedelta(days=1))  # a new day: a new queue, numbers from 1
        # The model: each ticket's state, place in line (step of its last queueing) and window.
        model: dict[int, dict[str, Any]] = {}
        called: dict[str, int] = {}
        with floor.app_context():
            actors = {n: db.session.get(User, people[n]) for n in WINDOWS}
            for step, op in enumerate(ops):
                clock.advance(timedelta(seconds=1))
                kind, w = op[0], op[1]
                try:
                    if kind == "issue":
                        t = queue.issue_ticket(service_code=w, channel="kiosk")
                        model[t.id] = {"status": "waiting", "place": step, "for": None, "requeued": False}
                    elif kind == "call":
                        eligible = [
                            (m["place"], tid)
                            for tid, m in model.items()
                            if m["status"] == "waiting" and (m["for"] == w or (m["for"] is None and w != "04"))
                        ]
                        t = queue.call_next(actor=actors[w], window_id=ids[w])
                        assert w not in called and eligible, "a call was allowed that should not be"
                        assert t.id == min(eligible)[1], "a ticket was skipped"
                        model[t.id].update(status="called", at=w, **{"for": None})
                        called[w] = t.id
                    elif kind == "serve":
                        t = queue.serve(actor=actors[w], window_id=ids[w])
                        assert called.pop(w) == t.id
                        model[t.id]["status"] = "served"
                    elif kind == "miss":
                        t = queue.miss(actor=actors[w], window_id=ids[w])
                        assert called.pop(w) == t.id
                        m = model[t.id]
                        if m["requeued"]:
                            m["status"] = "no_show"
                        else:
                            m.update(status="waiting", place=step, requeued=True)
                    elif kind == "recall":
                        assert queue.recall(actor=actors[w], window_id=ids[w]).id == called[w]
                    else:
                        t = queue.transfer(actor=actors[w], window_id=ids[w], to_window_id=ids[op[2]])
                        assert op[2] != w and called.pop(w) == t.id
                        model[t.id].update(status="waiting", **{"for": op[2]})
                    db.session.commit()
                except DomainError:
                    db.session.rollback()
                    # Refused only when the model agrees there was nothing to do.
                    if kind == "call":
                        assert w in called or not any(
                            m["status"] == "waiting" and (m["for"] == w or (m["for"] is None and w != "04"))
                            for m in model.values()
                        )
                    elif kind == "transfer":
                        assert w not in called or op[2] == w
                    else:
                        assert kind != "issue" and w not in called
            tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(list(model) or [0])))}
            for tid, m in model.items():
                assert tickets[tid].status is TicketStatus(m["status"])
                actions = list(
                    db.session.scalars(
                        select(AuditEntry.action).where(AuditEntry.subject == f"convenience.ticket:{tid}")
                    )
                )
                assert actions.count("convenience.ticket_served") <= 1
                assert actions.count("convenience.ticket_requeued") <= 1
                assert actions.count("convenience.ticket_served") == (m["status"] == "served")
            sequences = sorted(t.sequence for t in tickets.values() if t.group.prefix == "A")
            assert sequences == list(range(1, len(sequences) + 1))
            # End the day: finish what is called, so the next example starts with free windows.
            for w in list(called):
                queue.serve(actor=actors[w], window_id=ids[w])
            db.session.commit()
            assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.status == TicketStatus.CALLED)) == 0

    run()
