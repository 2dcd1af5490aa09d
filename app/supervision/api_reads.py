"""Read-only JSON of the supervision pages that had none: a person's monitoring record, the windows' presence, the
statistics, the letters, the grading, the leader on duty and the instructions. The same access rules as the pages
(the same services decide), the same evidence-log entries for a view of one person's monitoring data. Routes on the
supervision API's blueprint (app.supervision.api)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app import audit
from app.core.db import db
from app.core.errors import PermissionDenied
from app.core.pages import me
from app.core.problems import N_
from app.core.security import authenticated
from app.core.time import now_utc
from app.supervision import duty, escalation, grading, letters, people, schemas, services
from app.supervision.api import SCOPE, _problems, blp
from app.supervision.models import InstructionState, Signal
from app.supervision.presence import services as presence
from app.supervision.presence.models import WindowCamera
from app.supervision.stats import figures


def _intervals(bars: list[presence.Bar]) -> list[dict[str, Any]]:
    return [{"state": b.state, "start": b.start, "end": b.end} for b in bars]


def _day(args: dict[str, Any]) -> date:
    day = args.get("day")
    return day if isinstance(day, date) else now_utc().astimezone(presence.zone()).date()


@blp.route("/people/<int:user_id>", methods=["GET"])
@blp.arguments(schemas.DayQuery, location="query")
@blp.response(200, schemas.PersonOut)
@_problems(403, 404, 422)
@authenticated(SCOPE)
def person(args: dict[str, Any], user_id: int) -> Any:
    """One staff member's monitoring record on a day: their windows and what the cameras saw while they were signed
    on, the signals naming them with how they were answered, their ratings. Supervisors and leaders see everyone, a
    department head the department's people, anybody themselves. Every view is in the evidence log."""
    rec = people.record_of(me(), user_id, _day(args))
    return {
        "id": rec.person.id,
        "name": rec.person.display_name,
        "day": rec.day,
        "departments": rec.departments,
        "windows": [w.number for w in rec.windows],
        "stints": [
            {
                "window": s.window.number,
                "signed_on_at": s.signed_on_at,
                "signed_off_at": s.signed_off_at,
                "has_camera": s.has_camera,
                "present_seconds": s.present,
                "observed_seconds": s.seen,
                "intervals": _intervals(s.bars),
            }
            for s in rec.stints
        ],
        "signals": [
            {
                "id": s.id,
                "colour": s.colour.value,
                "rule": s.rule.code,
                "kind": s.kind,
                "reference": s.reference,
                "fired_at": s.fired_at,
                "status": services.status_of(s).value,
                "answers": len(s.answers),
            }
            for s in rec.signals
        ],
        "signals_total": rec.signals_total,
        "ratings": rec.ratings,
    }


@blp.route("/presence", methods=["GET"])
@blp.arguments(schemas.DayQuery, location="query")
@blp.response(200, schemas.PresenceOut)
@_problems(403, 422)
@authenticated(SCOPE)
def presence_day(args: dict[str, Any]) -> Any:
    """Each window camera's presence timeline on a day, the staff signed on there and the window's signals that day
    (supervisors only, as the page; the view is in the evidence log)."""
    user = me()
    if not services.is_supervisor(user):
        raise PermissionDenied(N_("The windows' presence is for supervisors."))
    now = now_utc()
    day = _day(args)
    start, end = presence.day_span(day)
    out = []
    for camera in sorted(db.session.scalars(select(WindowCamera)), key=lambda c: c.window.number):
        bars = presence.timeline(camera.window_id, day, now=now)
        present, seen = presence.share_present(bars)
        staff = people.window_staff(camera.window_id, day)
        signals = db.session.scalars(
            select(Signal.id)
            .where(
                Signal.subject == f"convenience.window:{camera.window_id}",
                Signal.fired_at >= start,
                Signal.fired_at < end,
            )
            .order_by(Signal.fired_at)
        )
        out.append(
            {
                "window": camera.window.number,
                "name": camera.window.name,
                "present_seconds": present,
                "observed_seconds": seen,
                "intervals": _intervals(bars),
                "staff": [{"id": p.id, "name": p.display_name} for p in staff],
                "signals": list(signals),
            }
        )
    audit.note(
        "supervision.presence.viewed",
        actor=user,
        subject="supervision.presence",
        data={
            "day": day.isoformat(),
            "windows": [w["window"] for w in out],
            "people": sorted({p["id"] for w in out for p in w["staff"]}),
            "via": "api",
        },
    )
    return {"day": day, "windows": out}


@blp.route("/statistics", methods=["GET"])
@blp.arguments(schemas.StatsQuery, location="query")
@blp.response(200, schemas.StatsOut)
@_problems(403, 422)
@authenticated(SCOPE)
def statistics(args: dict[str, Any]) -> Any:
    """The statistics page's figures: the last periods of the unit with 同比 and 环比, the on-time rate, handling
    and promised hours, deemed decisions and ratings; history aggregated nightly, today live. Supervisors and leaders
    all departments, department heads theirs."""
    user = me()
    if not services.can_watch(user):
        raise PermissionDenied(N_("The supervision statistics are for supervisors and department heads."))
    allowed = None if services.sees_all(user) else services.departments_of(user)
    scope = figures.Scope(departments=allowed, floor=args.get("floor"), department=args.get("department"))
    rep = figures.report(figures.Unit(args["unit"]), scope)
    return {
        "unit": rep.unit.value,
        "today": rep.today,
        "history_from": rep.first_stored,
        "periods": [
            {
                "label": p.label,
                "start": p.start,
                "end": p.end,
                "live": p.live,
                "counts": p.counts,
                "by_floor": p.by_floor,
                "year_on_year": p.yoy,
                "period_on_period": p.mom,
                "on_time_rate": p.on_time_rate,
                "handling_hours": p.handling_hours,
                "promised_hours": p.promised_hours,
            }
            for p in rep.periods
        ],
    }


@blp.route("/letters", methods=["GET"])
@blp.response(200, schemas.LetterList)
@_problems(401)
@authenticated(SCOPE)
def letters_list() -> Any:
    """Supervision recommendation letters (监察建议书), newest first: all for supervisors, a department's for its
    heads. The sealed PDF stays on the page (its SHA-256 is here)."""
    return {
        "letters": [
            {
                "id": row.id,
                "number": row.number,
                "department": row.department,
                "signal_id": row.signal_id,
                "facts": row.facts,
                "rules_broken": row.rules_broken,
                "recommendation": row.recommendation,
                "reply_due": row.reply_due,
                "issued_at": row.issued_at,
                "state": row.state.value,
                "reply": row.reply,
                "replied_at": row.replied_at,
                "pdf_sha256": row.pdf_sha256,
            }
            for row in letters.list_letters(me())
        ]
    }


@blp.route("/grading", methods=["GET"])
@blp.arguments(schemas.QuarterQuery, location="query")
@blp.response(200, schemas.GradingOut)
@_problems(403, 422)
@authenticated(SCOPE)
def grading_list(args: dict[str, Any]) -> Any:
    """A quarter's grades of the departments (优秀 / 良好 / 合格 / 不合格) with the calculation's terms; the current
    quarter by default. Supervisors all departments, department heads theirs."""
    user = me()
    if not services.can_watch(user):
        raise PermissionDenied(N_("The grading of departments is for supervisors and department heads."))
    year, quarter = grading.current_quarter()
    if "year" in args or "quarter" in args:
        year, quarter = grading.check_quarter(args.get("year", year), args.get("quarter", quarter))
    return {
        "year": year,
        "quarter": quarter,
        "grades": [
            {
                "department": row.department,
                "score": row.score,
                "grade": row.grade.value,
                "terms": dict(row.terms),
                "computed_at": row.computed_at,
                "frozen_at": row.frozen_at,
            }
            for row in grading.stored(user, year, quarter)
        ],
    }


def _instruction(row: Any, today: date) -> dict[str, Any]:
    return {
        "id": row.id,
        "leader": row.leader.display_name,
        "department": row.department,
        "signal_id": row.signal_id,
        "text": row.text,
        "issued_at": row.issued_at,
        "due_on": row.due_on,
        "state": row.state.value,
        "overdue": duty.is_overdue(row, today),
        "closed_at": row.closed_at,
        "closing_note": row.closing_note,
        "reports": [{"author": r.author.display_name, "text": r.text, "created_at": r.created_at} for r in row.reports],
    }


@blp.route("/instructions", methods=["GET"])
@blp.response(200, schemas.InstructionList)
@_problems(401)
@authenticated(SCOPE)
def instructions_list() -> Any:
    """The leaders' written instructions (批示) and their follow-up: all for supervisors and leaders, a department's
    for its heads."""
    today = escalation.center_today()
    return {"instructions": [_instruction(row, today) for row in duty.list_instructions(me())]}


@blp.route("/duty", methods=["GET"])
@blp.response(200, schemas.DutyOut)
@_problems(403)
@authenticated(SCOPE)
def duty_day() -> Any:
    """The leader-on-duty page (市长带班): the rota, unresolved red signals, departments whose chief representative's
    authorisation does not cover their items, open instructions. Leaders and supervisors."""
    user = me()
    if not duty.may_see_duty(user):
        raise PermissionDenied(N_("The leader-on-duty page is for the leaders and the supervisors."))
    today = escalation.center_today()
    reds, _more = services.list_signals(user, services.SignalFilter(colour="red"))
    return {
        "today": today,
        "rota": [
            {"day": d.day, "leader": d.leader.display_name, "title": d.title}
            for d in duty.rota(today - timedelta(days=7), 35)
        ],
        "unresolved_reds": [s.id for s in reds if services.status_of(s) is not services.SignalStatus.ACCEPTED],
        "authorisation_gaps": [
            {"department": g.department, "items": list(g.items), "representatives": g.representatives}
            for g in duty.authorisation_gaps()
        ],
        "open_instructions": [
            _instruction(row, today) for row in duty.list_instructions(user) if row.state is not InstructionState.CLOSED
        ],
    }
