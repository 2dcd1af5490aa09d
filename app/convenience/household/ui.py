"""The labels and colours of the platform's states in pages (registered in app/core/ui.py's STATUSES)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.ui import BLUE, GREEN, GREY, ORANGE, RED, STATUSES, YELLOW, StatusInfo

HOUSEHOLD_STATUSES: dict[str, dict[str, StatusInfo]] = {
    "household_order": {  # app.convenience.household.models.OrderStatus
        "dispatched": StatusInfo(_l("Sent to a provider, awaiting acknowledgement"), YELLOW),
        "accepted": StatusInfo(_l("Accepted by the provider"), BLUE),
        "completed": StatusInfo(_l("Service completed"), GREEN),
        "unassigned": StatusInfo(_l("Unassigned: with the center"), RED),
    },
    "household_provider": {  # app.convenience.household.models.ProviderStatus
        "active": StatusInfo(_l("Active: receives orders"), GREEN),
        "suspended": StatusInfo(_l("Suspended from dispatch"), ORANGE),
        "withdrawn": StatusInfo(_l("Left the platform"), GREY),
    },
    "household_dispatch": {  # app.convenience.household.models.DispatchOutcome
        "pending": StatusInfo(_l("Awaiting acknowledgement"), YELLOW),
        "accepted": StatusInfo(_l("Accepted the order"), GREEN),
        "declined": StatusInfo(_l("Declined"), ORANGE),
        "timed_out": StatusInfo(_l("Not acknowledged in time"), RED),
        "withdrawn": StatusInfo(_l("Withdrawn: the provider was suspended"), GREY),
    },
}


def init_app() -> None:
    for kind, values in HOUSEHOLD_STATUSES.items():
        STATUSES.setdefault(kind, values)
