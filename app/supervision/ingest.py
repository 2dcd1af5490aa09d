"""The ingest sweep: read the evidence log from a stored cursor (log index) and open or close monitored items.

Resumable and idempotent: the cursor row is locked, the entries of one batch are read in index order, items are
opened and closed, event rules fire their signals, and the cursor moves to the next index — all in the sweep's one
transaction. A crash anywhere rolls all of it back and the next run reads the same entries again; a unique key on
(kind, opened index, key) makes a second opening from the same entry impossible even with a lost cursor.
Log indices are gap-free and committed in order (appends hold the log's lock until their transaction ends), so
nothing committed later can appear behind the cursor.

Facts come from the entry (its instant, its data) and, for due instants and responsible parties the entry does
not carry, from the owning floor's models (read only). Supervision's own actions are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.db import db
from app.core.time import now_utc
from app.supervision.models import (
    Floor,
    IngestCursor,
    ItemState,
    Light,
    Metric,
    MonitoredItem,
    Rule,
)

log = logging.getLogger(__name__)
CURSOR_ID = 1
DEFAULT_BATCH = 2000


@dataclass
class Batch:
    """What one ingest run did."""

    read: int = 0
    opened: int = 0
    closed: int = 0
    events: int = 0
    position: int = 0


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _end_of_day(day: date) -> datetime:
    """The last instant of a day in the center's zone (a due date is met until midnight)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=_zone()) - timedelta(microseconds=1)


def _subject_id(subject: str | None, prefix: str) -> int | None:
    if not subject or not subject.startswith(prefix):
        return None
    head = subject[len(prefix) :].split("/", 1)[0]
    return int(head) if head.isdigit() else None


# --- the context a handler works in ---------------------------------------------------------------------------


class Context:
    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self._calendar: Any = None

    def calendar(self) -> Any:
        """The working-day calendar, loaded once per batch."""
        if self._calendar is None:
            from app.permits.calendar.services import load_calendar

            self._calendar = load_calendar()
        return self._calendar

    def open(
        self,
        entry: AuditEntry,
        *,
        floor: Floor,
        kind: str,
        key: str = "",
        reference: str = "",
        department: str = "",
        person_id: int | None = None,
        promised_due_at: datetime | None = None,
        statutory_due_at: datetime | None = None,
        counts_workdays: bool = False,
        subject: str | None = None,
    ) -> MonitoredItem | None:
        subject = subject or entry.subject or ""
        found = db.session.scalar(
            select(MonitoredItem).where(
                MonitoredItem.kind == kind, MonitoredItem.opened_index == entry.index, MonitoredItem.key == key
            )
        )
        if found is not None:  # ingested before (a cursor lost or moved back): nothing new
            return None
        # One open item of a kind per subject and key: a new clock closes the previous one.
        self.close(entry, kind=kind, key=key, subject=subject)
        item = MonitoredItem(
            floor=floor,
            kind=kind,
            subject=subject,
            key=key,
            reference=reference[:200],
            department=department[:200],
            person_id=person_id,
            started_at=entry.created_at,
            promised_due_at=promised_due_at,
            statutory_due_at=statutory_due_at,
            counts_workdays=counts_workdays,
            state=ItemState.OPEN,
            opened_at=entry.created_at,
            opened_index=entry.index,
            light=Light.GREEN,
            fired_rules=[],
            lights_done=False,
        )
        db.session.add(item)
        db.session.flush()
        self.batch.opened += 1
        return item

    def open_items(self, *, kind: str | None = None, subject: str, key: str | None = None) -> list[MonitoredItem]:
        stmt = select(MonitoredItem).where(MonitoredItem.subject == subject, MonitoredItem.state == ItemState.OPEN)
        if kind is not None:
            stmt = stmt.where(MonitoredItem.kind == kind)
        if key is not None:
            stmt = stmt.where(MonitoredItem.key == key)
        return list(db.session.scalars(stmt.order_by(MonitoredItem.id)))

    def close(
        self, entry: AuditEntry, *, kind: str | None = None, key: str | None = None, subject: str | None = None
    ) -> int:
        n = 0
        for item in self.open_items(kind=kind, subject=subject or entry.subject or "", key=key):
            if item.opened_index >= entry.index:
                continue
            item.state = ItemState.CLOSED
            item.closed_at = entry.created_at
            item.closed_index = entry.index
            item.check_after = None
            n += 1
        self.batch.closed += n
        return n

    def close_prefix(self, entry: AuditEntry, prefix: str) -> None:
        items = db.session.scalars(
            select(MonitoredItem).where(
                MonitoredItem.state == ItemState.OPEN,
                (MonitoredItem.subject == prefix) | MonitoredItem.subject.startswith(prefix + "/"),
            )
        )
        for item in items:
            if item.opened_index < entry.index:
                item.state = ItemState.CLOSED
                item.closed_at = entry.created_at
                item.closed_index = entry.index
                item.check_after = None
                self.batch.closed += 1


Handler = Callable[[Context, AuditEntry], None]
HANDLERS: dict[str, Handler] = {}


def handles(*actions: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for action in actions:
            HANDLERS[action] = fn
        return fn

    return deco


# --- permits: an application waiting for the desk's decision ------------------------------------------------------


def _permits_application(entry: AuditEntry) -> Any:
    from app.permits.cases.models import Application

    app_id = _subject_id(entry.subject, "permits.application:")
    return db.session.get(Application, app_id) if app_id is not None else None


# 行政许可法 art. 32: the desk decides within 5 working days of receipt, counted from the next day. The rule is the
# permits floor's pure deadline module (the same function the desk's sweep uses); no floor service is imported.
def _acceptance_deadline(calendar: Any, received_on: date) -> date:
    from app.permits.calendar.deadlines import acceptance_deadline

    return acceptance_deadline(calendar, received_on)


@handles("permits.application.submitted", "permits.application.resubmitted")
def _desk_waiting(ctx: Context, entry: AuditEntry) -> None:
    from app.permits.calendar.deadlines import CalendarNotLoaded

    application = _permits_application(entry)
    if application is None:
        return
    received_on = entry.created_at.astimezone(_zone()).date()
    due: datetime | None = None
    try:
        due = _end_of_day(_acceptance_deadline(ctx.calendar(), received_on))
    except CalendarNotLoaded:
        due = None  # the lights show no time rule until the calendar reaches the deadline
    ctx.open(
        entry,
        floor=Floor.PERMITS,
        kind="desk_decision",
        reference=application.number,
        department=application.item.department.name,
        person_id=application.first_handler_id,
        promised_due_at=due,
        statutory_due_at=due,
        counts_workdays=True,
    )


@handles("permits.application.first_handled")
def _desk_handler(ctx: Context, entry: AuditEntry) -> None:
    person = entry.data.get("first_handler_id")
    if isinstance(person, int):
        for item in ctx.open_items(kind="desk_decision", subject=entry.subject or ""):
            item.person_id = item.person_id or person


@handles("permits.application.refused", "permits.application.correction_requested")
def _desk_decided(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="desk_decision")


# --- permits: an accepted case until its decision, on the due dates the floor's clock stored ----------------------


def _case_dues(application: Any) -> dict[str, datetime | None]:
    """The case's stored due dates (computed once by the permits floor's case clock, pauses skipped); none while
    its clock is stopped, so no light grows during a hearing, testing or a site inspection."""
    if application.clock_paused_at is not None:
        return {"promised_due_at": None, "statutory_due_at": None}
    promised, statutory = application.promised_due, application.statutory_due
    return {
        "promised_due_at": _end_of_day(promised) if promised is not None else None,
        "statutory_due_at": _end_of_day(statutory) if statutory is not None else None,
    }


@handles("permits.application.accepted", "permits.application.deemed_accepted")
def _case_opened(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="desk_decision")
    application = _permits_application(entry)
    if application is None or application.accepted_on is None:
        return
    dues = _case_dues(application)
    ctx.open(
        entry,
        floor=Floor.PERMITS,
        kind="case",
        reference=application.case_number or application.number,
        department=application.item.department.name,
        person_id=application.decided_by_id,
        counts_workdays=application.item.day_count.value == "working",
        promised_due_at=dues["promised_due_at"],
        statutory_due_at=dues["statutory_due_at"],
    )


@handles("permits.case.paused", "permits.case.resumed")
def _case_clock(ctx: Context, entry: AuditEntry) -> None:
    application = _permits_application(entry)
    if application is None:
        return
    paused = _case_paused_days(ctx, application)
    for item in ctx.open_items(kind="case", subject=entry.subject or ""):
        dues = _case_dues(application)
        item.promised_due_at, item.statutory_due_at = dues["promised_due_at"], dues["statutory_due_at"]
        item.paused_days = paused
        item.check_after = None


def _case_paused_days(ctx: Context, application: Any) -> int:
    """The days the case's clock stood still since its acceptance, ended pauses only (while one runs the case has
    no due instant to measure against), counted as the floor's clock counts them when it moves the due dates out."""
    from app.permits.calendar.deadlines import CalendarNotLoaded, Pause, PauseReason, paused_days
    from app.permits.cases.processing_models import CasePause

    if application.accepted_on is None:
        return 0
    rows = db.session.scalars(
        select(CasePause).where(CasePause.application_id == application.id, CasePause.ended_at.is_not(None))
    )
    zone = _zone()
    pauses = [
        Pause(PauseReason(r.reason), r.started_at.astimezone(zone).date(), r.ended_at.astimezone(zone).date())
        for r in rows
        if r.ended_at is not None  # the query asked for ended ones; this tells the type checker
    ]
    if not pauses:
        return 0
    today = now_utc().astimezone(zone).date()
    working = application.item.day_count.value == "working"
    try:
        return paused_days(ctx.calendar(), pauses, application.accepted_on, today, working=working)
    except CalendarNotLoaded:
        return 0


@handles("permits.case.decided")
def _case_decided(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="case")


# --- permits: a joint meeting until its conclusion (the floor's sweep says when it was not held) -----------------


@handles("permits.meeting.scheduled")
def _meeting_scheduled(ctx: Context, entry: AuditEntry) -> None:
    application_id = entry.data.get("application_id")
    from app.permits.cases.models import Application

    application = db.session.get(Application, application_id) if isinstance(application_id, int) else None
    if application is None:
        return
    ctx.open(
        entry,
        floor=Floor.PERMITS,
        kind="joint_meeting",
        reference=application.case_number or application.number,
        department=application.item.department.name,
        person_id=entry.data.get("responsible_id") if isinstance(entry.data.get("responsible_id"), int) else None,
    )


@handles("permits.meeting.minutes_sealed")
def _meeting_held(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="joint_meeting")


# --- convenience: a ticket waiting to be called -------------------------------------------------------------------


@handles("convenience.ticket_issued", "convenience.ticket_requeued")
def _ticket_waiting(ctx: Context, entry: AuditEntry) -> None:
    from app.convenience.models import Ticket

    ticket_id = _subject_id(entry.subject, "convenience.ticket:")
    ticket = db.session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        return
    minutes = int(current_app.config.get("SUPERVISION_TICKET_WAIT_MINUTES", 30))
    ctx.open(
        entry,
        floor=Floor.CONVENIENCE,
        kind="ticket_wait",
        reference=ticket.number,
        department=ticket.service.department,
        promised_due_at=entry.created_at + timedelta(minutes=minutes),
    )


@handles("convenience.ticket_called", "convenience.ticket_expired", "convenience.ticket_no_show")
def _ticket_called(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="ticket_wait")


# --- tendering and evaluation: a tender's milestones -----------------------------------------------------------


def _tender(entry: AuditEntry) -> Any:
    from app.tendering.models import Tender

    tender_id = _subject_id(entry.subject, "tender:")
    return db.session.get(Tender, tender_id) if tender_id is not None else None


def _tender_party(tender: Any) -> dict[str, Any]:
    agency = tender.agency
    return {
        "reference": tender.reference or tender.title,
        "department": agency.name if agency is not None else "",
        "person_id": tender.created_by_id,
    }


@handles("tendering.tender.published")
def _tender_published(ctx: Context, entry: AuditEntry) -> None:
    tender = _tender(entry)
    if tender is None:
        return
    party = _tender_party(tender)
    opening_at = _parse_instant(entry.data.get("opening_at")) or tender.opening_at
    ctx.open(
        entry, floor=Floor.TENDERING, kind="opening", promised_due_at=opening_at, statutory_due_at=opening_at, **party
    )


@handles("tendering.tender.clarification", "tendering.tender.amendment")
def _tender_amended(ctx: Context, entry: AuditEntry) -> None:
    """A pushed deadline moves the opening's due instant while it is still open (from the tender's row)."""
    tender = _tender(entry)
    if tender is None:
        return
    for item in ctx.open_items(kind="opening", subject=entry.subject or ""):
        item.promised_due_at = item.statutory_due_at = tender.opening_at
        item.check_after = None


@handles("tendering.opening.started")
def _opening_started(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="opening")


@handles("tendering.opening.record_published")
def _opening_recorded(ctx: Context, entry: AuditEntry) -> None:
    if entry.data.get("result") != "opened":
        return
    tender = _tender(entry)
    if tender is None:
        return
    ctx.open(
        entry, floor=Floor.TENDERING, kind="evaluation", subject=f"{entry.subject}/evaluation", **_tender_party(tender)
    )


@handles("tendering.tender.cancelled", "tendering.tender.failed")
def _tender_ended(ctx: Context, entry: AuditEntry) -> None:
    ctx.close_prefix(entry, entry.subject or "")


@handles("evaluation.member.appointed")
def _member_appointed(ctx: Context, entry: AuditEntry) -> None:
    tender = _tender(entry)
    seat = entry.data.get("seat")
    if tender is None or not isinstance(seat, int):
        return
    hours = int(current_app.config.get("SUPERVISION_EXPERT_CONFIRM_HOURS", 24))
    due = entry.created_at + timedelta(hours=hours)
    ctx.open(
        entry,
        floor=Floor.TENDERING,
        kind="expert_confirmation",
        key=f"seat:{seat}",
        promised_due_at=due,
        **_tender_party(tender),
    )


@handles("evaluation.member.confirmed", "evaluation.member.declined")
def _member_answered(ctx: Context, entry: AuditEntry) -> None:
    seat = entry.data.get("seat")
    if isinstance(seat, int):
        ctx.close(entry, kind="expert_confirmation", key=f"seat:{seat}")


@handles("evaluation.report.drawn_up")
def _report_drawn_up(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="evaluation")


@handles("evaluation.publicity.started")
def _publicity_started(ctx: Context, entry: AuditEntry) -> None:
    tender = _tender(entry)
    if tender is None:
        return
    ends_at = _parse_instant(entry.data.get("ends_at"))
    ctx.open(
        entry,
        floor=Floor.TENDERING,
        kind="publicity",
        promised_due_at=ends_at,
        statutory_due_at=ends_at,
        **_tender_party(tender),
    )


@handles("evaluation.publicity.ended")
def _publicity_ended(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="publicity")
    tender = _tender(entry)
    if tender is None:
        return
    days = int(current_app.config.get("SUPERVISION_AWARD_DAYS", 5))
    ctx.open(
        entry,
        floor=Floor.TENDERING,
        kind="award",
        promised_due_at=entry.created_at + timedelta(days=days),
        **_tender_party(tender),
    )


@handles("evaluation.award.issued")
def _award_issued(ctx: Context, entry: AuditEntry) -> None:
    ctx.close(entry, kind="publicity")  # an award also ends the publicity
    ctx.close(entry, kind="award")


@handles("evaluation.objection.filed")
def _objection_filed(ctx: Context, entry: AuditEntry) -> None:
    from app.evaluation.models import Objection

    tender = _tender(entry)
    objection_id = entry.data.get("objection_id")
    objection = db.session.get(Objection, objection_id) if isinstance(objection_id, int) else None
    if tender is None or objection is None:
        return
    ctx.open(
        entry,
        floor=Floor.TENDERING,
        kind="objection_answer",
        key=f"objection:{objection.id}",
        promised_due_at=objection.answer_due_at,
        statutory_due_at=objection.answer_due_at,
        **_tender_party(tender),
    )


@handles("evaluation.objection.answered")
def _objection_answered(ctx: Context, entry: AuditEntry) -> None:
    objection_id = entry.data.get("objection_id")
    if isinstance(objection_id, int):
        ctx.close(entry, kind="objection_answer", key=f"objection:{objection_id}")


# --- event rules --------------------------------------------------------------------------------------------------


def _event_rules() -> dict[str, list[Rule]]:
    rules: dict[str, list[Rule]] = {}
    for rule in db.session.scalars(select(Rule).where(Rule.metric == Metric.EVENT, Rule.is_active.is_(True))):
        if rule.action:
            rules.setdefault(rule.action, []).append(rule)
    return rules


def _event_signals(entry: AuditEntry, rules: Iterable[Rule], batch: Batch) -> list[dict[str, Any]]:
    """The signals this entry fires (rows to insert); the item it concerns gives the department and person."""
    rows = []
    for rule in rules:
        if rule.data_flag and not entry.data.get(rule.data_flag):
            continue
        item = db.session.scalar(
            select(MonitoredItem)
            .where(MonitoredItem.subject == (entry.subject or ""), MonitoredItem.opened_index <= entry.index)
            .order_by(MonitoredItem.opened_index.desc())
            .limit(1)
        )
        floor = item.floor if item is not None else Floor(rule.floor or entry.action.split(".", 1)[0])
        if item is not None:
            item.light = Light.RED if rule.colour is Light.RED else max(item.light, rule.colour, key=_rank)
        rows.append(
            {
                "dedupe": f"log:{entry.index}:rule:{rule.id}",
                "item_id": item.id if item is not None else None,
                "rule_id": rule.id,
                "colour": rule.colour,
                "floor": floor,
                "kind": item.kind if item is not None else entry.action,
                "subject": entry.subject or "",
                "reference": item.reference if item is not None else "",
                "department": item.department if item is not None else "",
                "person_id": item.person_id if item is not None else None,
                "fired_at": now_utc(),
                "log_index": entry.index,
                "detail": {"action": entry.action, "at": entry.created_at.isoformat()},
            }
        )
        batch.events += 1
    return rows


_RANK = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}


def _rank(light: Light) -> int:
    return _RANK[Light(light)]


# --- the sweep ----------------------------------------------------------------------------------------------------


def _cursor() -> IngestCursor:
    cursor = db.session.execute(
        select(IngestCursor)
        .where(IngestCursor.id == CURSOR_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if cursor is None:
        cursor = IngestCursor(id=CURSOR_ID, position=0)
        db.session.add(cursor)
        db.session.flush()
    return cursor


def ingest(limit: int = DEFAULT_BATCH, *, on_entry: Callable[[AuditEntry], None] | None = None) -> Batch:
    """Read up to `limit` entries from the cursor on; open, update and close items; fire event rules; move the cursor.

    Flushes, never commits: the caller's commit makes the batch and the cursor durable together. `on_entry` is
    called after each entry is handled (tests use it to crash mid-batch).
    """
    cursor = _cursor()
    batch = Batch(position=cursor.position)
    entries = list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.index >= cursor.position).order_by(AuditEntry.index).limit(limit)
        )
    )
    if not entries:
        return batch
    events = _event_rules()
    ctx = Context(batch)
    signals: list[dict[str, Any]] = []
    for entry in entries:
        batch.read += 1
        if not entry.action.startswith("supervision."):
            handler = HANDLERS.get(entry.action)
            if handler is not None:
                handler(ctx, entry)
            if entry.action in events:
                db.session.flush()
                signals.extend(_event_signals(entry, events[entry.action], batch))
        if on_entry is not None:
            on_entry(entry)
    db.session.flush()
    if signals:
        from app.supervision.lights import insert_signals

        insert_signals(signals, source="ingest")
    cursor.position = entries[-1].index + 1
    cursor.updated_at = now_utc()
    batch.position = cursor.position
    db.session.flush()
    return batch


def backlog() -> int:
    """Entries the ingest has not read yet."""
    from app.audit.services import tree_size

    position = db.session.scalar(select(IngestCursor.position).where(IngestCursor.id == CURSOR_ID)) or 0
    return max(0, tree_size() - int(position))
