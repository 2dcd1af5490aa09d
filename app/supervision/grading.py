"""Quarterly grading of departments (优秀 / 良好 / 合格 / 不合格) from signals and ratings, the calculation kept.

score = base + Σ count × weight, clipped to [0, base], over the quarter (in the center's zone):
  red        red signals that turned on in the quarter
  yellow     yellow signals that turned on in the quarter
  accepted   explanations accepted by a supervisor in the quarter (a settled signal gives some points back)
  rejected   explanations rejected in the quarter
  escalation escalations of the department's signals in the quarter
  bad_rating the share of bad ratings (不满意 and 非常不满意) among the department's ratings in the quarter, in
             percent to one decimal — ratings name the department (app.convenience.rating, read-only; appeals upheld
             are left out); no rating: 0
The grade is the first threshold the score reaches: excellent ≥ 90, good ≥ 80, satisfactory ≥ 60, else fail (settings
SUPERVISION_GRADING). Decimal arithmetic throughout; the score is rounded half up to two decimals and kept as text.
A quarter is computed again on demand until a supervisor freezes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, func, select

from app import audit
from app.core.db import db
from app.core.errors import Conflict, PermissionDenied, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.supervision.escalation import center_today
from app.supervision.models import (
    AnswerKind,
    DepartmentGrading,
    Escalation,
    Grade,
    Light,
    Signal,
    SignalAnswer,
)
from app.supervision.services import departments_of, is_supervisor

DEFAULT_GRADING: dict[str, Any] = {
    "base": "100",
    "weights": {
        "red": "-5",
        "yellow": "-1",
        "accepted": "2",
        "rejected": "-2",
        "escalation": "-3",
        "bad_rating": "-0.5",  # per percentage point of bad ratings
    },
    "thresholds": {"excellent": "90", "good": "80", "satisfactory": "60"},
}
TERMS = ("red", "yellow", "accepted", "rejected", "escalation", "bad_rating")
CENT = Decimal("0.01")  # the score is kept and shown to two decimals
GRADE_ORDER = (Grade.EXCELLENT, Grade.GOOD, Grade.SATISFACTORY)


def settings() -> dict[str, Any]:
    found = current_app.config.get("SUPERVISION_GRADING") or {}
    return {
        "base": str(found.get("base", DEFAULT_GRADING["base"])),
        "weights": {k: str((found.get("weights") or {}).get(k, v)) for k, v in DEFAULT_GRADING["weights"].items()},
        "thresholds": {
            k: str((found.get("thresholds") or {}).get(k, v)) for k, v in DEFAULT_GRADING["thresholds"].items()
        },
    }


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return datetime.combine(start, time(0), tzinfo=zone), datetime.combine(end, time(0), tzinfo=zone)


def current_quarter() -> tuple[int, int]:
    today = center_today()
    return today.year, (today.month - 1) // 3 + 1


def check_quarter(year: Any, quarter: Any) -> tuple[int, int]:
    y, q = str(year or "").strip(), str(quarter or "").strip()
    if not (y.isascii() and y.isdigit() and len(y) == 4 and 2000 <= int(y) <= 2100):
        raise field_error("year", N_("Give a year from 2000 to 2100."))
    if q not in ("1", "2", "3", "4"):
        raise field_error("quarter", N_("Choose a quarter from 1 to 4."))
    if (int(y), int(q)) > current_quarter():
        raise field_error("quarter", N_("This quarter has not begun."))
    return int(y), int(q)


@dataclass
class Computed:
    department: str
    score: Decimal
    grade: Grade
    terms: dict[str, Any]


def grade_of(score: Decimal, thresholds: dict[str, str]) -> Grade:
    for grade in GRADE_ORDER:
        if score >= Decimal(thresholds[grade.value]):
            return grade
    return Grade.FAIL


def calculate(counts: dict[str, Any], conf: dict[str, Any]) -> tuple[Decimal, Grade, dict[str, Any]]:
    """The score, grade and the terms (each count, weight and points) of one department. Pure."""
    base = Decimal(conf["base"])
    rows = []
    total = base
    for term in TERMS:
        count = Decimal(str(counts.get(term, 0)))
        weight = Decimal(conf["weights"][term])
        points = count * weight
        if not points:
            points = Decimal(0)  # not "-0" for a count of nothing
        total += points
        rows.append({"term": term, "count": str(count), "weight": str(weight), "points": str(points)})
    total = total.quantize(CENT, rounding=ROUND_HALF_UP)
    score = min(max(total, Decimal(0)), base).quantize(CENT)
    grade = grade_of(score, conf["thresholds"])
    terms = {
        "base": str(base),
        "rows": rows,
        "raw": str(total),
        "thresholds": dict(conf["thresholds"]),
        "ratings": {"total": counts.get("ratings_total", 0), "bad": counts.get("ratings_bad", 0)},
    }
    return score, grade, terms


def _count_by_department(stmt: Any) -> dict[str, int]:
    return {str(d): int(n) for d, n in db.session.execute(stmt) if d}


def gather(year: int, quarter: int) -> dict[str, dict[str, Any]]:
    """Per department, the quarter's counts (signals by colour, answers reviewed, escalations, ratings)."""
    from app.convenience.rating.models import BAD_LEVELS, Rating

    start, end = quarter_bounds(year, quarter)
    counts: dict[str, dict[str, Any]] = {}

    def put(term: str, found: dict[str, int]) -> None:
        for department, n in found.items():
            counts.setdefault(department, {})[term] = n

    in_quarter = (Signal.fired_at >= start, Signal.fired_at < end)
    for colour in (Light.RED, Light.YELLOW):
        put(
            colour.value,
            _count_by_department(
                select(Signal.department, func.count())
                .where(*in_quarter, Signal.colour == colour)
                .group_by(Signal.department)
            ),
        )
    for kind in (AnswerKind.ACCEPTED, AnswerKind.REJECTED):
        put(
            kind.value,
            _count_by_department(
                select(Signal.department, func.count())
                .join(SignalAnswer, SignalAnswer.signal_id == Signal.id)
                .where(SignalAnswer.kind == kind, SignalAnswer.created_at >= start, SignalAnswer.created_at < end)
                .group_by(Signal.department)
            ),
        )
    put(
        "escalation",
        _count_by_department(
            select(Escalation.department, func.count())
            .where(Escalation.escalated_at >= start, Escalation.escalated_at < end)
            .group_by(Escalation.department)
        ),
    )
    rated = (Rating.rated_at >= start, Rating.rated_at < end, Rating.is_excluded.is_(False))
    total = _count_by_department(select(Rating.department, func.count()).where(*rated).group_by(Rating.department))
    bad = _count_by_department(
        select(Rating.department, func.count()).where(*rated, Rating.level.in_(BAD_LEVELS)).group_by(Rating.department)
    )
    for department, n in total.items():
        row = counts.setdefault(department, {})
        row["ratings_total"] = n
        row["ratings_bad"] = bad.get(department, 0)
        share = Decimal(bad.get(department, 0) * 100) / Decimal(n)
        row["bad_rating"] = share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return counts


def compute(year: int, quarter: int) -> list[Computed]:
    conf = settings()
    found = []
    for department, counts in sorted(gather(year, quarter).items()):
        score, grade, terms = calculate(counts, conf)
        found.append(Computed(department, score, grade, terms))
    return found


def compute_quarter(*, actor: Any, year: Any, quarter: Any) -> list[DepartmentGrading]:
    """Compute (again) and store the quarter's grades (supervisors). Refused once the quarter is frozen."""
    if not is_supervisor(actor):
        raise PermissionDenied(N_("Only supervisors grade departments."))
    y, q = check_quarter(year, quarter)
    if db.session.scalar(
        select(func.count(DepartmentGrading.id)).where(
            DepartmentGrading.year == y, DepartmentGrading.quarter == q, DepartmentGrading.frozen_at.is_not(None)
        )
    ):
        raise Conflict(N_("The grades of this quarter are frozen."))
    db.session.execute(delete(DepartmentGrading).where(DepartmentGrading.year == y, DepartmentGrading.quarter == q))
    now = now_utc()
    rows = [
        DepartmentGrading(
            year=y,
            quarter=q,
            department=c.department,
            score=str(c.score),
            grade=c.grade,
            terms=c.terms,
            computed_at=now,
            computed_by_id=actor.id,
        )
        for c in compute(y, q)
    ]
    db.session.add_all(rows)
    db.session.flush()
    audit.record(
        "supervision.grading.computed",
        actor=actor,
        subject=f"supervision.grading:{y}Q{q}",
        data={"grades": {r.department: [r.score, r.grade.value] for r in rows}},
    )
    return rows


def freeze_quarter(*, actor: Any, year: Any, quarter: Any) -> int:
    if not is_supervisor(actor):
        raise PermissionDenied(N_("Only supervisors grade departments."))
    y, q = check_quarter(year, quarter)
    rows = list(
        db.session.scalars(select(DepartmentGrading).where(DepartmentGrading.year == y, DepartmentGrading.quarter == q))
    )
    if not rows:
        raise Conflict(N_("Compute the grades of this quarter before freezing them."))
    if any(r.frozen_at is not None for r in rows):
        raise Conflict(N_("The grades of this quarter are frozen."))
    now = now_utc()
    for r in rows:
        r.frozen_at, r.frozen_by_id = now, actor.id
    db.session.flush()
    audit.record(
        "supervision.grading.frozen",
        actor=actor,
        subject=f"supervision.grading:{y}Q{q}",
        data={"departments": len(rows)},
    )
    return len(rows)


def stored(user: Any, year: int, quarter: int) -> list[DepartmentGrading]:
    """The stored grades the user may see: all for supervisors, a head's own departments."""
    stmt = select(DepartmentGrading).where(DepartmentGrading.year == year, DepartmentGrading.quarter == quarter)
    if not is_supervisor(user):
        stmt = stmt.where(DepartmentGrading.department.in_(departments_of(user)))
    return list(db.session.scalars(stmt.order_by(DepartmentGrading.department)))
