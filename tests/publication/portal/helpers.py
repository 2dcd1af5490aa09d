"""Helpers of the portal tests: tenders inserted as rows (for the search's filters), and the pages' text."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from flask import Flask

from app.core.time import now_utc as clock_now
from tests.factories import World

SKIP = {"script", "style"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.skip += tag in SKIP

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in SKIP

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.parts.append(data.strip())


def text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def main(html: str) -> str:
    """The page's <main> element (without the header, whose language buttons and navigation are the shell's)."""
    found = re.search(r"<main\b.*?</main>", html, re.S)
    assert found is not None
    return found.group(0)


def insert_tender(world: World, *, published_at: datetime | None, **fields: Any) -> int:
    """A tender row in a published state (not through the publishing service: no key, no documents), for the search's
    filters only. `fields` override the columns (title, reference, category, status, budget_amount, buyer_id, …)."""
    from app.core.db import db
    from app.tendering.models import EvaluationMethod, Tender, TenderStatus
    from app.tendering.terms import DEFAULT_BID_FORM, DEFAULT_ENVELOPES

    app: Flask = world.app
    with app.app_context():
        deadline = fields.pop("submission_deadline_at", (published_at or clock_now()) + timedelta(days=20))
        tender = Tender(
            title=fields.pop("title", "道路维修工程"),
            buyer_id=fields.pop("buyer_id", world.buyer_id),
            agency_id=world.agency.org_id,
            created_by_id=world.agency.user_id,
            category=fields.pop("category", "construction"),
            budget_amount=fields.pop("budget_amount", 100_000_000),
            submission_deadline_at=deadline,
            opening_at=fields.pop("opening_at", deadline),
            evaluation_method=EvaluationMethod.LOWEST_EVALUATED_PRICE,
            criteria={},
            envelopes=DEFAULT_ENVELOPES,
            bid_form_schema=DEFAULT_BID_FORM,
            max_bid_size=1 << 20,
            status=fields.pop("status", TenderStatus.PUBLISHED),
            version=1,
            published_at=published_at,
            **fields,
        )
        db.session.add(tender)
        db.session.commit()
        return int(tender.id)


def buyer(app: Flask, name: str, n: int) -> int:
    from tests.factories import organisation

    return organisation(app, name=name, kind="buyer", n=n)


def set_region(app: Flask, buyer_id: int, region: str) -> None:
    from app.core.db import db
    from app.publication.portal.services import set_buyer_region

    with app.app_context():
        set_buyer_region(actor="system:test", organisation_id=buyer_id, region=region)
        db.session.commit()


def ids(html: str) -> list[int]:
    """The tenders a result page lists, in its order."""
    return [int(m) for m in re.findall(r'data-tender="(\d+)"', html)]
