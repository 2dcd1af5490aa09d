"""On PostgreSQL: sweeps running at once deem each overdue task once; a revocation committed while an answer waits
for the authorisation's row lock refuses that answer (revocation takes effect at once)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.permits.cases.helpers import who
from tests.permits.cases.processing_helpers import accepted_case, at, reviewer


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_parallel_sweeps_deem_each_task_once(desk_app: Flask, clock: Any, db_backend: str) -> None:
    from app.permits.cases import tasks
    from app.permits.cases.processing_models import DepartmentTask, TaskStatus

    at(clock, 2026, 3, 2, 9)
    for _ in range(3):
        accepted_case(desk_app)  # 2 tasks each
    at(clock, 2026, 3, 4, 0, 0)
    barrier = threading.Barrier(3)

    def run(_i: int) -> dict[str, int]:
        with desk_app.test_request_context():
            barrier.wait()
            out = tasks.deem_tasks() or {"deemed": 0, "overdue": 0}
            db.session.commit()
            return dict(out)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(run, range(3)))
    assert sum(r["deemed"] for r in results) == 6, results
    with desk_app.app_context():
        statuses = list(db.session.scalars(select(DepartmentTask.status)))
        assert statuses == [TaskStatus.DEEMED] * 6
        entries = db.session.scalar(
            select(func.count(AuditEntry.index)).where(AuditEntry.action == "permits.task.deemed_consent")
        )
        assert entries == 6


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_an_answer_waiting_on_a_revocation_is_refused(desk_app: Flask, clock: Any, db_backend: str) -> None:
    from app.permits.cases import authorisations, processing
    from app.permits.cases.authorisations import AuthorisationRefused
    from app.permits.cases.processing_models import DepartmentTask, TaskStatus

    gs = reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, p = accepted_case(desk_app)
    locked = threading.Event()
    outcome: dict[str, Any] = {}

    def revoke() -> None:
        with desk_app.test_request_context():
            auth = authorisations.list_authorisations()[0]
            authorisations.revoke(actor=who(p["lead"]), authorisation=auth, reason="调离")
            locked.set()
            time.sleep(1.0)  # the answer is waiting on the row lock meanwhile
            db.session.commit()

    def answer() -> None:
        locked.wait(10)
        with desk_app.test_request_context():
            task = next(t for t in processing.get_case(app_id).tasks if t.department.code == "HDGSJ")
            try:
                processing.answer_task(actor=who(gs), task=task, answer="agree")
                db.session.commit()
                outcome["result"] = "answered"
            except AuthorisationRefused as exc:
                db.session.rollback()
                outcome["result"] = exc.detail

    threads = [threading.Thread(target=revoke), threading.Thread(target=answer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert "revoked" in outcome["result"], outcome
    with desk_app.app_context():
        assert (
            db.session.scalar(select(func.count(DepartmentTask.id)).where(DepartmentTask.status == TaskStatus.ANSWERED))
            == 0
        )
