"""The 8188890 platform on the home page: a provider's orders waiting for its acknowledgement (with the time
limit) and those it is working on; for the center, the orders escalated as unassigned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.convenience.household import services
from app.convenience.household.models import OrderStatus
from app.convenience.household.permissions import MANAGE, PROVIDE
from app.convenience.household.views import localized
from app.core.errors import PermissionDenied
from app.core.home import Item, Section, register_personal
from app.core.security import caller_has


def sections(user: Any, now: datetime) -> list[Section]:
    out: list[Section] = []
    if caller_has(PROVIDE):
        try:
            rows = services.orders_of(services.provider_of(user))
        except PermissionDenied:
            rows = []
        waiting = [
            Item(
                f"{o.reference} {localized(o.category.name, o.category.name_en)}",
                url_for("household.portal_order", reference=o.reference),
                at=o.ack_due_at,
                at_label=_l("Acknowledge by"),
            )
            for o in rows
            if o.status is OrderStatus.DISPATCHED
        ]
        out.append(Section("household-to-acknowledge", _l("Household orders to acknowledge"), waiting))
        working = [
            Item(
                f"{o.reference} {localized(o.category.name, o.category.name_en)}",
                url_for("household.portal_order", reference=o.reference),
            )
            for o in rows
            if o.status is OrderStatus.ACCEPTED
        ]
        out.append(Section("household-to-complete", _l("Household orders to complete"), working))
    if caller_has(MANAGE):
        unassigned = [
            Item(
                f"{o.reference} {localized(o.category.name, o.category.name_en)}",
                url_for("household.admin_order", reference=o.reference),
                at=o.escalated_at,
                at_label=_l("Escalated at"),
            )
            for o in services.list_orders(OrderStatus.UNASSIGNED.value)
        ]
        out.append(Section("household-unassigned", _l("Household orders waiting for a provider"), unassigned))
    return out


def init_app() -> None:
    register_personal("convenience.household", sections, order=56)
