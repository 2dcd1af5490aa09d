"""Helpers of the 8188890 platform's tests: providers, their portal accounts, orders, counting rows."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.factories import user as make_user

CONGTAI, HANSHAN, FENGFENG = "130403", "130402", "130406"
PLUMBING, CLEANING = "HS02", "HS01"
_serial = iter(range(1, 10_000))


def uscc(n: int) -> str:
    from app.accounts.uscc import make_uscc

    return make_uscc("9", "1", "130400", f"MA1T{n:04d}")


def provider(
    app: Flask,
    name: str,
    *,
    categories: tuple[str, ...] = (PLUMBING,),
    districts: tuple[str, ...] = (CONGTAI,),
    account: str | None = None,
) -> int:
    """A provider registered (and committed); with `account`, a household_provider user as its portal account."""
    from app.convenience.household import services
    from app.extensions import db

    account_id = make_user(app, account, roles=["household_provider"])[0] if account else None
    with app.app_context():
        row = services.register_provider(
            actor="system:test",
            name=name,
            uscc=uscc(next(_serial)),
            contact_name="联系人",
            contact_phone="13800000000",
            categories=list(categories),
            districts=list(districts),
            account_id=account_id,
        )
        db.session.commit()
        return int(row.id)


def order_args(**kw: Any) -> dict[str, Any]:
    base = {
        "category": PLUMBING,
        "district": CONGTAI,
        "address": "丛台区人民路 1 号",
        "preferred_time": "周六上午",
        "description": "水龙头漏水",
        "contact_name": "张先生",
        "contact_phone": "13912345678",
    }
    return {**base, **kw}


def order(app: Flask, **kw: Any) -> tuple[str, str]:
    """An order requested by a citizen (and dispatched); returns (reference, token)."""
    from app.convenience.household import services
    from app.extensions import db

    with app.app_context():
        row = services.request_order(actor=None, **order_args(**kw))
        db.session.commit()
        return row.reference, row.token


def state(app: Flask, reference: str) -> tuple[str, int | None, list[tuple[int, str]]]:
    """(status, provider id, [(provider id, outcome) of each dispatch])."""
    from app.convenience.household import services

    with app.app_context():
        row = services.get_order(reference)
        return row.status.value, row.provider_id, [(d.provider_id, d.outcome.value) for d in row.dispatches]


def as_user(app: Flask, username: str) -> Any:
    from app.accounts.models import User
    from app.extensions import db

    return db.session.scalar(select(User).where(User.username == username))


def act(app: Flask, fn: Any, **kw: Any) -> Any:
    """Run a service with `actor` given by username (or a string actor) and commit."""
    from app.extensions import db

    with app.app_context():
        actor = kw.pop("actor")
        result = fn(actor=as_user(app, actor) if not actor.startswith("system:") else actor, **kw)
        db.session.commit()
        return result


def count(app: Flask, model: Any, *where: Any) -> int:
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def actions(app: Flask, prefix: str = "convenience.household.") -> list[str]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.index)
            )
        )
