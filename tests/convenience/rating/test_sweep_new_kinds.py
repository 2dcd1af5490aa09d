"""The invitation sweep for the two newer subjects: a 政民互动 request closed (办结, called back since or not) and an
8188890 household order a provider completed are invited once, three days after closing, unless rated; the
message's link is the matter's own tracking page, which offers the rating."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.convenience.household.helpers import act, order, provider
from tests.convenience.interaction.conftest import Cast, cast, user  # noqa: F401  (the 政民互动 cast fixture)
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
NONE = {"ticket": 0, "application": 0, "interaction": 0, "household": 0}


def _sweep(app: Flask) -> dict[str, int]:
    from app.convenience.rating.tasks import invite_unrated
    from app.extensions import db

    with app.app_context():
        result = invite_unrated()
        db.session.commit()
        return result


def _closed_request(app: Flask, who: Cast, **contact: str) -> tuple[str, str]:
    """A web request routed to ENV, replied by its handler and closed by the dispatcher; (reference, token)."""
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Channel
    from app.extensions import db

    with app.app_context():
        r = services.submit(
            channel=Channel.WEB, kind="complaint", category="environment", body="小区旁工地夜间施工噪声扰民", **contact
        ).request
        services.reply(actor=user(who.handler), reference=r.reference, text="已责令施工单位停止夜间施工。")
        services.close(actor=user(who.dispatcher), reference=r.reference)
        db.session.commit()
        return r.reference, r.tracking_token


def _completed_order(app: Flask, *, complete: bool = True) -> tuple[str, str]:
    from app.convenience.household import services

    reference, token = order(app)
    act(app, services.accept, actor="plumber", reference=reference)
    if complete:
        act(app, services.complete, actor="plumber", reference=reference, work_done="更换阀芯", price_fen=8000)
    return reference, token


def _rate(app: Flask, kind: str, reference: str, token: str) -> None:
    from app.convenience.rating import services
    from app.extensions import db

    with app.app_context():
        services.rate(services.resolve(kind, reference, token), level="satisfied")
        db.session.commit()


def _invitations(app: Flask) -> dict[str, Any]:
    """{reference: (kind, channel, recipient, body)} of every invitation and its outbox message."""
    from app.convenience.appointment_models import OutboxMessage
    from app.convenience.rating.models import Invitation
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(
            select(Invitation.reference, Invitation.subject_kind, OutboxMessage)
            .join(OutboxMessage, OutboxMessage.id == Invitation.message_id)
            .order_by(Invitation.id)
        ).all()
        assert all(m.kind == "rating_invitation" for _r, _k, m in rows)
        return {r: (k.value, m.channel.value, m.recipient, m.body) for r, k, m in rows}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_closed_requests_and_completed_orders_are_invited_once_after_the_delay(
    app: Flask,
    cast: Cast,  # noqa: F811
    clock: Any,
) -> None:
    from app.convenience.interaction import services as interaction
    from app.extensions import db

    provider(app, "邯郸市甲水电维修有限公司", account="plumber")
    asked, asked_token = _closed_request(app, cast, phone="13800138000")
    called, _t = _closed_request(app, cast, phone="13800138001")
    rated, rated_token = _closed_request(app, cast, phone="13800138002")
    _rate(app, "interaction", rated, rated_token)
    with app.app_context():  # 回访 after 办结: still closed, still to be invited
        interaction.call_back(actor=user(cast.operator), reference=called, reached=True, satisfied=True)
        db.session.commit()
    done, done_token = _completed_order(app)
    rated_order, rated_order_token = _completed_order(app)
    _rate(app, "household", rated_order, rated_order_token)
    _completed_order(app, complete=False)  # accepted, never completed: never invited

    clock.advance(timedelta(days=2, hours=23))
    assert _sweep(app) == NONE  # not three days yet
    clock.advance(timedelta(hours=2))
    late, _t = _closed_request(app, cast, phone="13800138003")  # closed just now: not yet
    assert _sweep(app) == {**NONE, "interaction": 2, "household": 1}
    assert _sweep(app) == NONE  # idempotent
    invited = _invitations(app)
    assert set(invited) == {asked, called, done}
    kind, channel, recipient, body = invited[asked]
    assert (kind, channel, recipient) == ("interaction", "outbox", "13800138000") and asked in body
    assert body.endswith(f"/convenience/interaction/track/{asked}/{asked_token}")
    kind, channel, recipient, body = invited[done]
    assert (kind, channel, recipient) == ("household", "outbox", "13912345678") and done in body
    assert body.endswith(f"/convenience/household/track/{done}/{done_token}")

    client = app.test_client()  # the citizen follows each link: the tracking page with its rating form
    for reference in (asked, done):
        page = client.get(invited[reference][3].rsplit("：", 1)[-1], headers=ZH)
        assert page.status_code == 200 and parse(page.data).has("rate-form")
        assert reference in page.get_data(as_text=True)

    clock.advance(timedelta(days=3, minutes=1))
    assert _sweep(app) == {**NONE, "interaction": 1}  # the one closed later, once
    assert late in _invitations(app)
    assert _sweep(app) == NONE
    with app.app_context():
        from app.audit.models import AuditEntry

        logged = list(
            db.session.scalars(select(AuditEntry.data).where(AuditEntry.action == "convenience.rating.invited"))
        )
    assert sorted(d["kind"] for d in logged) == ["household", "interaction", "interaction", "interaction"]


def test_the_address_given_with_the_matter_is_used_and_none_means_the_page(
    app: Flask,
    cast: Cast,  # noqa: F811
    clock: Any,
) -> None:
    provider(app, "邯郸市甲水电维修有限公司", account="plumber")
    mailed, _t = _closed_request(app, cast, email="citizen@example.com")
    done, _t = _completed_order(app)  # a phone only: nothing for an e-mail adapter
    clock.advance(timedelta(days=3, minutes=1))
    app.config["CONVENIENCE_NOTIFIER"] = "email"
    assert _sweep(app) == {**NONE, "interaction": 1, "household": 1}
    invited = _invitations(app)
    assert invited[mailed][1:3] == ("email", "citizen@example.com")
    assert invited[done][1:3] == ("page", done)  # the order itself: only its own page shows it


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_two_sweeps_at_once_invite_each_request_and_order_once(
    app: Flask,
    db_backend: str,
    cast: Cast,  # noqa: F811
    clock: Any,
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from app.convenience.rating.services import invite_unrated
    from app.extensions import db

    provider(app, "邯郸市甲水电维修有限公司", account="plumber")
    for n in range(3):
        _closed_request(app, cast, phone=f"1380013800{n}")
        _completed_order(app)
    clock.advance(timedelta(days=3, minutes=1))
    barrier = threading.Barrier(2)

    def sweep(_: int) -> dict[str, int]:
        with app.app_context():
            barrier.wait()
            result = invite_unrated()
            db.session.commit()
            return result

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(sweep, range(2)))
    assert sum(r["interaction"] for r in results) == 3 and sum(r["household"] for r in results) == 3
    assert len(_invitations(app)) == 6
