"""Escalation of unresolved reds across working days (time travel, idempotency), the duty rota, the leader's page
and the leader's instructions (issue, report, overdue, close), access by role, bad input refused storing nothing.

The red: an application received at the desk on Monday 2026-03-02 09:00 (Beijing) and left undecided; the lights
sweep on Tuesday 03-10 10:00 finds it 600 minutes past its promised due (Monday 23:59:59.999): red since Tuesday
00:00. Escalation counts working days from Wednesday 03-11, two per level (the default): Thursday 03-12 → the
department head (2), Monday 03-16 → the discipline office (4: the weekend does not count), Wednesday 03-18 → the
leader on duty (6). March 2026 has no public holiday.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.supervision.models import (
    DutyDay,
    Escalation,
    Instruction,
    InstructionReport,
    SignalImmutable,
)
from tests.accounts.helpers import post_form
from tests.html import parse
from tests.supervision.followup_helpers import _actions, _client, _count, at, run_escalation, run_overdue


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_escalation_level_by_level_across_working_days(desk_app: Flask, red: dict[str, Any], clock: Any) -> None:
    with desk_app.app_context():
        db.session.add(
            DutyDay(day=date(2026, 3, 18), leader_id=red["leader"], title="vice_mayor", set_by_id=1, set_at=at(1))
        )
        db.session.commit()
    expected = [(11, 0), (12, 1), (13, 1), (14, 1), (15, 1), (16, 2), (17, 2), (18, 3), (19, 3), (23, 3)]
    for day, levels in expected:
        clock.set(at(day))
        run_escalation(desk_app)
        assert _count(desk_app, Escalation) == levels, day
        assert run_escalation(desk_app)["escalations"] == 0  # the same instant again: nothing new
    with desk_app.app_context():
        rows = list(db.session.scalars(select(Escalation).order_by(Escalation.level)))
        assert [(r.level, r.addressee, r.workdays_unresolved) for r in rows] == [
            (1, "department_head", 2),
            (2, "discipline_office", 4),
            (3, "duty_leader", 6),
        ]
        assert [r.duty_leader_id for r in rows] == [None, None, red["leader"]]
        rows[0].level = 9
        with pytest.raises(SignalImmutable):
            db.session.flush()
        db.session.rollback()
    assert _actions(desk_app, "supervision.signal.escalated") == ["supervision.signal.escalated"] * 3
    # Visible on the signal's page and on the wall.
    watcher = _client(desk_app, "watcher")
    page = parse(watcher.get(f"/supervision/signals/{red['signal']}").data)
    assert [li.attrs["data-addressee"] for li in page.by_id("escalations").select("li")] == [
        "department_head",
        "discipline_office",
        "duty_leader",
    ]
    assert "纪检监察室" in page.text and "已6个工作日未办结" in page.text
    from app.accounts import services_tokens
    from app.accounts.models import User

    with desk_app.app_context():
        account = db.session.scalar(select(User).where(User.username == "watcher"))
        _t, token = services_tokens.create_token(user=account, name="t", scopes=["*"], expires_in_days=1)
        db.session.commit()
    api = desk_app.test_client().get(
        f"/api/v1/supervision/signals/{red['signal']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert [(e["level"], e["addressee"]) for e in api.json["escalations"]] == [
        (1, "department_head"),
        (2, "discipline_office"),
        (3, "duty_leader"),
    ]
    wall = parse(watcher.get("/supervision/").data)
    assert wall.one("dd", data_count="escalated").text == "1"


def test_a_missed_sweep_catches_up_and_a_settled_signal_never_escalates(
    desk_app: Flask, red: dict[str, Any], clock: Any
) -> None:
    clock.set(at(16))  # the sweep did not run on Thursday: both levels now due, each its own record
    assert run_escalation(desk_app)["escalations"] == 2
    assert _count(desk_app, Escalation) == 2
    url = f"/supervision/signals/{red['signal']}"
    assert post_form(_client(desk_app, "clerk"), url + "/answer", {"text": "已办结"}).status_code == 303
    assert post_form(_client(desk_app, "watcher"), url + "/review", {"decision": "accept"}).status_code == 303
    clock.set(at(25))
    assert run_escalation(desk_app) == {"signals": 0, "escalations": 0, "skipped": 0}
    assert _count(desk_app, Escalation) == 2


def test_the_rota_is_kept_by_supervisors_and_bad_input_stores_nothing(
    desk_app: Flask, red: dict[str, Any], clock: Any
) -> None:
    clock.set(at(12))
    watcher = _client(desk_app, "watcher")
    leader_id = str(red["leader"])
    for bad in (
        {"day": "2026-13-01", "leader": leader_id, "title": "vice_mayor"},
        {"day": "2026-03-11", "leader": leader_id, "title": "vice_mayor"},  # yesterday
        {"day": "2026-03-13", "leader": str(red["clerk"]), "title": "vice_mayor"},  # not a leader
        {"day": "2026-03-13", "leader": leader_id, "title": "king"},
        {"day": "2026-03-13", "leader": "x" * 30, "title": "mayor"},
        {"day": "2026-03-13", "leader": "¹", "title": "mayor"},
        {"day": "2026-03-13", "leader": "9" * 40, "title": "mayor"},
    ):
        resp = post_form(watcher, "/supervision/duty/rota", bad)
        assert resp.status_code == 422, bad
        assert "govuk-error-summary" in resp.get_data(as_text=True)
    assert _count(desk_app, DutyDay) == 0
    assert post_form(_client(desk_app, "leader"), "/supervision/duty/rota", {"day": "2026-03-13"}).status_code == 403
    ok = post_form(watcher, "/supervision/duty/rota", {"day": "2026-03-12", "leader": leader_id, "title": "vice_mayor"})
    assert ok.status_code == 303
    again = post_form(watcher, "/supervision/duty/rota", {"day": "2026-03-12", "leader": leader_id, "title": "mayor"})
    assert again.status_code == 303
    with desk_app.app_context():
        [row] = db.session.scalars(select(DutyDay)).all()
        assert (row.day, row.title) == (date(2026, 3, 12), "mayor")
    # One vice-mayor a week, for a day: another day of the same week refused (the mayor's days are not counted).
    again = {"leader": leader_id, "title": "vice_mayor"}
    assert post_form(watcher, "/supervision/duty/rota", {**again, "day": "2026-03-19"}).status_code == 303
    refused = post_form(watcher, "/supervision/duty/rota", {**again, "day": "2026-03-20"})
    assert refused.status_code == 422 and "2026-03-19" in refused.get_data(as_text=True)
    assert post_form(watcher, "/supervision/duty/rota", {**again, "day": "2026-03-23"}).status_code == 303  # next week
    assert post_form(watcher, "/supervision/duty/rota/remove", {"day": "2026-03-19"}).status_code == 303
    assert post_form(watcher, "/supervision/duty/rota/remove", {"day": "2026-03-23"}).status_code == 303
    page = _client(desk_app, "leader").get("/supervision/duty")
    assert page.status_code == 200
    doc = parse(page.data)
    assert doc.by_id("on-duty").text == "市长 副市长赵六"
    assert [a.get("href") for a in doc.by_id("unresolved").select("a")] == [f"/supervision/signals/{red['signal']}"]
    assert _client(desk_app, "leader").get(f"/supervision/signals/{red['signal']}").status_code == 200
    assert "授权不到位" in doc.text
    en = _client(desk_app, "watcher", "en").get("/supervision/duty").get_data(as_text=True)
    assert "Mayor" in en and "Authorisation problems" in en
    for name in ("clerk", "head", "other"):
        assert _client(desk_app, name).get("/supervision/duty").status_code == 403, name
    assert post_form(watcher, "/supervision/duty/rota/remove", {"day": "2026-03-12"}).status_code == 303
    assert _count(desk_app, DutyDay) == 0
    assert _actions(desk_app, "supervision.duty.") == [
        *["supervision.duty.set"] * 4,
        *["supervision.duty.removed"] * 3,
    ]


def test_the_leader_page_lists_authorisation_gaps(desk_app: Flask, red: dict[str, Any]) -> None:
    from app.supervision.duty import authorisation_gaps

    with desk_app.app_context():
        gaps = {g.department: g for g in authorisation_gaps()}
        assert red["department"] in gaps  # the demo catalogue's departments: nobody authorised in this test
        assert gaps[red["department"]].representatives == 0 and gaps[red["department"]].items


def test_an_instruction_from_issue_to_close(desk_app: Flask, red: dict[str, Any], clock: Any) -> None:
    clock.set(at(12))  # Thursday
    leader = _client(desk_app, "leader")
    form = {
        "department": red["department"],
        "text": "请三日内办结并报告。",
        "workdays": "2",
        "signal": str(red["signal"]),
    }
    for change in (
        {"workdays": "0"},
        {"workdays": "61"},
        {"workdays": "two"},
        {"workdays": "²"},  # a digit to str.isdigit(), not to int()
        {"text": " "},
        {"text": "x" * 2001},
        {"department": "", "signal": ""},  # no signal to take the department from
        {"department": "部" * 201, "signal": ""},
    ):
        bad = post_form(leader, "/supervision/instructions", {**form, **change})
        assert bad.status_code == 422, change
        assert "govuk-error-summary" in bad.get_data(as_text=True)
    assert post_form(leader, "/supervision/instructions", {**form, "signal": "99999999"}).status_code == 422
    assert post_form(_client(desk_app, "watcher"), "/supervision/instructions", form).status_code == 403
    assert _count(desk_app, Instruction) == 0
    done = post_form(leader, "/supervision/instructions", form)
    assert done.status_code == 303
    url = done.headers["Location"]
    with desk_app.app_context():
        row = db.session.scalar(select(Instruction))
        assert row.due_on == date(2026, 3, 16)  # two working days from Friday: Friday, Monday
        assert row.state == "open" and row.signal_id == red["signal"]
    # Who sees it: the leader, supervisors, the department's head; not the clerk nor other staff.
    assert _client(desk_app, "watcher").get(url).status_code == 200
    signal_page = _client(desk_app, "watcher").get(f"/supervision/signals/{red['signal']}").get_data(as_text=True)
    assert f'href="{url.split("localhost", 1)[-1]}"' in signal_page  # the instruction, under the signal's follow-up
    head = _client(desk_app, "head")
    page = head.get(url).get_data(as_text=True)
    assert 'id="report-form"' in page and 'id="close-form"' not in page
    assert _client(desk_app, "clerk").get(url).status_code == 404
    assert url in head.get("/").get_data(as_text=True).split('data-section="supervision-instructions-to-report"', 1)[1]
    assert _client(desk_app, "other").get("/supervision/instructions").status_code == 200
    assert 'data-instruction="' not in _client(desk_app, "other").get("/supervision/instructions").get_data(
        as_text=True
    )
    # Not closed before the department reports.
    assert post_form(leader, url + "/close", {"note": ""}).status_code == 409
    # Overdue: Tuesday 03-17 is past Monday 03-16; flagged once.
    clock.set(at(17))
    assert run_overdue(desk_app)["flagged"] == 1
    assert run_overdue(desk_app)["flagged"] == 0
    head, leader = _client(desk_app, "head"), _client(desk_app, "leader")  # signed in again after the days passed
    assert "已逾期" in head.get(url).get_data(as_text=True)
    assert post_form(head, url + "/report", {"text": "  "}).status_code == 422
    assert _count(desk_app, InstructionReport) == 0
    assert post_form(head, url + "/report", {"text": "已于3月17日办结，责任人已作检查。"}).status_code == 303
    assert post_form(head, url + "/close", {"note": ""}).status_code == 403
    assert url in leader.get("/").get_data(as_text=True).split('data-section="supervision-instructions-to-close"', 1)[1]
    assert post_form(leader, url + "/close", {"note": "同意办结。"}).status_code == 303
    assert post_form(leader, url + "/close", {"note": ""}).status_code == 409
    assert post_form(head, url + "/report", {"text": "again"}).status_code == 409
    with desk_app.app_context():
        row = db.session.scalar(select(Instruction))
        assert row.state == "closed" and row.overdue_at is not None and row.closing_note == "同意办结。"
    assert _actions(desk_app, "supervision.instruction.") == [
        "supervision.instruction.issued",
        "supervision.instruction.overdue",
        "supervision.instruction.reported",
        "supervision.instruction.closed",
    ]


def test_a_stale_form_is_refused(desk_app: Flask, red: dict[str, Any]) -> None:
    watcher = _client(desk_app, "watcher")
    resp = watcher.post("/supervision/duty/rota", data={"day": "2026-03-20", "leader": str(red["leader"])})
    assert resp.status_code == 400
    assert _count(desk_app, DutyDay) == 0


def test_the_follow_up_sweeps_are_on_the_beat_schedule(app: Flask) -> None:
    del app  # created: every module's sweeps declared
    from celery import Celery

    from app.core import tasks

    celery = Celery("t")
    tasks.bind(celery)
    schedule = celery.conf.beat_schedule
    assert schedule["supervision.escalation"]["schedule"] == 600
    assert schedule["supervision.instructions.overdue"]["schedule"] == 1800
    assert {"supervision.escalation", "supervision.instructions.overdue"} <= set(celery.tasks)
