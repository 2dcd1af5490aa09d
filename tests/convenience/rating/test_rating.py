"""好差评 services: one rating per served ticket or decided application, who may rate, bad ratings open a
rectification task due in N working days (call-backs, closing), appeals, invitations, results."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.convenience.conftest import user, window_id
from tests.convenience.rating.helpers import (
    actions,
    clerk,
    count,
    decided_application,
    open_application,
    people,
    served_ticket,
    waiting_ticket,
)


def _rate(
    app: Flask, kind: str, reference: str, level: str, *, token: str = "", comment: str = "", actor: Any = None
) -> Any:
    from app.convenience.rating import services
    from app.extensions import db

    with app.app_context():
        who = user(actor) if actor else None
        rating = services.rate(services.resolve(kind, reference, token, who), level=level, comment=comment, actor=who)
        db.session.commit()
        return rating.id


def test_a_served_ticket_is_rated_once_with_its_window_staff_and_department(rated_floor: Flask) -> None:
    from app.convenience.rating import services
    from app.convenience.rating.models import Rating
    from app.core.errors import Conflict
    from app.extensions import db

    clerk_id = clerk(rated_floor)
    tracking = served_ticket(rated_floor, clerk_id)
    rating_id = _rate(rated_floor, "ticket", tracking, "satisfied", comment="  办得很快  ")
    w1 = window_id(rated_floor, "01")
    with rated_floor.app_context():
        rating = db.session.get(Rating, rating_id)
        assert rating.level.value == "satisfied" and rating.comment == "办得很快"
        assert rating.window_id == w1 and rating.staff_id == clerk_id
        assert rating.department and rating.task is None and rating.reference.endswith(" A001")
        subject = services.resolve("ticket", tracking)
        with pytest.raises(Conflict):
            services.rate(subject, level="very_satisfied")
        db.session.rollback()
    assert count(rated_floor, Rating) == 1
    assert actions(rated_floor) == ["convenience.rating.submitted"]


def test_a_ticket_not_served_cannot_be_rated_and_bad_input_stores_nothing(rated_floor: Flask) -> None:
    from app.convenience.rating import services
    from app.convenience.rating.models import Rating
    from app.core.errors import Conflict, NotFound, ValidationFailed
    from app.extensions import db

    clerk_id = clerk(rated_floor)
    tracking = served_ticket(rated_floor, clerk_id)
    waiting = waiting_ticket(rated_floor)
    with rated_floor.app_context():
        with pytest.raises(Conflict):
            services.rate(services.resolve("ticket", waiting), level="satisfied")
        with pytest.raises(NotFound):
            services.resolve("ticket", "x" * 20)
        with pytest.raises(ValidationFailed):
            services.resolve("hotline", tracking)
        subject = services.resolve("ticket", tracking)
        for level, comment in (
            ("good", ""),
            ("", ""),
            (None, ""),
            (3, ""),
            ("satisfied", "长" * 501),
            ("satisfied", 5),
        ):
            with pytest.raises(ValidationFailed):
                services.rate(subject, level=level, comment=comment)
        db.session.rollback()
    assert count(rated_floor, Rating) == 0 and actions(rated_floor) == []


def test_the_database_refuses_a_second_rating_of_the_same_subject(rated_floor: Flask) -> None:
    from app.convenience.rating.models import Level, Rating, SubjectKind
    from app.core.time import now_utc
    from app.extensions import db

    with rated_floor.app_context():
        for _ in range(2):
            db.session.add(
                Rating(
                    subject_kind=SubjectKind.TICKET,
                    subject_id=42,
                    reference="A042",
                    level=Level.SATISFIED,
                    closed_at=now_utc(),
                )
            )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.add(
            Rating(
                subject_kind=SubjectKind.APPLICATION,
                subject_id=42,
                reference="SQ",
                level=Level.BASIC,
                closed_at=now_utc(),
            )
        )
        db.session.commit()  # the same id of another kind is another subject


def test_a_bad_rating_opens_a_task_due_in_working_days_from_the_settings(rated_floor: Flask) -> None:
    from app.convenience.rating.models import Rating
    from app.extensions import db

    clerk_id = clerk(rated_floor)
    first = _rate(rated_floor, "ticket", served_ticket(rated_floor, clerk_id), "dissatisfied", comment="等太久")
    rated_floor.config["RATING_RECTIFY_WORKING_DAYS"] = 1
    second = _rate(rated_floor, "ticket", served_ticket(rated_floor, clerk_id), "very_dissatisfied")
    third = _rate(rated_floor, "ticket", served_ticket(rated_floor, clerk_id), "basic")
    with rated_floor.app_context():
        task = db.session.get(Rating, first).task
        # Monday 2026-12-07 + 5 working days: the weekend of 12–13 December does not count.
        assert task.due_on == date(2026, 12, 14) and task.responsible_id == clerk_id and task.status.value == "open"
        assert db.session.get(Rating, second).task.due_on == date(2026, 12, 8)
        assert db.session.get(Rating, third).task is None
    assert actions(rated_floor).count("convenience.rating.rectification_opened") == 2


def test_without_the_calendar_the_rating_is_kept_and_the_due_date_unknown(floor: Flask) -> None:
    from app.convenience.rating.models import Rating
    from app.extensions import db

    clerk_id = clerk(floor)
    rating_id = _rate(floor, "ticket", served_ticket(floor, clerk_id), "very_dissatisfied")
    with floor.app_context():
        task = db.session.get(Rating, rating_id).task
        assert task is not None and task.due_on is None


def test_call_backs_then_closing_with_what_was_done(rated_floor: Flask, clock: Any) -> None:
    from app.convenience.rating import services
    from app.convenience.rating.models import Rating, RectificationTask
    from app.core.errors import Conflict, NotFound, ValidationFailed
    from app.extensions import db

    clerk_id = clerk(rated_floor)
    other = clerk(rated_floor, "clerk02", "02")
    rating_id = _rate(rated_floor, "ticket", served_ticket(rated_floor, clerk_id), "dissatisfied")
    clock.advance(timedelta(hours=2))
    with rated_floor.app_context():
        task_id = db.session.get(Rating, rating_id).task.id
        with pytest.raises(Conflict):  # no call-back yet
            services.close_task(actor=user(clerk_id), task_id=task_id, action_taken="已整改完毕")
        db.session.rollback()
        with pytest.raises(NotFound):  # not theirs
            services.get_task(task_id, user(other))
        now = clock.now()
        for called_at, outcome in (
            (now + timedelta(hours=1), "reached"),
            (now - timedelta(days=1), "reached"),
            (now.replace(tzinfo=None), "reached"),
            (now, "maybe"),
        ):
            with pytest.raises(ValidationFailed):
                services.record_callback(actor=user(clerk_id), task_id=task_id, called_at=called_at, outcome=outcome)
            db.session.rollback()
        services.record_callback(
            actor=user(clerk_id),
            task_id=task_id,
            called_at=now - timedelta(minutes=10),
            outcome="reached",
            note="已致歉",
        )
        db.session.commit()
        with pytest.raises(ValidationFailed):
            services.close_task(actor=user(clerk_id), task_id=task_id, action_taken=" ")
        db.session.rollback()
        services.close_task(actor=user(clerk_id), task_id=task_id, action_taken="调整窗口排班，高峰期增开窗口")
        db.session.commit()
        task = db.session.get(RectificationTask, task_id)
        assert task.status.value == "closed" and task.closed_by_id == clerk_id and len(task.callbacks) == 1
        assert task.callbacks[0].called_by_id == clerk_id and task.callbacks[0].outcome.value == "reached"
        with pytest.raises(Conflict):
            services.record_callback(actor=user(clerk_id), task_id=task_id, called_at=now, outcome="reached")
        db.session.rollback()
    assert actions(rated_floor)[-2:] == ["convenience.rating.called_back", "convenience.rating.rectification_closed"]


def test_an_upheld_appeal_excludes_the_rating_and_a_rejected_one_does_not(rated_floor: Flask) -> None:
    from app.convenience.rating import services
    from app.convenience.rating.models import Rating
    from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
    from app.extensions import db

    who = people(rated_floor)
    clerk_id = clerk(rated_floor)
    other = clerk(rated_floor, "clerk02", "02")
    first = _rate(rated_floor, "ticket", served_ticket(rated_floor, clerk_id), "very_dissatisfied", comment="乱写")
    second = _rate(rated_floor, "ticket", served_ticket(rated_floor, clerk_id), "dissatisfied")
    with rated_floor.app_context():
        with pytest.raises(NotFound):  # another window's clerk cannot appeal it
            services.file_appeal(actor=user(other), rating_id=first, reasons="这不是我的窗口办理的事项")
        with pytest.raises(ValidationFailed):
            services.file_appeal(actor=user(clerk_id), rating_id=first, reasons="太短")
        db.session.rollback()
        upheld = services.file_appeal(
            actor=user(clerk_id), rating_id=first, reasons="评价人当天并未在本窗口办理业务，系误评"
        ).id
        rejected = services.file_appeal(actor=user(clerk_id), rating_id=second, reasons="群众等待时间在正常范围之内").id
        db.session.commit()
        with pytest.raises(Conflict):
            services.file_appeal(actor=user(clerk_id), rating_id=first, reasons="再申诉一次，理由同上")
        db.session.rollback()
        with pytest.raises(PermissionDenied):
            services.decide_appeal(actor=user(clerk_id), appeal_id=upheld, uphold=True, note="同意")
        with pytest.raises(ValidationFailed):
            services.decide_appeal(actor=user(who["lead"]), appeal_id=upheld, uphold=True, note="")
        db.session.rollback()
        services.decide_appeal(actor=user(who["lead"]), appeal_id=upheld, uphold=True, note="经核查监控，属误评")
        services.decide_appeal(actor=user(who["lead"]), appeal_id=rejected, uphold=False, note="评价属实")
        db.session.commit()
        with pytest.raises(Conflict):
            services.decide_appeal(actor=user(who["lead"]), appeal_id=upheld, uphold=False, note="改判")
        db.session.rollback()
        assert db.session.get(Rating, first).is_excluded and db.session.get(Rating, first).task is not None
        assert not db.session.get(Rating, second).is_excluded
        res = services.results(date(2026, 12, 7), date(2026, 12, 7))
        assert res.overall.total == 1 and res.excluded == 1
    assert actions(rated_floor)[-2:] == ["convenience.rating.appeal_upheld", "convenience.rating.appeal_rejected"]


def test_an_application_is_rated_by_its_applicant_once_decided(rated_floor: Flask) -> None:
    from app.convenience.rating import services
    from app.convenience.rating.models import Rating
    from app.core.errors import Conflict, NotFound
    from app.extensions import db

    who = people(rated_floor)
    number, token, app_id = decided_application(rated_floor, who["desk"], who["applicant"])
    waiting_number, waiting_token = open_application(rated_floor, who["applicant"])
    stranger = people(rated_floor)["applicant"]
    with rated_floor.app_context():
        with pytest.raises(NotFound):
            services.resolve("application", number, "wrong-token")
        with pytest.raises(NotFound):  # signed in, but not the applicant
            services.resolve("application", number, "", user(stranger))
        with pytest.raises(NotFound):  # anonymous without the token
            services.resolve("application", number, "")
        with pytest.raises(Conflict):
            services.rate(services.resolve("application", waiting_number, waiting_token), level="satisfied")
        db.session.rollback()
    rating_id = _rate(rated_floor, "application", number, "very_dissatisfied", actor=who["applicant"])
    with rated_floor.app_context():
        rating = db.session.get(Rating, rating_id)
        assert rating.subject_id == app_id and rating.staff_id == who["desk"] and rating.window_id is None
        assert rating.rated_by_id == who["applicant"] and rating.department
        assert rating.task is not None and rating.task.responsible_id == who["desk"]
        with pytest.raises(Conflict):
            services.rate(services.resolve("application", number, token), level="satisfied")
        db.session.rollback()


def test_results_per_window_staff_and_department_match_the_hand_count(rated_floor: Flask, clock: Any) -> None:
    """The fixture, counted by hand (levels VS S B D VD):
    window 01 (clerk A): VS VS S B D            → 5 ratings, 4 satisfied, 80%
    window 02 (clerk B): S VD D D, one D upheld  → 3 ratings, 1 satisfied, 33.33%
    application (desk A's colleague: the desk clerk), department of the item: B → 1 of 1, 100%
    one rating the day before the range (window 01, VD) is outside it."""
    from app.convenience.models import Ticket
    from app.convenience.rating import services
    from app.convenience.rating.models import Rating
    from app.extensions import db

    who = people(rated_floor)
    a = clerk(rated_floor, "clerka", "01")
    b = clerk(rated_floor, "clerkb", "02")
    clock.set(datetime(2026, 12, 6, 1, 0, tzinfo=UTC))  # Sunday: one rating the day before the range
    early = served_ticket(rated_floor, a, "01")
    _rate(rated_floor, "ticket", early, "very_dissatisfied")
    clock.set(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
    plan = {
        ("01", a): ["very_satisfied", "very_satisfied", "satisfied", "basic", "dissatisfied"],
        ("02", b): ["satisfied", "very_dissatisfied", "dissatisfied", "dissatisfied"],
    }
    ids: dict[str, list[int]] = {}
    for (number, clerk_id), levels in plan.items():
        for level in levels:
            ids.setdefault(number, []).append(
                _rate(rated_floor, "ticket", served_ticket(rated_floor, clerk_id, number), level)
            )
    app_number, _token, _ = decided_application(rated_floor, who["desk"], who["applicant"])
    _rate(rated_floor, "application", app_number, "basic", actor=who["applicant"])
    with rated_floor.app_context():
        appeal = services.file_appeal(actor=user(b), rating_id=ids["02"][3], reasons="该群众并未在本窗口办理业务")
        services.decide_appeal(actor=user(who["lead"]), appeal_id=appeal.id, uphold=True, note="核实属误评")
        db.session.commit()
        res = services.results(date(2026, 12, 7), date(2026, 12, 7))
        windows = {t.key: t for t in res.windows}
        assert set(windows) == {"01", "02"}
        assert windows["01"].counts == {
            "very_satisfied": 2,
            "satisfied": 1,
            "basic": 1,
            "dissatisfied": 1,
            "very_dissatisfied": 0,
        }
        assert (windows["01"].total, windows["01"].satisfied, windows["01"].rate) == (5, 4, 0.8)
        assert windows["02"].counts == {
            "very_satisfied": 0,
            "satisfied": 1,
            "basic": 0,
            "dissatisfied": 1,
            "very_dissatisfied": 1,
        }
        assert (windows["02"].total, windows["02"].satisfied, windows["02"].rate) == (3, 1, 0.3333)
        staff = {t.key: t for t in res.staff}
        assert staff[str(a)].total == 5 and staff[str(b)].total == 3 and staff[str(who["desk"])].counts["basic"] == 1
        assert staff[str(who["desk"])].rate == 1.0
        departments = {t.key: t for t in res.departments}
        ticket_dept = db.session.scalar(select(Ticket).where(Ticket.public_id == early)).service.department
        app_dept = db.session.scalar(select(Rating).where(Rating.subject_kind == "application")).department
        if ticket_dept != app_dept:
            assert departments[ticket_dept].total == 8 and departments[ticket_dept].satisfied == 5
            assert departments[app_dept].total == 1
        assert (res.overall.total, res.overall.satisfied, res.overall.rate, res.excluded) == (9, 6, 0.6667, 1)
        wider = services.results(date(2026, 12, 6), date(2026, 12, 7))
        assert wider.overall.total == 10 and {t.key: t for t in wider.windows}["01"].counts["very_dissatisfied"] == 1
        csv = services.results_csv(res)
        assert (
            "window,01," in csv
            and ",5,4,0.8000" in csv
            and ",3,1,0.3333" in csv
            and "all,all,,2,2,2,2,1,9,6,0.6667" in csv
        )


def test_results_refuse_a_bad_range(rated_floor: Flask) -> None:
    from app.convenience.rating import services
    from app.core.errors import ValidationFailed

    with rated_floor.app_context():
        for start, end in (
            (date(2026, 12, 7), date(2026, 12, 6)),
            (date(2024, 1, 1), date(2026, 1, 1)),
            ("x", None),
            (date(1, 1, 1), date(1, 8, 1)),
        ):
            with pytest.raises(ValidationFailed):
                services.results(start, end)
