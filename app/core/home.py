"""What the home page lists: the floors register what is public (open for bids, opening today, results) and what
needs the caller's action now, for their roles. The queries live in each floor's `home.py`; the page only shows
the sections this module gathers (no queries in templates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from app.core.time import now_utc


@dataclass(frozen=True)
class Item:
    """One line: what (a tender's title), where to go, and an optional note and instant (shown in the center's zone)."""

    title: str
    href: str
    note: Any = ""  # a translated (lazy) string, or plain text
    at: datetime | None = None
    at_label: Any = ""  # what the instant is: "Deadline", "Opens at"…
    reference: str | None = None


@dataclass(frozen=True)
class Section:
    key: str  # stable, for tests and anchors: "open-for-bids", "agency-drafts"…
    heading: Any  # a lazy string
    items: list[Item] = field(default_factory=list)
    empty: Any = ""  # shown when there is nothing (public sections); personal sections without items are left out


PublicProvider = Callable[[datetime], list[Section]]
PersonalProvider = Callable[[Any, datetime], list[Section]]

_public: list[tuple[str, int, PublicProvider]] = []
_personal: list[tuple[str, int, PersonalProvider]] = []


def register_public(name: str, fn: PublicProvider, order: int = 100) -> None:
    """A floor's public sections of the home page (idempotent by name)."""
    if all(n != name for n, _o, _f in _public):
        _public.append((name, order, fn))
        _public.sort(key=lambda row: (row[1], row[0]))


def register_personal(name: str, fn: PersonalProvider, order: int = 100) -> None:
    """A floor's "needs your action" sections for a signed-in caller; the function checks the caller's permissions."""
    if all(n != name for n, _o, _f in _personal):
        _personal.append((name, order, fn))
        _personal.sort(key=lambda row: (row[1], row[0]))


def today(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Today in the center's zone, as [start, end) instants."""
    zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
    local = (now or now_utc()).astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def public_sections(now: datetime | None = None) -> list[Section]:
    at = now or now_utc()
    return [section for _n, _o, fn in _public for section in fn(at)]


def my_sections(user: Any, now: datetime | None = None) -> list[Section]:
    """The caller's to-do list, by role; sections with nothing in them are left out."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    at = now or now_utc()
    return [section for _n, _o, fn in _personal for section in fn(user, at) if section.items]
