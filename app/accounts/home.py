"""The accounts floor on the home page: for administrators, the active accounts whose role needs two-step
verification that have not set it up yet (they cannot work until they do)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import Role, User
from app.accounts.permissions import ACCOUNTS_ADMIN
from app.core.db import db
from app.core.home import Item, Section, register_personal
from app.core.security import caller_has

LIMIT = 10


def admin_sections(user: Any, now: datetime) -> list[Section]:
    del user, now
    if not caller_has(ACCOUNTS_ADMIN):
        return []
    users = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.totp_enabled.is_(False), User.roles.any(Role.requires_totp.is_(True)))
        .order_by(User.id)
        .limit(LIMIT)
    )
    return [
        Section(
            "admin-totp",
            _l("Accounts without two-step verification"),
            [
                Item(
                    u.display_name,
                    url_for("accounts.admin_user", user_id=u.id),
                    note=_l("Their role needs a TOTP code at sign-in."),
                    reference=u.username,
                )
                for u in users
            ],
        )
    ]


def init_app() -> None:
    register_personal("accounts.admin", admin_sections, order=70)
