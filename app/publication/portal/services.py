"""What the public portal shows of a tender, read from tendering and evaluation; the buyers' regions.

Nothing sealed before the opening: a tender's page reads no bid, no upload and no envelope. The opening record is
read only once the record of the opening's last stage is published (every envelope decrypted or failed, or the
tender failed), as the OCDS releases do; candidates once their publicity started; the award once issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.accounts.models import Organisation, OrganisationKind
from app.audit import record
from app.core.db import db, is_valid_id
from app.core.errors import NotFound, ValidationFailed, clean_text
from app.core.problems import N_
from app.core.time import now_utc
from app.evaluation.models import Award, EvaluationReport
from app.publication.portal.models import BuyerRegion
from app.publication.portal.search import is_budget_public
from app.tendering.models import OpeningRecord, Tender, TenderVersion
from app.tendering.services_questions import list_questions
from app.tendering.services_tenders import PUBLIC_STATUSES, is_open_for_bids

FINAL_RESULTS = ("opened", "failed")  # an opening record's result once every decryption is done


def get_public_tender(tender_id: int) -> Tender:
    """A tender the public may see: published at some point (a draft, or a draft cancelled unpublished, is not)."""
    tender = db.session.get(Tender, tender_id) if is_valid_id(tender_id) else None
    if tender is None or tender.status not in PUBLIC_STATUSES or tender.published_at is None:
        raise NotFound(N_("No such tender."))
    return tender


def _bidder_name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value or "")


@dataclass(frozen=True)
class OpeningSummary:
    published_at: datetime
    audit_index: int
    result: str
    valid_bids: int
    min_bids: int
    budget: dict[str, Any] | None
    bids: list[dict[str, Any]]


def final_opening(tender: Tender) -> OpeningSummary | None:
    """The opening record of the last stage, once published (None before: nothing of the bids is public)."""
    records = db.session.scalars(
        select(OpeningRecord).where(OpeningRecord.tender_id == tender.id).order_by(OpeningRecord.stage.desc())
    )
    for rec in records:
        payload = rec.document.get("payload", {})
        if payload.get("result") not in FINAL_RESULTS:
            continue
        bids = []
        for b in payload.get("bids", []):
            form = b.get("form") or {}
            price = form.get("price")
            bids.append(
                {
                    "bidder": _bidder_name(b.get("bidder")),
                    "outcome": str(b.get("outcome") or ""),
                    "price": price if isinstance(price, int) and not isinstance(price, bool) else None,
                    "currency": form.get("currency") if isinstance(form.get("currency"), str) else "CNY",
                    "envelopes": [
                        {"name": e.get("name"), "sha256": e.get("sha256"), "outcome": e.get("outcome")}
                        for e in b.get("envelopes", [])
                    ],
                }
            )
        return OpeningSummary(
            published_at=rec.published_at,
            audit_index=rec.audit_index,
            result=str(payload["result"]),
            valid_bids=int(payload.get("valid_bids") or 0),
            min_bids=int(payload.get("min_bids") or tender.min_bids),
            budget=payload.get("budget"),
            bids=bids,
        )
    return None


@dataclass(frozen=True)
class Publicity:
    started_at: datetime
    ends_at: datetime | None
    report_sha256: str
    candidates: list[dict[str, Any]]
    committee: list[dict[str, Any]]


def publicity(tender: Tender) -> Publicity | None:
    """中标候选人公示: the recommended candidates once their publicity started (None before)."""
    report = db.session.scalar(select(EvaluationReport).where(EvaluationReport.tender_id == tender.id))
    if report is None or report.publicity_started_at is None:
        return None
    return Publicity(
        started_at=report.publicity_started_at,
        ends_at=report.publicity_ends_at,
        report_sha256=report.report_sha256,
        candidates=[
            {"rank": c.get("rank"), "bidder": _bidder_name(c.get("bidder")), "price": c.get("price")}
            for c in report.document.get("recommended", [])
        ],
        committee=[
            {"seat": m.get("seat"), "name": m.get("name")}
            for m in report.document.get("committee", {}).get("members", [])
        ],
    )


@dataclass(frozen=True)
class AwardNotice:
    issued_at: datetime
    winner: str
    price: int | None
    audit_index: int
    declined: list[str]


def award(tender: Tender) -> AwardNotice | None:
    """The award (中标结果公告) once issued: the winner and the price (None before)."""
    row = db.session.scalar(select(Award).where(Award.tender_id == tender.id))
    if row is None:
        return None
    payload = row.signed.get("payload", {})
    winner = payload.get("winner", {})
    price = winner.get("price")
    return AwardNotice(
        issued_at=row.issued_at,
        winner=_bidder_name(winner.get("bidder")),
        price=price if isinstance(price, int) and not isinstance(price, bool) else None,
        audit_index=row.audit_index,
        declined=[_bidder_name(d.get("bidder")) for d in payload.get("declined", [])],
    )


def ocds_ocid(tender: Tender) -> str | None:
    """The tender's OCDS ocid where the OCDS API is installed (app.publication.ocds), else None."""
    if "ocds.one_record" not in current_app.view_functions:
        return None
    from app.publication.ocds.build import ocid_for

    return ocid_for(tender.id)


def tender_page(tender: Tender) -> dict[str, Any]:
    """Everything the public page of `tender` shows."""
    versions = list(
        db.session.scalars(
            select(TenderVersion).where(TenderVersion.tender_id == tender.id).order_by(TenderVersion.number)
        )
    )
    region = db.session.scalar(select(BuyerRegion.region).where(BuyerRegion.organisation_id == tender.buyer_id))
    return {
        "tender": tender,
        "region": region,
        "budget_public": is_budget_public(tender),
        "documents": list(tender.documents),
        "versions": versions,
        "questions": list_questions(tender, answered_only=True),
        "opening": final_opening(tender),
        "publicity": publicity(tender),
        "award": award(tender),
        "ocid": ocds_ocid(tender),
        "open_for_bids": is_open_for_bids(tender),
    }


# --- regions -------------------------------------------------------------------------------------------


def set_buyer_region(*, actor: Any, organisation_id: int, region: str) -> BuyerRegion | None:
    """Record the region a buyer belongs to (an empty region removes it); logged. Flushes.
    Raises NotFound (no such buyer) or ValidationFailed (the region's text)."""
    org = db.session.get(Organisation, organisation_id) if is_valid_id(organisation_id) else None
    if org is None or org.kind is not OrganisationKind.BUYER:
        raise NotFound(N_("No such buyer."))
    text = clean_text(region, "region", 100, required=False)
    row = db.session.get(BuyerRegion, org.id)
    before = row.region if row is not None else None
    if before == (text or None):
        return row
    if not text:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        row = BuyerRegion(organisation_id=org.id, region=text, updated_at=now_utc())
        db.session.add(row)
    else:
        row.region = text
        row.updated_at = now_utc()
    record(
        "publication.portal.buyer_region_set",
        actor=actor,
        subject=org.audit_ref,
        data={"region": text or None, "before": before},
    )
    db.session.flush()
    return row if text else None


def buyer_by_name(name: str) -> int:
    org_id = db.session.scalar(
        select(Organisation.id).where(Organisation.name == name, Organisation.kind == OrganisationKind.BUYER)
    )
    if org_id is None:
        raise ValidationFailed(N_("No buyer of that name."))
    return int(org_id)


# The demo buyer (app/demo.py) and its region: the portal's region filter has something to offer after `make run`.
DEMO_REGIONS = {"邯郸市示范中学": "河北省邯郸市丛台区"}


def seed_demo_regions() -> list[str]:
    """Give the demo buyers their regions when they have none (idempotent). Flushes."""
    for name, region in DEMO_REGIONS.items():
        org_id = db.session.scalar(
            select(Organisation.id).where(Organisation.name == name, Organisation.kind == OrganisationKind.BUYER)
        )
        if org_id is not None and db.session.get(BuyerRegion, org_id) is None:
            set_buyer_region(actor="system:demo", organisation_id=org_id, region=region)
    return []
