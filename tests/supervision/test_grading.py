"""Quarterly grading of departments: the arithmetic against hand-computed fixtures (weights and thresholds of the
defaults: base 100; red −5, yellow −1, accepted +2, rejected −2, escalation −3, bad ratings −0.5 per percentage
point; excellent ≥ 90, good ≥ 80, satisfactory ≥ 60), the quarter's counts from the database (the quarter in the
center's zone), storing, recomputing, freezing, the page showing each term, access by role, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.convenience.rating.models import Level, Rating, SubjectKind
from app.extensions import db
from app.supervision.grading import DEFAULT_GRADING, calculate
from app.supervision.models import (
    AnswerKind,
    DepartmentGrading,
    DepartmentHead,
    Escalation,
    Floor,
    Rule,
    Signal,
    SignalAnswer,
)
from tests.accounts.helpers import post_form
from tests.html import parse
from tests.supervision.followup_helpers import _actions, _client, _count


@pytest.mark.parametrize(
    ("counts", "score", "grade"),
    [
        # 100 − 15 − 4 + 2 − 4 − 3 − 6.25 = 69.75
        (
            {"red": 3, "yellow": 4, "accepted": 1, "rejected": 2, "escalation": 1, "bad_rating": "12.5"},
            "69.75",
            "satisfactory",
        ),
        ({"yellow": 2}, "98", "excellent"),
        ({"red": 2}, "90", "excellent"),  # on the threshold
        ({"bad_rating": "20.2"}, "89.90", "good"),  # 100 − 10.1
        ({"red": 4}, "80", "good"),
        ({"red": 8}, "60", "satisfactory"),
        ({"red": 8, "yellow": 1}, "59", "fail"),
        ({"red": 30}, "0", "fail"),  # −50 kept at 0
        ({"accepted": 5}, "100", "excellent"),  # 110 kept at 100
    ],
)
def test_the_arithmetic(counts: dict[str, Any], score: str, grade: str) -> None:
    found, which, terms = calculate({k: Decimal(str(v)) for k, v in counts.items()}, DEFAULT_GRADING)
    assert found == Decimal(score) and which.value == grade
    assert sum(Decimal(t["points"]) for t in terms["rows"]) + Decimal(100) == Decimal(terms["raw"])
    assert [t["term"] for t in terms["rows"]] == ["red", "yellow", "accepted", "rejected", "escalation", "bad_rating"]


def _signal(rule_id: int, n: int, department: str, colour: str, at: datetime) -> Signal:
    return Signal(
        dedupe=f"test:{n}",
        rule_id=rule_id,
        colour=colour,
        floor=Floor.PERMITS,
        kind="desk_decision",
        subject=f"test:{n}",
        department=department,
        fired_at=at,
        detail={},
    )


def _rating(n: int, department: str, level: Level, at: datetime, excluded: bool = False) -> Rating:
    return Rating(
        subject_kind=SubjectKind.TICKET,
        subject_id=n,
        reference=f"A{n:03d}",
        level=level,
        rated_at=at,
        closed_at=at,
        department=department,
        is_excluded=excluded,
    )


Q1 = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def quarter(desk_app: Flask, red: dict[str, Any]) -> dict[str, Any]:
    """Q1 2026 (the clock is in March): three departments besides the red fixture's (1 red: 95, excellent).

    甲局: 2 red, 1 yellow, 1 accepted, 1 rejected, 1 escalation; ratings 8 counted (1 very dissatisfied, 1
          dissatisfied, 6 satisfied) and 1 dissatisfied whose appeal was upheld (left out): 25.0 % bad
          → 100 − 10 − 1 + 2 − 2 − 3 − 12.5 = 73.5, satisfactory.
    乙局: ratings only, 1 bad of 3: 33.3 % → 100 − 16.65 = 83.35, good.
    丙局: 1 yellow at 00:30 on 1 January in Beijing (in Q1) and 1 red at 23:30 on 31 December (Q4 2025: out)
          → 99, excellent.
    """
    with desk_app.app_context():
        rule_id = db.session.scalar(select(Rule.id).order_by(Rule.id))
        rows = [
            _signal(rule_id, 1, "甲局", "red", Q1),
            _signal(rule_id, 2, "甲局", "red", Q1),
            _signal(rule_id, 3, "甲局", "yellow", Q1),
            _signal(rule_id, 4, "丙局", "yellow", datetime(2025, 12, 31, 16, 30, tzinfo=UTC)),
            _signal(rule_id, 5, "丙局", "red", datetime(2025, 12, 31, 15, 30, tzinfo=UTC)),
        ]
        db.session.add_all(rows)
        db.session.flush()
        author = red["clerk"]
        db.session.add_all(
            [
                SignalAnswer(
                    signal_id=rows[0].id, kind=AnswerKind.EXPLANATION, author_id=author, text="x", created_at=Q1
                ),
                SignalAnswer(signal_id=rows[0].id, kind=AnswerKind.ACCEPTED, author_id=author, text="", created_at=Q1),
                SignalAnswer(
                    signal_id=rows[1].id, kind=AnswerKind.EXPLANATION, author_id=author, text="x", created_at=Q1
                ),
                SignalAnswer(signal_id=rows[1].id, kind=AnswerKind.REJECTED, author_id=author, text="y", created_at=Q1),
                Escalation(
                    signal_id=rows[1].id,
                    level=1,
                    addressee="department_head",
                    department="甲局",
                    workdays_unresolved=2,
                    escalated_at=Q1,
                ),
            ]
        )
        levels = [Level.VERY_DISSATISFIED, Level.DISSATISFIED] + [Level.SATISFIED] * 6
        db.session.add_all([_rating(i, "甲局", level, Q1) for i, level in enumerate(levels)])
        db.session.add(_rating(20, "甲局", Level.DISSATISFIED, Q1, excluded=True))
        db.session.add_all(
            [_rating(30 + i, "乙局", lv, Q1) for i, lv in enumerate([Level.DISSATISFIED, Level.BASIC, Level.SATISFIED])]
        )
        db.session.commit()
    return red


EXPECTED = {
    "甲局": ("73.50", "satisfactory"),
    "乙局": ("83.35", "good"),
    "丙局": ("99.00", "excellent"),
}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_quarter_is_computed_stored_shown_and_frozen(desk_app: Flask, quarter: dict[str, Any]) -> None:
    watcher = _client(desk_app, "watcher")
    assert post_form(watcher, "/supervision/grading", {"year": "2026", "quarter": "1"}).status_code == 303
    with desk_app.app_context():
        rows = {r.department: r for r in db.session.scalars(select(DepartmentGrading))}
        assert {d: (r.score, r.grade.value) for d, r in rows.items()} == {
            **EXPECTED,
            quarter["department"]: ("95.00", "excellent"),
        }
        terms = {t["term"]: t for t in rows["甲局"].terms["rows"]}
        assert {k: t["count"] for k, t in terms.items()} == {
            "red": "2",
            "yellow": "1",
            "accepted": "1",
            "rejected": "1",
            "escalation": "1",
            "bad_rating": "25.0",
        }
        assert terms["bad_rating"]["points"] == "-12.50" and rows["甲局"].terms["ratings"] == {"total": 8, "bad": 2}
    page = watcher.get("/supervision/grading?year=2026&quarter=1")
    doc = parse(page.data)
    card = doc.one("div", data_grading="甲局")
    assert card.attrs["data-score"] == "73.50" and "合格" in card.text and "8条评价中差评2条" in card.text
    assert doc.one("td", data_weight="bad_rating").text == "-0.5" and "优秀 ≥ 90" in doc.by_id("thresholds").text
    assert "Satisfactory" in _client(desk_app, "watcher", "en").get(
        "/supervision/grading?year=2026&quarter=1"
    ).get_data(as_text=True)
    # Computed again with new data until frozen; then refused.
    with desk_app.app_context():
        rule_id = db.session.scalar(select(Rule.id).order_by(Rule.id))
        db.session.add(_signal(rule_id, 6, "丙局", "yellow", Q1))
        db.session.commit()
    assert post_form(watcher, "/supervision/grading", {"year": "2026", "quarter": "1"}).status_code == 303
    with desk_app.app_context():
        assert (
            db.session.scalar(select(DepartmentGrading.score).where(DepartmentGrading.department == "丙局")) == "98.00"
        )
    assert _count(desk_app, DepartmentGrading) == 4
    assert post_form(watcher, "/supervision/grading/freeze", {"year": "2026", "quarter": "1"}).status_code == 303
    assert post_form(watcher, "/supervision/grading", {"year": "2026", "quarter": "1"}).status_code == 409
    assert post_form(watcher, "/supervision/grading/freeze", {"year": "2026", "quarter": "1"}).status_code == 409
    assert 'id="frozen"' in watcher.get("/supervision/grading?year=2026&quarter=1").get_data(as_text=True)
    assert _actions(desk_app, "supervision.grading.") == [
        "supervision.grading.computed",
        "supervision.grading.computed",
        "supervision.grading.frozen",
    ]


def test_who_sees_the_grades_and_bad_input(desk_app: Flask, quarter: dict[str, Any]) -> None:
    watcher = _client(desk_app, "watcher")
    for bad in (
        {"year": "20x6", "quarter": "1"},
        {"year": "²⁰²⁶", "quarter": "1"},
        {"year": "2026", "quarter": "5"},
        {"year": "2026", "quarter": "2"},
    ):
        resp = post_form(watcher, "/supervision/grading", bad)
        assert resp.status_code == 422, bad
        assert "govuk-error-summary" in resp.get_data(as_text=True)
    assert post_form(watcher, "/supervision/grading/freeze", {"year": "2026", "quarter": "1"}).status_code == 409
    assert _count(desk_app, DepartmentGrading) == 0
    assert (
        post_form(_client(desk_app, "head"), "/supervision/grading", {"year": "2026", "quarter": "1"}).status_code
        == 403
    )
    assert post_form(watcher, "/supervision/grading", {"year": "2026", "quarter": "1"}).status_code == 303
    with desk_app.app_context():
        db.session.add(DepartmentHead(user_id=db.session.scalar(select(DepartmentHead.user_id)), department="乙局"))
        db.session.commit()
    head = parse(_client(desk_app, "head").get("/supervision/grading?year=2026&quarter=1").data)
    assert sorted(e.attrs["data-grading"] for e in head.select("div", data_grading=True)) == sorted(
        ["乙局", quarter["department"]]
    )
    assert not head.has("grading-form")
    assert _client(desk_app, "other").get("/supervision/grading").status_code == 403
    shown = _client(desk_app, "watcher").get("/supervision/grading?year=abc&quarter=9")
    assert shown.status_code == 200 and 'id="quarter-error"' in shown.get_data(as_text=True)
