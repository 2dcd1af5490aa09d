"""Public tender search: the query string read into a checked SearchQuery, and the indexed query it runs.

Keywords match title, reference and buyer name with the codebase's LIKE pattern (app.core.db.like_pattern, as the
permits catalogue search does); each word must match. Dates are calendar days in the center's zone; amounts are
typed in 元 and compared in 分. A secret budget is neither filtered nor sorted on before the opening is done, so a
search cannot bracket it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import contains_eager, load_only

from app.accounts.models import Organisation
from app.core.db import LIKE_ESCAPE, db, like_pattern
from app.core.errors import DomainError
from app.core.problems import N_
from app.core.time import now_utc
from app.publication.portal.models import BuyerRegion
from app.tendering.models import Tender, TenderStatus
from app.tendering.services_tenders import PUBLIC_STATUSES

# Statuses a visitor may pick: the public ones, and "open" (published, deadline not reached: derived).
OPEN = "open"
STATUS_CHOICES = (OPEN, *(s.value for s in PUBLIC_STATUSES))
# Where every envelope is decrypted (or the tender failed at the opening): a secret budget is public from here on,
# as in the OCDS releases and the opening record.
BUDGET_PUBLIC_STATUSES = (TenderStatus.OPENED, TenderStatus.FAILED, TenderStatus.AWARDED)
# The law's kinds of procurement; "works" also finds tenders typed "construction".
CATEGORY_CHOICES = ("works", "goods", "services")
_CATEGORY_CODES = {"works": ("works", "construction"), "goods": ("goods",), "services": ("services",)}
SORTS = ("published_desc", "published_asc", "deadline_asc", "deadline_desc", "budget_desc", "budget_asc")
PER_PAGE_CHOICES = (10, 20, 50)
MAX_PAGE = 10_000
MAX_TEXT = 200
MAX_WORDS = 8
MAX_YUAN = Decimal(10) ** 13  # a budget of ten trillion yuan is beyond any tender
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"[0-9]{1,14}(\.[0-9]{1,2})?")
_NUMBER = re.compile(r"[0-9]{1,6}")
YEARS = (1900, 2999)  # a day outside cannot be a tender's, and 9999-12-31 + 1 day cannot be computed
TEXT_FIELDS = ("q", "buyer", "region", "category", "status", "sort")
DATE_FIELDS = ("published_from", "published_to", "deadline_from", "deadline_to")
AMOUNT_FIELDS = ("budget_min", "budget_max")


# Each parameter's name as the search form labels it: an error names the field in the reader's language.
LABELS: dict[str, Any] = {
    "q": _l("Keywords"),
    "buyer": _l("Buyer"),
    "region": _l("Region"),
    "category": _l("Category"),
    "status": _l("Status"),
    "sort": _l("Sort by"),
    "published_from": _l("Published from"),
    "published_to": _l("Published until"),
    "deadline_from": _l("Deadline from"),
    "deadline_to": _l("Deadline until"),
    "budget_min": _l("Budget from (yuan)"),
    "budget_max": _l("Budget up to (yuan)"),
    "page": _l("Page"),
    "per_page": _l("Results per page"),
}
RANGES = {"published_from": _l("Publication date"), "deadline_from": _l("Submission deadline")}


class BadQuery(DomainError):
    """A search parameter that cannot be read: a 400 page (or problem JSON) naming what to correct."""

    status = 400


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    buyer: str = ""
    region: str = ""
    category: str = ""
    status: str = ""
    published_from: date | None = None
    published_to: date | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    budget_min: int | None = None  # 分
    budget_max: int | None = None  # 分
    sort: str = "published_desc"
    page: int = 1
    per_page: int = 20
    words: tuple[str, ...] = field(default=(), compare=False)

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query string for this search (with `changes`), without defaults: for page and sort links."""
        out: dict[str, Any] = {}
        for name in (*TEXT_FIELDS, *DATE_FIELDS):
            value = getattr(self, name)
            if value:
                out[name] = value.isoformat() if isinstance(value, date) else value
        for name in AMOUNT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = yuan_text(value)
        if self.sort == "published_desc":
            out.pop("sort", None)
        if self.per_page != 20:
            out["per_page"] = self.per_page
        if self.page != 1:
            out["page"] = self.page
        out.update(changes)
        return {k: v for k, v in out.items() if v not in (None, "") and not (k == "page" and v == 1)}

    @property
    def is_filtered(self) -> bool:
        return self.args(page=1, sort=None, per_page=None) != {}


def yuan_text(fen: int) -> str:
    """分 → the 元 a visitor typed: 150000000 → '1500000', 150000050 → '1500000.50'."""
    yuan, cents = divmod(fen, 100)
    return f"{yuan}" if cents == 0 else f"{yuan}.{cents:02d}"


def _text(raw: Any, name: str) -> str:
    value = raw.strip() if isinstance(raw, str) else ""
    if len(value) > MAX_TEXT or any(not c.isprintable() for c in value):
        raise BadQuery(
            N_("The search field %(field)s is too long or holds control characters: at most %(limit)s characters."),
            params={"field": LABELS[name], "limit": MAX_TEXT},
        )
    return value


def _date(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        if _DATE.fullmatch(raw) is None:
            raise ValueError(raw)
        day = date.fromisoformat(raw)
        if not YEARS[0] <= day.year <= YEARS[1]:
            raise ValueError(raw)
        return day
    except ValueError:
        raise BadQuery(
            N_("The date %(field)s is not a day of the calendar: write it YYYY-MM-DD, e.g. 2026-12-07."),
            params={"field": LABELS[name]},
        ) from None


def _fen(raw: str, name: str) -> int | None:
    if not raw:
        return None
    text = raw.replace(",", "").replace("，", "")
    try:
        if _AMOUNT.fullmatch(text) is None:
            raise InvalidOperation(text)
        yuan = Decimal(text)
    except InvalidOperation:
        yuan = MAX_YUAN + 1
    if yuan > MAX_YUAN:
        raise BadQuery(
            N_("The amount %(field)s is written in yuan as a number with at most two decimals, e.g. 1500000.50."),
            params={"field": LABELS[name]},
        )
    return int(yuan * 100)


def _choice(value: str, choices: tuple[str, ...], name: str) -> str:
    if value and value not in choices:
        raise BadQuery(N_("The search field %(field)s has no such choice."), params={"field": LABELS[name]})
    return value


def _int(raw: Any, name: str, default: int, high: int) -> int:
    if raw in (None, ""):
        return default
    text = raw.strip() if isinstance(raw, str) else ""
    if _NUMBER.fullmatch(text) is None or not 1 <= int(text) <= high:
        raise BadQuery(
            N_("The search field %(field)s is a whole number from 1 to %(limit)s."),
            params={"field": LABELS[name], "limit": high},
        )
    return int(text)


def parse_query(args: Any) -> SearchQuery:
    """Read the search parameters from a query string (a MultiDict); unknown ones are ignored. Raises BadQuery."""
    values = {name: _text(args.get(name, ""), name) for name in (*TEXT_FIELDS, *DATE_FIELDS, *AMOUNT_FIELDS)}
    q = " ".join(values["q"].split())
    words = tuple(dict.fromkeys(q.lower().split()))
    if len(words) > MAX_WORDS:
        raise BadQuery(N_("Search with at most %(limit)s words."), params={"limit": MAX_WORDS})
    dates = {name: _date(values[name], name) for name in DATE_FIELDS}
    amounts = {name: _fen(values[name], name) for name in AMOUNT_FIELDS}
    for low, high in (("published_from", "published_to"), ("deadline_from", "deadline_to")):
        if dates[low] and dates[high] and dates[low] > dates[high]:  # type: ignore[operator]
            raise BadQuery(N_("%(field)s: the first day is after the last day."), params={"field": RANGES[low]})
    low_fen, high_fen = amounts["budget_min"], amounts["budget_max"]
    if low_fen is not None and high_fen is not None and low_fen > high_fen:
        raise BadQuery(N_("The lowest budget is above the highest budget."))
    per_page = _int(args.get("per_page"), "per_page", 20, max(PER_PAGE_CHOICES))
    if per_page not in PER_PAGE_CHOICES:
        raise BadQuery(N_("The search field %(field)s has no such choice."), params={"field": LABELS["per_page"]})
    return SearchQuery(
        q=q,
        buyer=values["buyer"],
        region=values["region"],
        category=_choice(values["category"], CATEGORY_CHOICES, "category"),
        status=_choice(values["status"], STATUS_CHOICES, "status"),
        sort=_choice(values["sort"], SORTS, "sort") or "published_desc",
        page=_int(args.get("page"), "page", 1, MAX_PAGE),
        per_page=per_page,
        words=words,
        **dates,  # type: ignore[arg-type]
        **amounts,  # type: ignore[arg-type]
    )


def _day_start(day: date) -> datetime:
    """The first instant of a calendar day in the center's zone (as an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(str(current_app.config["CENTER_TIMEZONE"])))


def _budget_public() -> Any:
    return or_(Tender.budget_secret.is_(False), Tender.status.in_(BUDGET_PUBLIC_STATUSES))


def visible_budget() -> Any:
    """The budget in 分 where the public may see it, else NULL."""
    return case((_budget_public(), Tender.budget_amount), else_=None)


def _contains(column: Any, word: str) -> Any:
    """`column` holds `word` (already lowercased). A word without letters of two cases (Chinese, digits) is matched
    as it is: lower() on every row costs a third of a keyword search on PostgreSQL and changes nothing for it."""
    pattern = like_pattern(word)
    if word.upper() == word:
        return column.like(pattern, escape=LIKE_ESCAPE)
    return func.lower(column).like(pattern, escape=LIKE_ESCAPE)


def _buyers_named(word: str) -> Any:
    """The buyers whose name holds `word`: a subquery on the organisations, evaluated once, not per tender."""
    return Tender.buyer_id.in_(select(Organisation.id).where(_contains(Organisation.name, word)))


def _conditions(query: SearchQuery) -> list[Any]:
    conds: list[Any] = [Tender.status.in_(PUBLIC_STATUSES), Tender.published_at.is_not(None)]
    for word in query.words:
        conds.append(or_(_contains(Tender.title, word), _contains(Tender.reference, word), _buyers_named(word)))
    if query.buyer:
        conds.append(_buyers_named(query.buyer.lower()))
    if query.region:
        regions = select(BuyerRegion.organisation_id).where(
            BuyerRegion.region.like(like_pattern(query.region, prefix=True), escape=LIKE_ESCAPE)
        )
        conds.append(Tender.buyer_id.in_(regions))
    if query.category:
        conds.append(func.lower(Tender.category).in_(_CATEGORY_CODES[query.category]))
    if query.status == OPEN:
        conds.append(and_(Tender.status == TenderStatus.PUBLISHED, Tender.submission_deadline_at > now_utc()))
    elif query.status:
        conds.append(Tender.status == TenderStatus(query.status))
    for column, low, high in (
        (Tender.published_at, query.published_from, query.published_to),
        (Tender.submission_deadline_at, query.deadline_from, query.deadline_to),
    ):
        if low is not None:
            conds.append(column >= _day_start(low))
        if high is not None:
            conds.append(column < _day_start(high + timedelta(days=1)))
    if query.budget_min is not None or query.budget_max is not None:
        conds.append(_budget_public())
        if query.budget_min is not None:
            conds.append(Tender.budget_amount >= query.budget_min)
        if query.budget_max is not None:
            conds.append(Tender.budget_amount <= query.budget_max)
    return conds


def _order(sort: str) -> list[Any]:
    budget = visible_budget()
    orders: dict[str, list[Any]] = {
        "published_desc": [Tender.published_at.desc(), Tender.id.desc()],
        "published_asc": [Tender.published_at.asc(), Tender.id.asc()],
        "deadline_asc": [Tender.submission_deadline_at.asc(), Tender.id.asc()],
        "deadline_desc": [Tender.submission_deadline_at.desc(), Tender.id.desc()],
        # Hidden and missing budgets last either way (NULLS LAST is not in every SQLite the platform runs on).
        "budget_desc": [budget.is_(None), budget.desc(), Tender.id.desc()],
        "budget_asc": [budget.is_(None), budget.asc(), Tender.id.asc()],
    }
    return orders[sort]


# What a result row shows: the tender's listing columns only (not its terms, key or custody material).
LIST_COLUMNS = (
    Tender.id,
    Tender.reference,
    Tender.title,
    Tender.category,
    Tender.status,
    Tender.budget_amount,
    Tender.budget_currency,
    Tender.budget_secret,
    Tender.published_at,
    Tender.submission_deadline_at,
    Tender.opening_at,
    Tender.buyer_id,
)


@dataclass(frozen=True)
class Result:
    tenders: list[tuple[Tender, str | None]]  # each tender with its buyer's region
    total: int
    pages: int


def search_tenders(query: SearchQuery) -> Result:
    """One page of the published tenders matching `query`, in its order, with the total: one query (the total is a
    window count over the matches), and a count of its own only for a page past the end."""
    conds = _conditions(query)
    total_column = func.count().over().label("total")
    stmt = (
        select(Tender, BuyerRegion.region, total_column)
        .join(Organisation, Tender.buyer_id == Organisation.id)
        .outerjoin(BuyerRegion, BuyerRegion.organisation_id == Tender.buyer_id)
        .options(load_only(*LIST_COLUMNS), contains_eager(Tender.buyer).load_only(Organisation.id, Organisation.name))
        .where(*conds)
        .order_by(*_order(query.sort))
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    )
    found = list(db.session.execute(stmt))
    rows: list[tuple[Tender, str | None]] = [(t, region) for t, region, _total in found]
    if found:
        total = int(found[0].total)
    elif query.page == 1:
        total = 0
    else:
        total = int(db.session.scalar(select(func.count(Tender.id)).where(*conds)) or 0)
    return Result(rows, total, max(1, -(-total // query.per_page)))


def is_budget_public(tender: Tender) -> bool:
    return tender.budget_amount is not None and (not tender.budget_secret or tender.status in BUDGET_PUBLIC_STATUSES)


def list_regions() -> list[str]:
    """The regions of the buyers the portal knows, for the search form's choices."""
    stmt = select(BuyerRegion.region).distinct().order_by(BuyerRegion.region)
    return [r for r in db.session.scalars(stmt) if r]
