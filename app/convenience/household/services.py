"""The 8188890 social-service platform: the provider directory, household-service orders and their dispatch.

A citizen (on the request page, without an account) or a hotline operator (on the citizen's behalf) requests a
household service. The order is dispatched at once to the next eligible provider of its (category, district)
rotation: active providers that serve both, in the order of their ids, starting after the provider served last;
providers already tried for this order are passed over. The provider must acknowledge (accept) within
`HOUSEHOLD_ACK_MINUTES`; a decline (with a reason) or a missed time limit (the sweep) sends the order to the next
provider. After `HOUSEHOLD_MAX_FAILURES` declines or timeouts, or when no eligible provider is left, the order is
escalated to the center as unassigned; a center administrator may then dispatch it to a provider of their choice.

Concurrency: the rotation's row is locked (PostgreSQL `SELECT … FOR UPDATE`; SQLite has one writer) while a slot
is taken, and (rotation, slot) is unique, so two dispatches at once never share a slot or a turn. An order's row is
locked while its provider answers, so an acceptance and the timeout sweep cannot both win.

Services flush and never commit; every state change writes its evidence-log entry in the same transaction.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.uscc import InvalidUSCC, parse_uscc
from app.convenience.household.models import (
    Category,
    Complaint,
    Dispatch,
    DispatchMode,
    DispatchOutcome,
    District,
    Order,
    OrderChannel,
    OrderStatus,
    Provider,
    ProviderStatus,
    Rotation,
)
from app.core.db import db, is_postgresql
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, clean_text, field_error
from app.core.problems import N_
from app.core.reference import provides
from app.core.time import now_utc

if TYPE_CHECKING:
    from app.convenience.rating.services import Subject

DEFAULTS: dict[str, Any] = {
    "HOUSEHOLD_ACK_MINUTES": 30,  # a provider acknowledges a dispatched order within this many minutes
    "HOUSEHOLD_MAX_FAILURES": 3,  # declines and timeouts before the order escalates to the center
}

SYSTEM = "system:household"
PHONE = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")  # a mobile number or a landline with area code
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
REFERENCE = re.compile(r"^JZ[0-9]{8}-[0-9A-Z]{6}$")
MAX_PRICE_FEN = 10_000_000  # 100,000 元: more is not a household job
SWEEP_BATCH = 200
SCORES = {"very_satisfied": 5, "satisfied": 4, "basic": 3, "dissatisfied": 2, "very_dissatisfied": 1}

# The 22 categories the 8188890 hotline dispatches: code, name, English name.
CATEGORIES: list[tuple[str, str, str]] = [
    ("HS01", "家政保洁", "Housekeeping and cleaning"),
    ("HS02", "水电维修", "Plumbing and electrical repairs"),
    ("HS03", "管道疏通", "Drain and sewer unblocking"),
    ("HS04", "开锁换锁", "Lock opening and changing"),
    ("HS05", "家电维修", "Household appliance repairs"),
    ("HS06", "搬家", "House moving"),
    ("HS07", "月嫂育婴", "Maternity nurses and infant care"),
    ("HS08", "养老护理", "Care of the elderly"),
    ("HS09", "送水送气", "Drinking water and gas delivery"),
    ("HS10", "房屋维修", "House repairs"),
    ("HS11", "保姆钟点工", "Nannies and hourly helpers"),
    ("HS12", "病人陪护", "Hospital patient escort"),
    ("HS13", "家庭装修", "Home decoration"),
    ("HS14", "防水补漏", "Waterproofing and leak repairs"),
    ("HS15", "燃气灶具维修", "Gas stove repairs"),
    ("HS16", "空调移机清洗", "Air conditioner moving and cleaning"),
    ("HS17", "油烟机清洗", "Range hood cleaning"),
    ("HS18", "门窗维修", "Door and window repairs"),
    ("HS19", "除虫灭鼠", "Pest control"),
    ("HS20", "电脑维修", "Computer repairs"),
    ("HS21", "洗衣洗鞋", "Laundry and shoe cleaning"),
    ("HS22", "家教辅导", "Home tutoring"),
]

# The districts, counties and the county-level city of 邯郸 (administrative division codes).
DISTRICTS: list[tuple[str, str, str]] = [
    ("130402", "邯山区", "Hanshan District"),
    ("130403", "丛台区", "Congtai District"),
    ("130404", "复兴区", "Fuxing District"),
    ("130406", "峰峰矿区", "Fengfeng Mining District"),
    ("130407", "肥乡区", "Feixiang District"),
    ("130408", "永年区", "Yongnian District"),
    ("130423", "临漳县", "Linzhang County"),
    ("130424", "成安县", "Cheng'an County"),
    ("130425", "大名县", "Daming County"),
    ("130426", "涉县", "She County"),
    ("130427", "磁县", "Ci County"),
    ("130430", "邱县", "Qiu County"),
    ("130431", "鸡泽县", "Jize County"),
    ("130432", "广平县", "Guangping County"),
    ("130433", "馆陶县", "Guantao County"),
    ("130434", "魏县", "Wei County"),
    ("130435", "曲周县", "Quzhou County"),
    ("130481", "武安市", "Wu'an City"),
]


@provides("convenience.household.reference")
def ensure_reference() -> None:
    """The 22 categories and the districts of 邯郸 (idempotent; flushes)."""
    have = set(db.session.scalars(select(Category.code)))
    for sort, (code, name, name_en) in enumerate(CATEGORIES, start=1):
        if code not in have:
            db.session.add(Category(code=code, name=name, name_en=name_en, sort=sort))
    have = set(db.session.scalars(select(District.code)))
    for code, name, name_en in DISTRICTS:
        if code not in have:
            db.session.add(District(code=code, name=name, name_en=name_en))
    db.session.flush()


def _setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def _actor_id(actor: Any) -> int | None:
    return actor.id if actor is not None and not isinstance(actor, str) else None


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.sort)))


def districts() -> list[District]:
    return list(db.session.scalars(select(District).order_by(District.code)))


def _category(code: Any) -> Category:
    found: Category | None = (
        db.session.scalar(select(Category).where(Category.code == code)) if isinstance(code, str) else None
    )
    if found is None:
        raise field_error("category", N_("Choose one of the household-service categories."))
    return found


def _district(code: Any) -> District:
    found: District | None = (
        db.session.scalar(select(District).where(District.code == code)) if isinstance(code, str) else None
    )
    if found is None:
        raise field_error("district", N_("Choose one of the districts of Handan."))
    return found


def _phone(value: Any, field: str) -> str:
    phone = value.strip().replace(" ", "") if isinstance(value, str) else ""
    if not PHONE.match(phone):
        raise field_error(field, N_("Enter a mobile number of 11 digits, or a landline number with its area code."))
    return phone


def _collect(checks: Iterable[tuple[str, Any]]) -> None:
    """Run every check (a callable) and raise one error naming all the bad fields (nothing is stored)."""
    errors: dict[str, list[str]] = {}
    for _name, check in checks:
        try:
            check()
        except ValidationFailed as exc:
            for key, value in (exc.extra.get("errors") or {}).items():
                errors.setdefault(key, []).extend(value)
    if errors:
        raise ValidationFailed(N_("Some of the input is not valid."), errors=errors)


# --- providers ---------------------------------------------------------------------------------------------------


def check_uscc(value: Any) -> str:
    try:
        return parse_uscc(value if isinstance(value, str) else "").code
    except InvalidUSCC:
        raise field_error("uscc", N_("Enter a valid unified social credit code (18 characters).")) from None


def register_provider(
    *,
    actor: Any,
    name: Any,
    uscc: Any,
    contact_name: Any,
    contact_phone: Any,
    categories: Sequence[Any],
    districts: Sequence[Any],
    account_id: int | None = None,
) -> Provider:
    """Add a company to the directory (active). The code is checked (GB 32100) and unique; at least one category
    and one district. Flushes; records `convenience.household.provider_registered`."""
    values: dict[str, Any] = {}

    def put(key: str, fn: Any) -> Any:
        return lambda: values.__setitem__(key, fn())

    _collect(
        [
            ("name", put("name", lambda: clean_text(name, "name", 100))),
            ("uscc", put("uscc", lambda: check_uscc(uscc))),
            ("contact_name", put("contact_name", lambda: clean_text(contact_name, "contact_name", 40))),
            ("contact_phone", put("contact_phone", lambda: _phone(contact_phone, "contact_phone"))),
            ("categories", put("categories", lambda: _many(categories, _category, "categories"))),
            ("districts", put("districts", lambda: _many(districts, _district, "districts"))),
        ]
    )
    if db.session.scalar(select(Provider.id).where(Provider.uscc == values["uscc"])) is not None:
        raise Conflict(N_("A provider with this unified social credit code is in the directory already."))
    provider = Provider(
        name=values["name"],
        uscc=values["uscc"],
        contact_name=values["contact_name"],
        contact_phone=values["contact_phone"],
        status=ProviderStatus.ACTIVE,
        account_id=account_id,
        created_at=now_utc(),
    )
    provider.categories = values["categories"]
    provider.districts = values["districts"]
    try:
        with db.session.begin_nested():
            db.session.add(provider)
    except IntegrityError:
        raise Conflict(N_("A provider with this code or this portal account is in the directory already.")) from None
    audit.record(
        "convenience.household.provider_registered",
        actor=actor,
        subject=provider.audit_ref,
        data={
            "uscc": provider.uscc,
            "categories": ",".join(c.code for c in provider.categories),
            "districts": ",".join(d.code for d in provider.districts),
        },
    )
    return provider


def amend_provider(
    *,
    actor: Any,
    provider_id: Any,
    name: Any,
    contact_name: Any,
    contact_phone: Any,
    categories: Sequence[Any],
    districts: Sequence[Any],
) -> Provider:
    """Change what a provider in the directory is and serves: its name, contact, categories and districts (its
    unified social credit code is its identity and does not change). An order waiting for its acknowledgement that
    it no longer serves goes to the next provider at once, as on suspension. A provider that left the platform is
    not changed (409). Flushes; records `convenience.household.provider_amended` with what changed (nothing
    recorded when nothing changed)."""
    values: dict[str, Any] = {}

    def put(key: str, fn: Any) -> Any:
        return lambda: values.__setitem__(key, fn())

    _collect(
        [
            ("name", put("name", lambda: clean_text(name, "name", 100))),
            ("contact_name", put("contact_name", lambda: clean_text(contact_name, "contact_name", 40))),
            ("contact_phone", put("contact_phone", lambda: _phone(contact_phone, "contact_phone"))),
            ("categories", put("categories", lambda: _many(categories, _category, "categories"))),
            ("districts", put("districts", lambda: _many(districts, _district, "districts"))),
        ]
    )
    provider = _lock_provider(provider_id)
    if provider.status is ProviderStatus.WITHDRAWN:
        raise Conflict(N_("This provider has left the platform already."))
    before = _provider_terms(provider)
    provider.name = values["name"]
    provider.contact_name = values["contact_name"]
    provider.contact_phone = values["contact_phone"]
    provider.categories = values["categories"]
    provider.districts = values["districts"]
    after = _provider_terms(provider)
    changed = {key: after[key] for key in after if after[key] != before[key]}
    if not changed:
        return provider
    served_categories = {c.id for c in provider.categories}
    served_districts = {d.id for d in provider.districts}
    # locked before the evidence log's append lock: one lock order everywhere
    dropped = [
        order
        for order in _waiting_orders(provider)
        if order.category_id not in served_categories or order.district_id not in served_districts
    ]
    db.session.flush()
    audit.record(
        "convenience.household.provider_amended",
        actor=actor,
        subject=provider.audit_ref,
        data={**{f"was_{key}": before[key] for key in changed}, **changed},
    )
    _withdraw_waiting(provider, dropped, actor)
    return provider


def _provider_terms(provider: Provider) -> dict[str, str]:
    return {
        "name": provider.name,
        "contact_name": provider.contact_name,
        "contact_phone": provider.contact_phone,
        "categories": ",".join(sorted(c.code for c in provider.categories)),
        "districts": ",".join(sorted(d.code for d in provider.districts)),
    }


def _many(codes: Sequence[Any], lookup: Any, field: str) -> list[Any]:
    if not isinstance(codes, list | tuple) or not codes:
        raise field_error(field, N_("Choose at least one."))
    found: dict[int, Any] = {}
    for code in codes:
        try:
            row = lookup(code)
        except ValidationFailed:
            raise field_error(field, N_("Choose from the list.")) from None
        found[row.id] = row
    return list(found.values())


def get_provider(provider_id: Any) -> Provider:
    found = db.session.get(Provider, provider_id) if isinstance(provider_id, int) and 0 < provider_id < 2**31 else None
    if found is None:
        raise NotFound(N_("No such provider."))
    return found


def list_providers(status: str | None = None) -> list[Provider]:
    stmt = select(Provider).order_by(Provider.name, Provider.id)
    if status in {s.value for s in ProviderStatus}:
        stmt = stmt.where(Provider.status == ProviderStatus(status))
    return list(db.session.scalars(stmt))


def provider_of(user: Any) -> Provider:
    """The provider whose portal account `user` is (403 for an account linked to none)."""
    found: Provider | None = (
        db.session.scalar(select(Provider).where(Provider.account_id == user.id))
        if user is not None and not isinstance(user, str)
        else None
    )
    if found is None:
        raise PermissionDenied(N_("This account is not the portal account of a household-service provider."))
    return found


def _lock_provider(provider_id: Any) -> Provider:
    provider = get_provider(provider_id)
    if is_postgresql():
        stmt = select(Provider).where(Provider.id == provider.id).with_for_update()
        db.session.scalars(stmt.execution_options(populate_existing=True)).one()
    return provider


def suspend_provider(*, actor: Any, provider_id: Any, reason: Any) -> Provider:
    """Suspend an active provider with a reason: dispatch skips it from now on, and an order waiting for its
    acknowledgement goes to the next provider at once. Flushes; records `convenience.household.provider_suspended`."""
    text = clean_text(reason, "reason", 500)
    provider = _lock_provider(provider_id)
    if provider.status is not ProviderStatus.ACTIVE:
        raise Conflict(N_("Only an active provider can be suspended."))
    waiting = _waiting_orders(provider)  # locked before the evidence log's append lock: one lock order everywhere
    _set_status(provider, ProviderStatus.SUSPENDED, text, actor, "convenience.household.provider_suspended")
    _withdraw_waiting(provider, waiting, actor)
    return provider


def reinstate_provider(*, actor: Any, provider_id: Any, reason: Any) -> Provider:
    text = clean_text(reason, "reason", 500)
    provider = _lock_provider(provider_id)
    if provider.status is not ProviderStatus.SUSPENDED:
        raise Conflict(N_("Only a suspended provider can be reinstated."))
    _set_status(provider, ProviderStatus.ACTIVE, text, actor, "convenience.household.provider_reinstated")
    return provider


def withdraw_provider(*, actor: Any, provider_id: Any, reason: Any) -> Provider:
    """The provider leaves the platform for good (it keeps its history)."""
    text = clean_text(reason, "reason", 500)
    provider = _lock_provider(provider_id)
    if provider.status is ProviderStatus.WITHDRAWN:
        raise Conflict(N_("This provider has left the platform already."))
    waiting = _waiting_orders(provider)
    _set_status(provider, ProviderStatus.WITHDRAWN, text, actor, "convenience.household.provider_withdrawn")
    _withdraw_waiting(provider, waiting, actor)
    return provider


def _set_status(provider: Provider, status: ProviderStatus, reason: str, actor: Any, action: str) -> None:
    was = provider.status.value
    provider.status = status
    provider.status_reason = reason
    provider.status_changed_at = now_utc()
    db.session.flush()
    audit.record(action, actor=actor, subject=provider.audit_ref, data={"from": was, "to": status.value})


def _waiting_orders(provider: Provider) -> list[Order]:
    """The orders waiting for this provider's acknowledgement, locked (PostgreSQL) in id order."""
    stmt = select(Order).where(Order.status == OrderStatus.DISPATCHED, Order.provider_id == provider.id)
    if is_postgresql():
        stmt = stmt.with_for_update()
    return list(db.session.scalars(stmt.order_by(Order.id).execution_options(populate_existing=True)))


def _withdraw_waiting(provider: Provider, waiting: list[Order], actor: Any) -> None:
    """Orders waiting for this provider's acknowledgement go on to the next provider (not counted as a failure)."""
    for order in waiting:
        dispatch = order.current
        if dispatch is None:
            continue
        _close(dispatch, DispatchOutcome.WITHDRAWN, "")
        audit.record(
            "convenience.household.dispatch_withdrawn",
            actor=actor,
            subject=order.audit_ref,
            data={"reference": order.reference, "provider": provider.id, "dispatch": dispatch.id},
        )
        dispatch_next(order)


@dataclass(frozen=True)
class Standing:
    """A provider's rating from the citizens' 好差评: the average on 5 (非常满意) … 1 (非常不满意) and the count."""

    average: float | None
    count: int


def standings(provider_ids: Iterable[int] | None = None) -> dict[int, Standing]:
    """The rating of each provider from the ratings of its completed orders (appeals upheld are left out)."""
    from sqlalchemy import case

    from app.convenience.rating.models import Rating, SubjectKind

    score = case(*[(Rating.level == level, points) for level, points in SCORES.items()], else_=0)
    stmt = (
        select(Order.provider_id, func.count(Rating.id), func.sum(score))
        .join(Order, Order.id == Rating.subject_id)
        .where(Rating.subject_kind == SubjectKind.HOUSEHOLD, Rating.is_excluded.is_(False))
        .group_by(Order.provider_id)
    )
    if provider_ids is not None:
        stmt = stmt.where(Order.provider_id.in_(list(provider_ids)))
    out: dict[int, Standing] = {}
    for provider_id, count, total in db.session.execute(stmt):
        if provider_id is not None and count:
            out[int(provider_id)] = Standing(round(int(total) / int(count), 2), int(count))
    return out


def standing(provider: Provider) -> Standing:
    return standings([provider.id]).get(provider.id, Standing(None, 0))


# --- rotation ----------------------------------------------------------------------------------------------------


def next_in_rotation(eligible: Sequence[int], last: int | None) -> int | None:
    """The provider after `last` among `eligible` (ids ascending), wrapping round; None when there is none.

    Fair and deterministic: over consecutive dispatches with the same eligible set each provider gets one turn per
    round, whatever joined or left in between (the cursor is the last provider's id, not a position)."""
    ordered = sorted(set(eligible))
    if not ordered:
        return None
    if last is None:
        return ordered[0]
    for candidate in ordered:
        if candidate > last:
            return candidate
    return ordered[0]


def eligible_providers(category_id: int, district_id: int, excluded: Iterable[int] = ()) -> list[int]:
    """Active providers serving the category in the district, ids ascending, without `excluded`."""
    from app.convenience.household.models import provider_categories, provider_districts

    stmt = (
        select(Provider.id)
        .join(provider_categories, provider_categories.c.provider_id == Provider.id)
        .join(provider_districts, provider_districts.c.provider_id == Provider.id)
        .where(
            Provider.status == ProviderStatus.ACTIVE,
            provider_categories.c.category_id == category_id,
            provider_districts.c.district_id == district_id,
        )
        .order_by(Provider.id)
    )
    skip = set(excluded)
    return [int(i) for i in db.session.scalars(stmt) if i not in skip]


def _rotation(category_id: int, district_id: int) -> Rotation:
    """The (category, district) rotation's row, locked for this transaction (created the first time)."""
    stmt = select(Rotation).where(Rotation.category_id == category_id, Rotation.district_id == district_id)
    if is_postgresql():
        stmt = stmt.with_for_update()
    found = db.session.scalars(stmt.execution_options(populate_existing=True)).first()
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            db.session.add(Rotation(category_id=category_id, district_id=district_id, slots=0))
    except IntegrityError:
        pass  # another dispatch created it a moment ago
    return db.session.scalars(stmt.execution_options(populate_existing=True)).one()


def dispatch_next(order: Order) -> Order:
    """Send the order to the next eligible provider of its rotation, or escalate it (N failures, nobody left)."""
    if order.failures >= _setting("HOUSEHOLD_MAX_FAILURES"):
        return _escalate(order, "failures")
    rotation = _rotation(order.category_id, order.district_id)
    tried = {d.provider_id for d in order.dispatches}
    chosen = next_in_rotation(
        eligible_providers(order.category_id, order.district_id, tried), rotation.last_provider_id
    )
    if chosen is None:
        return _escalate(order, "no_provider")
    rotation.slots += 1
    rotation.last_provider_id = chosen
    return _send(order, chosen, DispatchMode.ROTATION, rotation=rotation, actor=SYSTEM)


def _send(order: Order, provider_id: int, mode: DispatchMode, *, actor: Any, rotation: Rotation | None = None) -> Order:
    now = now_utc()
    due = now + timedelta(minutes=_setting("HOUSEHOLD_ACK_MINUTES"))
    dispatch = Dispatch(
        order_id=order.id,
        provider_id=provider_id,
        mode=mode,
        rotation_id=rotation.id if rotation is not None else None,
        slot=rotation.slots if rotation is not None else None,
        dispatched_at=now,
        ack_due_at=due,
        outcome=DispatchOutcome.PENDING,
        dispatched_by_id=_actor_id(actor),
    )
    order.dispatches.append(dispatch)
    order.status = OrderStatus.DISPATCHED
    order.provider_id = provider_id
    order.ack_due_at = due
    db.session.flush()
    audit.record(
        "convenience.household.order_dispatched",
        actor=actor,
        subject=order.audit_ref,
        data={
            "reference": order.reference,
            "provider": provider_id,
            "mode": mode.value,
            "slot": dispatch.slot or 0,
            "ack_due_at": due.isoformat(),
        },
    )
    return order


def _escalate(order: Order, why: str) -> Order:
    order.status = OrderStatus.UNASSIGNED
    order.provider_id = None
    order.ack_due_at = None
    order.escalated_at = now_utc()
    db.session.flush()
    audit.record(
        "convenience.household.order_escalated",
        actor=SYSTEM,
        subject=order.audit_ref,
        data={"reference": order.reference, "reason": why, "failures": order.failures},
    )
    return order


def _close(dispatch: Dispatch, outcome: DispatchOutcome, reason: str) -> None:
    dispatch.outcome = outcome
    dispatch.outcome_at = now_utc()
    dispatch.reason = reason


# --- orders ------------------------------------------------------------------------------------------------------


def _new_reference() -> str:
    from zoneinfo import ZoneInfo

    day = now_utc().astimezone(ZoneInfo(current_app.config["CENTER_TIMEZONE"])).strftime("%Y%m%d")
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"JZ{day}-" + "".join(secrets.choice(alphabet) for _ in range(6))


def request_order(
    *,
    actor: Any,
    category: Any,
    district: Any,
    address: Any,
    preferred_time: Any,
    description: Any,
    contact_name: Any,
    contact_phone: Any,
) -> Order:
    """A citizen's request (actor None: the public page) or a hotline operator's on the citizen's behalf (a signed-in
    actor): validated whole first (nothing stored on bad input), then dispatched by rotation. Flushes; records
    `convenience.household.order_requested` and the dispatch (or the escalation)."""
    values: dict[str, Any] = {}

    def put(key: str, fn: Any) -> Any:
        return lambda: values.__setitem__(key, fn())

    _collect(
        [
            ("category", put("category", lambda: _category(category))),
            ("district", put("district", lambda: _district(district))),
            ("address", put("address", lambda: clean_text(address, "address", 200))),
            ("preferred_time", put("preferred_time", lambda: clean_text(preferred_time, "preferred_time", 100))),
            ("description", put("description", lambda: clean_text(description, "description", 2000))),
            ("contact_name", put("contact_name", lambda: clean_text(contact_name, "contact_name", 40))),
            ("contact_phone", put("contact_phone", lambda: _phone(contact_phone, "contact_phone"))),
        ]
    )
    operator = _actor_id(actor)
    order = Order(
        reference=_new_reference(),
        token=secrets.token_urlsafe(24),
        channel=OrderChannel.HOTLINE if operator is not None else OrderChannel.WEB,
        taken_by_id=operator,
        category_id=values["category"].id,
        district_id=values["district"].id,
        address=values["address"],
        preferred_time=values["preferred_time"],
        description=values["description"],
        contact_name=values["contact_name"],
        contact_phone=values["contact_phone"],
        status=OrderStatus.DISPATCHED,
        failures=0,
        created_at=now_utc(),
    )
    for attempt in range(5):  # a reference drawn twice (one in 10^9 a day) is drawn again, never a 500
        try:
            with db.session.begin_nested():
                db.session.add(order)
            break
        except IntegrityError:
            if attempt == 4:
                raise
            order.reference, order.token = _new_reference(), secrets.token_urlsafe(24)
    audit.record(
        "convenience.household.order_requested",
        actor=actor,
        subject=order.audit_ref,
        data={
            "reference": order.reference,
            "channel": order.channel.value,
            "category": values["category"].code,
            "district": values["district"].code,
        },
    )
    return dispatch_next(order)


def get_order(reference: Any) -> Order:
    found: Order | None = (
        db.session.scalar(select(Order).where(Order.reference == reference))
        if isinstance(reference, str) and REFERENCE.match(reference)
        else None
    )
    if found is None:
        raise NotFound(N_("No such household-service order."))
    return found


def tracked(reference: Any, token: Any) -> Order:
    """The order whose tracking token the caller holds (404 for anything else: nothing revealed)."""
    order = get_order(reference) if isinstance(token, str) and TOKEN.match(token) else None
    if order is None or not secrets.compare_digest(order.token, token):
        raise NotFound(N_("No such household-service order."))
    return order


def _locked(reference: Any) -> Order:
    order = get_order(reference)
    if is_postgresql():
        stmt = select(Order).where(Order.id == order.id).with_for_update()
        db.session.scalars(stmt.execution_options(populate_existing=True)).one()
    return order


def _provider_order(actor: Any, reference: Any) -> tuple[Provider, Order]:
    provider = provider_of(actor)
    order = _locked(reference)
    if order.provider_id != provider.id:
        raise NotFound(N_("No such household-service order."))
    return provider, order


def orders_of(provider: Provider) -> list[Order]:
    """The orders dispatched to the provider now, accepted by it or completed by it (newest first)."""
    stmt = select(Order).where(Order.provider_id == provider.id).order_by(Order.created_at.desc(), Order.id.desc())
    return list(db.session.scalars(stmt))


def list_orders(status: str | None = None) -> list[Order]:
    stmt = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if status in {s.value for s in OrderStatus}:
        stmt = stmt.where(Order.status == OrderStatus(status))
    return list(db.session.scalars(stmt.limit(500)))


def _waiting(order: Order, provider: Provider) -> Dispatch:
    dispatch = order.current
    if order.status is not OrderStatus.DISPATCHED or dispatch is None or dispatch.provider_id != provider.id:
        raise Conflict(N_("This order is not waiting for your acknowledgement."))
    if now_utc() > dispatch.ack_due_at:
        raise Conflict(N_("The time limit to acknowledge this order has passed; it goes to the next provider."))
    return dispatch


def accept(*, actor: Any, reference: Any) -> Order:
    """The provider acknowledges the order within the time limit and takes the job."""
    provider, order = _provider_order(actor, reference)
    dispatch = _waiting(order, provider)
    _close(dispatch, DispatchOutcome.ACCEPTED, "")
    order.status = OrderStatus.ACCEPTED
    order.accepted_at = dispatch.outcome_at
    order.ack_due_at = None
    db.session.flush()
    audit.record(
        "convenience.household.order_accepted",
        actor=actor,
        subject=order.audit_ref,
        data={"reference": order.reference, "provider": provider.id, "dispatch": dispatch.id},
    )
    return order


def decline(*, actor: Any, reference: Any, reason: Any) -> Order:
    """The provider declines with a reason; the order goes to the next provider (or escalates)."""
    text = clean_text(reason, "reason", 500)
    provider, order = _provider_order(actor, reference)
    dispatch = _waiting(order, provider)
    _close(dispatch, DispatchOutcome.DECLINED, text)
    order.failures += 1
    db.session.flush()
    audit.record(
        "convenience.household.order_declined",
        actor=actor,
        subject=order.audit_ref,
        data={
            "reference": order.reference,
            "provider": provider.id,
            "dispatch": dispatch.id,
            "failures": order.failures,
        },
    )
    dispatch_next(order)
    return order


def complete(*, actor: Any, reference: Any, work_done: Any, price_fen: Any) -> Order:
    """The provider records what was done and the price (分; typed in 元 on the pages and in the API)."""
    errors: dict[str, list[str]] = {}
    try:
        text = clean_text(work_done, "work_done", 2000)
    except ValidationFailed as exc:
        errors.update(exc.extra["errors"])
    if not isinstance(price_fen, int) or isinstance(price_fen, bool) or not 0 <= price_fen <= MAX_PRICE_FEN:
        errors["price"] = [N_("Enter the price in yuan, from 0 to 100,000.")]
    if errors:
        raise ValidationFailed(N_("Some of the input is not valid."), errors=errors)
    provider, order = _provider_order(actor, reference)
    if order.status is not OrderStatus.ACCEPTED:
        raise Conflict(N_("Only an order you have accepted can be completed."))
    order.status = OrderStatus.COMPLETED
    order.completed_at = now_utc()
    order.work_done = text
    order.price_fen = price_fen
    db.session.flush()
    audit.record(
        "convenience.household.order_completed",
        actor=actor,
        subject=order.audit_ref,
        data={"reference": order.reference, "provider": provider.id, "price_fen": price_fen},
    )
    return order


def assign(*, actor: Any, reference: Any, provider_id: Any) -> Order:
    """A center administrator dispatches an unassigned order to an active provider of their choice (which must
    then acknowledge within the time limit like any other dispatch)."""
    order = _locked(reference)
    if order.status is not OrderStatus.UNASSIGNED:
        raise Conflict(N_("Only an unassigned order can be dispatched by hand."))
    try:
        provider = get_provider(provider_id)
    except NotFound:
        raise field_error("provider", N_("Choose an active provider.")) from None
    if provider.status is not ProviderStatus.ACTIVE:
        raise field_error("provider", N_("Choose an active provider."))
    order.failures = 0  # a fresh round of attempts from the center's choice
    return _send(order, provider.id, DispatchMode.MANUAL, actor=actor)


def sweep_timeouts(now: datetime | None = None) -> dict[str, int]:
    """Orders whose provider did not acknowledge in time go to the next provider (the dispatch is recorded as
    timed out), or escalate after N failures. Idempotent: a re-run finds nothing overdue. Flushes."""
    now = now or now_utc()
    stmt = (
        select(Order)
        .where(Order.status == OrderStatus.DISPATCHED, Order.ack_due_at <= now)
        .order_by(Order.ack_due_at, Order.id)
        .limit(SWEEP_BATCH)
    )
    if is_postgresql():
        stmt = stmt.with_for_update(skip_locked=True)
    counts = {"timed_out": 0, "redispatched": 0, "escalated": 0}
    for order in list(db.session.scalars(stmt.execution_options(populate_existing=True))):
        dispatch = order.current
        if dispatch is None or dispatch.ack_due_at > now:
            continue
        _close(dispatch, DispatchOutcome.TIMED_OUT, "")
        order.failures += 1
        db.session.flush()
        audit.record(
            "convenience.household.ack_timed_out",
            actor="system:sweep",
            subject=order.audit_ref,
            data={
                "reference": order.reference,
                "provider": dispatch.provider_id,
                "dispatch": dispatch.id,
                "failures": order.failures,
            },
        )
        counts["timed_out"] += 1
        dispatch_next(order)
        counts["escalated" if order.status is OrderStatus.UNASSIGNED else "redispatched"] += 1
    return counts


# --- complaints and ratings ---------------------------------------------------------------------------------------


def complain(*, actor: Any, text: Any, order: Order | None = None, provider_id: Any = None) -> Complaint:
    """A complaint about a provider: the citizen's about their order's provider, or recorded by the center."""
    body = clean_text(text, "text", 2000)
    if order is not None:
        if order.provider_id is None:
            raise Conflict(N_("No provider has taken this order: there is no one to complain about."))
        provider = get_provider(order.provider_id)
    else:
        try:
            provider = get_provider(provider_id)
        except NotFound:
            raise field_error("provider", N_("Choose the provider the complaint is about.")) from None
    row = Complaint(
        provider_id=provider.id,
        order_id=order.id if order is not None else None,
        text=body,
        filed_at=now_utc(),
        filed_by_id=_actor_id(actor),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "convenience.household.complaint_recorded",
        actor=actor,
        subject=row.audit_ref,
        data={"provider": provider.id, "reference": order.reference if order is not None else ""},
    )
    return row


def complaints(provider_id: int | None = None) -> list[Complaint]:
    stmt = select(Complaint).order_by(Complaint.filed_at.desc(), Complaint.id.desc())
    if provider_id is not None:
        stmt = stmt.where(Complaint.provider_id == provider_id)
    return list(db.session.scalars(stmt))


def rating_subject(order: Order) -> Subject:
    """The order as a 好差评 subject: rateable once completed; the provider's name stands for the department."""
    from app.convenience.rating.models import SubjectKind
    from app.convenience.rating.services import Subject

    return Subject(
        kind=SubjectKind.HOUSEHOLD,
        id=order.id,
        reference=order.reference,
        closed_at=order.completed_at if order.status is OrderStatus.COMPLETED else None,
        department=order.provider.name if order.provider is not None else "",
        contact_phone=order.contact_phone,
        link_args=(("reference", order.reference), ("token", order.token)),
    )


def rate(*, reference: Any, token: Any, level: Any, comment: Any = "") -> Any:
    """The citizen rates the completed order once, through 好差评 (a bad rating opens its rectification task)."""
    from app.convenience.rating import services as rating

    return rating.rate(rating_subject(tracked(reference, token)), level=level, comment=comment)


def rating_of(order: Order) -> Any:
    from app.convenience.rating import services as rating
    from app.convenience.rating.models import SubjectKind

    return rating.rating_of(SubjectKind.HOUSEHOLD, order.id)
