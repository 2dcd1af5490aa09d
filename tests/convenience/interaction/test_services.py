"""政民互动 services: routing, due instants on the working-day calendar (weekend, National Day, the calendar's
end), the closed loop and its refused transitions, the idempotent overdue sweep, nothing stored on bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.errors import Conflict, NotFound, ValidationFailed
from tests.convenience.interaction.conftest import Cast, user


def _count(model: Any) -> int:
    from app.extensions import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _actions(prefix: str = "convenience.interaction.") -> list[str]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    return list(
        db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.index)
        )
    )


def _submit(**kw: Any) -> Any:
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Channel

    args: dict[str, Any] = {
        "channel": Channel.WEB,
        "kind": "consultation",
        "category": "other",
        "body": "办理居住证需要哪些材料？",
        "phone": "13800138000",
    }
    args.update(kw)
    return services.submit(**args).request


def _center(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h - 8, 0, tzinfo=UTC)  # Asia/Shanghai is UTC+8


@pytest.mark.parametrize(
    ("received", "kind", "urgent", "due"),
    [
        (_center(2026, 12, 4), "consultation", False, date(2026, 12, 7)),  # Friday → Monday (the weekend skipped)
        (_center(2026, 12, 4), "help", False, date(2026, 12, 11)),  # 5 working days from Friday
        (_center(2026, 9, 30), "consultation", False, date(2026, 10, 8)),  # National Day: 1–7 October off
        (_center(2026, 9, 30), "complaint", False, date(2026, 10, 20)),  # 10 working days, Saturday 10-10 worked
        (_center(2026, 12, 5), "complaint", True, date(2026, 12, 5)),  # urgent: the same day, even a Saturday
    ],
)
def test_due_instants_on_the_calendar(
    app: Flask, cast: Cast, clock: Any, received: datetime, kind: str, urgent: bool, due: date
) -> None:
    clock.set(received)
    with app.app_context():
        r = _submit(kind=kind, urgent=urgent)
        assert r.due_on == due
        # The instant is the end of the due day in the center's zone (midnight after it, 16:00 UTC of the day).
        assert r.due_at == datetime(due.year, due.month, due.day, 16, 0, tzinfo=UTC)


def test_limits_come_from_the_settings(app: Flask, cast: Cast, clock: Any) -> None:
    clock.set(_center(2026, 12, 4))
    app.config["INTERACTION_LIMIT_DAYS"] = {"consultation": 3}
    with app.app_context():
        assert _submit().due_on == date(2026, 12, 9)  # Friday + 3 working days
        assert _submit(kind="complaint").due_on == date(2026, 12, 18)  # the default 10 for what is not set


def test_due_unknown_past_the_calendar(app: Flask, cast: Cast, clock: Any) -> None:
    clock.set(_center(2026, 12, 28))
    with app.app_context():
        r = _submit(kind="complaint")
        assert r.due_on is None and r.due_at is None  # 2027 is not loaded: nothing guessed from weekdays
        assert r.reference.startswith("HD20261228-")


def test_routing_first_match_by_priority_and_fallback(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction.models import Status

    with app.app_context():
        env = _submit(kind="complaint", category="environment", body="楼下饭店油烟扰民，拖欠工资的事也想问")
        assert env.department.code == "ENV" and env.status is Status.DISPATCHED  # priority 10 beats 20
        assert env.routing_rule_id == cast.rule_id
        wages = _submit(kind="complaint", category="labour", body="公司拖欠工资三个月")
        assert wages.department.code == "HRS"
        asked = _submit(kind="consultation", category="labour", body="拖欠工资怎么申请仲裁？")
        assert asked.department is None and asked.status is Status.RECEIVED  # the keyword rule is for complaints
        assert _actions() == [
            "convenience.interaction.received",
            "convenience.interaction.dispatched",
            "convenience.interaction.received",
            "convenience.interaction.dispatched",
            "convenience.interaction.received",
        ]


def test_template_filled_from_the_request(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction import services

    with app.app_context():
        r = _submit(category="environment", name="张三")
        text = services.fill_template(r)
        assert "张三您好" in text and r.reference in text and "环境卫生" in text and "市生态环境局" in text
        assert services.fill_template(r, "{reference} {unknown} {") == "{reference} {unknown} {"  # a stray brace
        assert services.fill_template(r, "编号{reference}，{nothing}") == f"编号{r.reference}，{{nothing}}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "praise"}, "kind"),
        ({"category": "nope"}, "category"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": "坏\x00字符"}, "body"),
        ({"phone": "", "email": ""}, "phone"),  # the web form needs a way to answer
        ({"phone": "call me"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"lat": 38.0}, "long"),
        ({"lat": 91.0, "long": 114.0}, "lat"),
        ({"urgent": "yes"}, "urgent"),
    ],
)
def test_bad_input_stores_nothing(app: Flask, cast: Cast, change: dict[str, Any], field: str) -> None:
    from app.audit.models import AuditEntry
    from app.convenience.interaction.models import InteractionRequest

    with app.app_context():
        before = _count(AuditEntry)
        with pytest.raises(ValidationFailed) as caught:
            _submit(**change)
        assert field in caught.value.extra["errors"]
        assert _count(InteractionRequest) == 0 and _count(AuditEntry) == before


def test_hotline_and_email_need_their_contact(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction.models import Channel

    with app.app_context():
        with pytest.raises(ValidationFailed):
            _submit(channel=Channel.HOTLINE, phone="", actor=user(cast.operator))
        with pytest.raises(ValidationFailed):
            _submit(channel=Channel.EMAIL, phone="", email="", external_id="<a@b>", actor=user(cast.operator))


def test_forum_post_taken_once(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Channel, InteractionRequest

    with app.app_context():
        post = {"channel": Channel.FORUM, "kind": "suggestion", "category": "traffic", "body": "建议增开3路夜班车"}
        first = services.submit(external_id="t-1001", actor=user(cast.operator), **post)
        again = services.submit(external_id="t-1001", actor=user(cast.operator), **post)
        assert first.created and not again.created and again.request.id == first.request.id
        assert _count(InteractionRequest) == 1
        email = services.submit(
            channel=Channel.EMAIL,
            kind="suggestion",
            category="traffic",
            body="同上",
            email="a@example.com",
            external_id="t-1001",
            actor=user(cast.operator),
        )
        assert email.created  # the same id on another channel is another message


def test_the_loop_and_wrong_transitions(app: Flask, cast: Cast, clock: Any) -> None:
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Status
    from app.extensions import db

    with app.app_context():
        r = _submit(kind="complaint", category="other", body="窗口人员态度恶劣", name="李四")
        ref = r.reference
        assert r.status is Status.RECEIVED
        dispatcher, handler, other = user(cast.dispatcher), user(cast.handler), user(cast.other_handler)
        with pytest.raises(Conflict):
            services.close(actor=dispatcher, reference=ref)  # not replied
        with pytest.raises(Conflict):
            services.call_back(actor=user(cast.operator), reference=ref, reached=True)  # not closed
        with pytest.raises(Conflict):
            services.press(actor=dispatcher, reference=ref, note="请尽快", reopen=True)  # nothing to send back
        services.dispatch(actor=dispatcher, reference=ref, department="HRS")
        services.dispatch(actor=dispatcher, reference=ref, department="ENV")  # reassigned
        with pytest.raises(Conflict):
            services.dispatch(actor=dispatcher, reference=ref, department="ENV")
        with pytest.raises(ValidationFailed):
            services.dispatch(actor=dispatcher, reference=ref, department="NOPE")
        with pytest.raises(NotFound):
            services.take_up(actor=other, reference=ref)  # another department's request
        services.take_up(actor=handler, reference=ref)
        with pytest.raises(Conflict):
            services.take_up(actor=handler, reference=ref)
        services.press(actor=dispatcher, reference=ref, note="群众反映强烈，请加快办理")
        with pytest.raises(ValidationFailed):
            services.reply(actor=handler, reference=ref, text="好")
        services.reply(actor=handler, reference=ref, text=services.fill_template(r).replace("【请填写】", "已约谈"))
        with pytest.raises(Conflict):
            services.dispatch(actor=dispatcher, reference=ref, department="HRS")  # replied already
        services.press(actor=dispatcher, reference=ref, note="答复过于简单，请补充整改措施", reopen=True)
        assert r.status is Status.HANDLING
        services.reply(actor=handler, reference=ref, text="已约谈当事人并通报批评，窗口加强作风建设。")
        services.close(actor=dispatcher, reference=ref)
        with pytest.raises(Conflict):
            services.press(actor=dispatcher, reference=ref, note="再催")
        with pytest.raises(Conflict):
            services.reply(actor=handler, reference=ref, text="再答复一次")
        services.call_back(actor=user(cast.operator), reference=ref, reached=False, satisfied=True)
        assert r.status is Status.CLOSED and r.callbacks[0].satisfied is None  # not reached: no opinion stored
        services.call_back(actor=user(cast.operator), reference=ref, reached=True, satisfied=True, note="满意")
        assert r.status is Status.CALLED_BACK and r.open311_status == "closed"
        with pytest.raises(Conflict):
            services.call_back(actor=user(cast.operator), reference=ref, reached=True)
        db.session.commit()
        assert _actions() == [
            "convenience.interaction.received",
            "convenience.interaction.dispatched",
            "convenience.interaction.reassigned",
            "convenience.interaction.handling",
            "convenience.interaction.pressed",
            "convenience.interaction.replied",
            "convenience.interaction.pressed",
            "convenience.interaction.replied",
            "convenience.interaction.closed",
            "convenience.interaction.called_back",
            "convenience.interaction.called_back",
        ]


def test_overdue_sweep_is_idempotent_and_logs_once(app: Flask, cast: Cast, clock: Any) -> None:
    from app.convenience.interaction import services, tasks
    from app.convenience.interaction.models import InteractionRequest
    from app.extensions import db

    clock.set(_center(2026, 12, 4))  # Friday
    with app.app_context():
        asked = _submit()  # consultation: due Monday 12-07
        replied = _submit()
        services.dispatch(actor=user(cast.dispatcher), reference=replied.reference, department="ENV")
        services.reply(actor=user(cast.handler), reference=replied.reference, text="所需材料见办事指南。")
        db.session.commit()
        asked_ref = asked.reference
    clock.set(_center(2026, 12, 7, 23))  # Monday 23:00: still in time
    with app.app_context():
        assert tasks.mark_overdue() == {"overdue": 0}
        db.session.commit()
    clock.set(_center(2026, 12, 8, 9))  # Tuesday 09:00 (the due instant was Tuesday 00:00)
    with app.app_context():
        assert tasks.mark_overdue() == {"overdue": 1}
        db.session.commit()
        assert tasks.mark_overdue() == {"overdue": 0}
        db.session.commit()
        assert _actions("convenience.interaction.overdue") == ["convenience.interaction.overdue"]
        found = db.session.scalar(select(InteractionRequest).where(InteractionRequest.reference == asked_ref))
        assert found is not None and found.is_overdue
        assert services.open_requests()[0].reference == asked_ref  # the dispatcher sees overdue first


def test_tracking_needs_the_token(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction import services

    with app.app_context():
        r = _submit()
        assert services.tracked(r.reference, r.tracking_token) is r
        for ref, tok in (
            (r.reference, "wrong"),
            (r.reference, "中文令牌"),
            ("HD20261207-AAAAAA", r.tracking_token),
            ("x", None),
        ):
            with pytest.raises(NotFound):
                services.tracked(ref, tok)


def test_rating_through_good_and_bad_reviews(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction import services
    from app.convenience.rating import services as rating

    with app.app_context():
        r = _submit(category="environment")
        with pytest.raises(Conflict):
            rating.rate(services.rating_subject(r), level="satisfied")  # not closed yet
        services.reply(actor=user(cast.handler), reference=r.reference, text="已责令整改。")
        services.close(actor=user(cast.dispatcher), reference=r.reference)
        subject = rating.resolve("interaction", r.reference, r.tracking_token)
        given = rating.rate(subject, level="dissatisfied", comment="处理太慢")
        assert given.department == "市生态环境局" and given.staff_id == cast.handler
        assert given.task is not None  # a bad rating opens a rectification task for the replier
        with pytest.raises(NotFound):
            rating.resolve("interaction", r.reference, "wrong-token")
        assert services.rating_of(r) is given


def test_supervision_reads_the_overdue_event_from_the_log(app: Flask, cast: Cast, clock: Any) -> None:
    """No import of supervision in the floor: its ingest reads `convenience.interaction.overdue` from the evidence
    log and fires the red event rule seeded for it."""
    from app.convenience.interaction import services
    from app.extensions import db
    from app.supervision.ingest import ingest
    from app.supervision.models import Light, Signal

    clock.set(_center(2026, 12, 4))
    with app.app_context():
        ref = _submit().reference
        db.session.commit()
    clock.set(_center(2026, 12, 9))
    with app.app_context():
        services.mark_overdue()
        ingest()
        db.session.commit()
        signals = list(db.session.scalars(select(Signal).where(Signal.kind == "convenience.interaction.overdue")))
        assert [(s.subject, s.colour, s.floor.value) for s in signals] == [
            (f"convenience.interaction:{ref}", Light.RED, "convenience")
        ]
