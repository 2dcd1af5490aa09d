"""Atom (RFC 4287) feeds of the portal: newly published tenders, and results (candidates' publicity, awards,
failed tenders). Written with the standard library's xml.etree (no feed library in requirements.txt).

Ids are tag: URIs (RFC 4151) that never change: `tag:<authority>,<date>:tender/<id>` and
`…:tender/<id>/<result>`; the authority and date come from configuration (PORTAL_TAG_AUTHORITY, PORTAL_TAG_DATE).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from flask import Flask, current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.models import Organisation
from app.core.db import db
from app.core.time import format_center_time
from app.core.ui import center_name, labelled, money
from app.evaluation.models import Award, EvaluationReport
from app.publication.portal.search import is_budget_public
from app.tendering.models import Tender, TenderStatus, TenderVersion
from app.tendering.services_tenders import PUBLIC_STATUSES

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
DEFAULT_TAG_DATE = "2026-12-07"


def configure(app: Flask) -> None:
    """The tag: authority (a domain name the publisher held on the tag date) and date, checked at start."""
    public = str(app.config.get("OCDS_PUBLIC_URL") or "")
    host = urlsplit(public).hostname or ""
    try:
        ipaddress.ip_address(host)
        host = ""  # an address is not a tag authority
    except ValueError:
        pass
    app.config.setdefault("PORTAL_TAG_AUTHORITY", os.environ.get("APP_PORTAL_TAG_AUTHORITY") or host or "localhost")
    app.config.setdefault("PORTAL_TAG_DATE", os.environ.get("APP_PORTAL_TAG_DATE") or DEFAULT_TAG_DATE)
    date.fromisoformat(str(app.config["PORTAL_TAG_DATE"]))  # a bad date stops the start, not a feed


def tag(specific: str) -> str:
    cfg = current_app.config
    return f"tag:{cfg['PORTAL_TAG_AUTHORITY']},{cfg['PORTAL_TAG_DATE']}:{specific}"


def _zone() -> str:
    return str(current_app.config["CENTER_TIMEZONE"])


def rfc3339(value: datetime) -> str:
    """An instant in the center's zone with its offset: 2026-12-07T19:00:00+08:00."""
    return value.astimezone(ZoneInfo(_zone())).isoformat(timespec="seconds")


def _epoch() -> datetime:
    """A feed with no entry yet was last updated at the start of its tag date (stable, so its ETag is too)."""
    return datetime.combine(date.fromisoformat(str(current_app.config["PORTAL_TAG_DATE"])), time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    updated: datetime
    published: datetime
    link: str
    summary: str
    category: str


def _public_tenders() -> Any:
    return select(Tender).where(Tender.status.in_(PUBLIC_STATUSES), Tender.published_at.is_not(None))


def _tender_summary(tender: Tender, buyer: str) -> str:
    parts = [
        f"{labelled(_('Buyer'))}{buyer}",
        f"{labelled(_('Reference'))}{tender.reference or '—'}",
        f"{labelled(_('Submission deadline'))}{format_center_time(tender.submission_deadline_at, _zone())}",
    ]
    if is_budget_public(tender):
        parts.append(f"{labelled(_('Budget'))}{money(tender.budget_amount, tender.budget_currency)}")
    return str(_("; ")).join(parts)


def tender_entries() -> list[Entry]:
    """The newest published tenders; an entry is updated by each clarification, amendment or cancellation."""
    rows = list(
        db.session.execute(
            _public_tenders()
            .add_columns(Organisation.name)
            .join(Organisation, Tender.buyer_id == Organisation.id)
            .order_by(Tender.published_at.desc(), Tender.id.desc())
            .limit(FEED_SIZE)
        )
    )
    ids = [t.id for t, _buyer in rows]
    latest = (
        dict(
            db.session.execute(  # type: ignore[arg-type]
                select(TenderVersion.tender_id, func.max(TenderVersion.created_at))
                .where(TenderVersion.tender_id.in_(ids))
                .group_by(TenderVersion.tender_id)
            ).all()
        )
        if ids
        else {}
    )
    entries = []
    for tender, buyer in rows:
        assert tender.published_at is not None
        changed = latest.get(tender.id)
        updated = max(tender.published_at, changed) if changed is not None else tender.published_at
        entries.append(
            Entry(
                id=tag(f"tender/{tender.id}"),
                title=tender.title,
                updated=updated,
                published=tender.published_at,
                link=url_for("portal.tender", tender_id=tender.id, _external=True),
                summary=_tender_summary(tender, buyer),
                category=tender.category,
            )
        )
    return entries


def result_entries() -> list[Entry]:
    """The newest results: candidates in publicity (中标候选人公示), awards (中标结果) and failed tenders (流标)."""
    found: list[tuple[datetime, str, Tender, str]] = []
    publicity = db.session.execute(
        select(EvaluationReport.publicity_started_at, Tender)
        .join(Tender, EvaluationReport.tender_id == Tender.id)
        .where(EvaluationReport.publicity_started_at.is_not(None))
        .order_by(EvaluationReport.publicity_started_at.desc())
        .limit(FEED_SIZE)
    )
    found += [(at, "publicity", t, str(_("Candidates in publicity"))) for at, t in publicity if at is not None]
    awards = db.session.execute(
        select(Award.issued_at, Tender)
        .join(Tender, Award.tender_id == Tender.id)
        .order_by(Award.issued_at.desc())
        .limit(FEED_SIZE)
    )
    found += [(at, "award", t, str(_("Award notice"))) for at, t in awards]
    failed = db.session.execute(
        select(Tender.closed_at, Tender)
        .where(Tender.status == TenderStatus.FAILED, Tender.closed_at.is_not(None), Tender.published_at.is_not(None))
        .order_by(Tender.closed_at.desc())
        .limit(FEED_SIZE)
    )
    found += [(at, "failed", t, str(_("Tender failed (too few valid bids)"))) for at, t in failed if at is not None]
    found.sort(key=lambda row: (row[0], row[2].id, row[1]), reverse=True)
    entries = []
    for at, kind, tender, label in found[:FEED_SIZE]:
        entries.append(
            Entry(
                id=tag(f"tender/{tender.id}/{kind}"),
                title=f"{labelled(label)}{tender.title}",
                updated=at,
                published=at,
                link=url_for("portal.tender", tender_id=tender.id, _external=True, _anchor=kind),
                summary=f"{labelled(_('Reference'))}{tender.reference or '—'}",
                category=kind,
            )
        )
    return entries


def atom(*, feed_id: str, title: str, self_url: str, page_url: str, entries: list[Entry], lang: str) -> bytes:
    """The feed document: RFC 4287's required elements (feed id, title, updated, author, self link; entry id,
    title, updated, link) and a summary per entry."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": lang})
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "updated", rfc3339(max((e.updated for e in entries), default=_epoch())))
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    author = sub(feed, "author")
    sub(author, "name", center_name(current_app.config))
    sub(feed, "generator", "portal")
    for e in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", e.id)
        sub(entry, "title", e.title)
        sub(entry, "updated", rfc3339(e.updated))
        sub(entry, "published", rfc3339(e.published))
        sub(entry, "link", rel="alternate", type="text/html", href=e.link)
        sub(entry, "category", term=e.category)
        sub(entry, "summary", e.summary)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def last_updated(entries: list[Entry]) -> datetime:
    return max((e.updated for e in entries), default=_epoch())
