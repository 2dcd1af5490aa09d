"""Build an OCDS 1.1 release (with the bids extension) from a tender's public state at one evidence-log event.

Only what is already public goes in: the published terms, documents with their SHA-256, clarifications; bidders,
bid statuses and prices only once the opening's last stage is recorded (every envelope decrypted or failed);
candidates once published; the award once issued. Before that nothing here reads a bid, so no release can count them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import select

from app.core.db import db
from app.evaluation.models import Award, EvaluationReport
from app.tendering.models import (
    Bid,
    BidOutcome,
    EvaluationMethod,
    OpeningRecord,
    Tender,
    TenderStatus,
    TenderVersion,
)

OCDS_VERSION = "1.1"
# The bids extension at the version whose schema is kept in schema/bid_extension/.
BID_EXTENSION_URL = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
)
# org-id.guide's code for China's unified social credit code (统一社会信用代码): lists/cn/cn-usci.json.
USCC_SCHEME = "CN-USCI"

# Evidence-log actions that publish a release, and the release tag each one gives.
TAGS: dict[str, str] = {
    "tendering.tender.published": "tender",
    "tendering.tender.clarification": "tenderAmendment",
    "tendering.tender.amendment": "tenderAmendment",
    "tendering.tender.cancelled": "tenderCancellation",
    "tendering.opening.record_published": "tenderUpdate",  # the last stage's record only: see tag_of
    "tendering.tender.failed": "tenderUpdate",
    "evaluation.publicity.started": "award",
    "evaluation.award.issued": "award",
    "evaluation.award.declined": "awardCancellation",
}
# The releaseTag codelist's order, for a release that several events of one transaction make.
TAG_ORDER = ["tender", "tenderAmendment", "tenderUpdate", "tenderCancellation", "award", "awardUpdate",
             "awardCancellation"]  # fmt: skip

_CATEGORY = {"construction": "works", "works": "works", "goods": "goods", "services": "services"}
_TENDER_STATUS = {
    TenderStatus.PUBLISHED: "active",
    TenderStatus.OPENING: "active",
    TenderStatus.OPENED: "active",
    TenderStatus.FAILED: "unsuccessful",
    TenderStatus.CANCELLED: "cancelled",
    TenderStatus.AWARDED: "complete",
}
_BID_STATUS = {
    BidOutcome.PENDING: "pending",
    BidOutcome.VALID: "valid",
    BidOutcome.REVOKED: "disqualified",  # 撤销: failed through the bidder's fault
    BidOutcome.WITHDRAWN: "withdrawn",  # 撤回
    BidOutcome.ELIMINATED: "disqualified",  # not admitted to a later stage
}


class Event(NamedTuple):
    """An evidence-log entry that publishes a release (copied out of the session at flush)."""

    log_index: int
    action: str
    tender_id: int
    created_at: datetime
    data: dict[str, Any]


def tag_of(event: Event) -> str | None:
    if event.action == "tendering.opening.record_published" and event.data.get("result") not in ("opened", "failed"):
        return None  # an earlier stage: names and prices wait until all decryption is done
    return TAGS.get(event.action)


def ocid_prefix() -> str:
    return str(current_app.config["OCDS_OCID_PREFIX"])


def ocid_for(tender_id: int) -> str:
    return f"{ocid_prefix()}-{tender_id}"


def release_id(ocid: str, audit_index: int) -> str:
    """Stable and unique: the evidence-log index is unique and never reused, and the release is named after it."""
    return f"{ocid}-{audit_index}"


def instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amount(fen: int, currency: str = "CNY") -> dict[str, Any]:
    """分 → yuan as a JSON number (exact: Decimal through its string), with the currency."""
    yuan = Decimal(fen) / 100
    value: int | float = int(yuan) if yuan == yuan.to_integral_value() else float(str(yuan))
    return {"amount": value, "currency": currency}


def _party_id(org: Any) -> str:
    return f"{USCC_SCHEME}-{org.uscc}" if org.uscc else f"org-{org.id}"


def _ref(org: Any) -> dict[str, Any]:
    return {"id": _party_id(org), "name": org.name}


class _Parties:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def add(self, org: Any, role: str) -> dict[str, Any]:
        pid = _party_id(org)
        party = self.by_id.get(pid)
        if party is None:
            party = {"id": pid, "name": org.name, "roles": []}
            if org.uscc:
                party["identifier"] = {"scheme": USCC_SCHEME, "id": org.uscc, "legalName": org.name}
            self.by_id[pid] = party
        if role not in party["roles"]:
            party["roles"].append(role)
        return _ref(org)


def _documents(tender: Tender, base_url: str) -> list[dict[str, Any]]:
    published = tender.published_at
    docs = []
    for d in tender.documents:
        when = d.uploaded_at if published is None or d.uploaded_at > published else published
        docs.append(
            {
                "id": str(d.id),
                "documentType": "biddingDocuments",
                "title": d.name,
                "description": f"SHA-256: {d.sha256}",
                "url": f"{base_url}/api/v1/tenders/{tender.id}/documents/{d.id}",
                "datePublished": instant(when),
                "format": d.content_type,
                "language": "zh",
                # Not an OCDS core field (listed in the README): the document's SHA-256, for machines.
                "sha256": d.sha256,
            }
        )
    return docs


def _amendments(tender: Tender, ocid: str) -> list[dict[str, Any]]:
    versions = list(
        db.session.scalars(
            select(TenderVersion).where(TenderVersion.tender_id == tender.id).order_by(TenderVersion.number)
        )
    )
    out = []
    previous: TenderVersion | None = None
    for v in versions:
        if v.kind in ("clarification", "amendment") and v.audit_index is not None:
            item: dict[str, Any] = {
                "id": f"{tender.id}-v{v.number}",
                "date": instant(v.created_at),
                "rationale": "澄清" if v.kind == "clarification" else "修改",
                "description": v.text,
                "releaseID": release_id(ocid, v.audit_index),
            }
            if previous is not None and previous.audit_index is not None:
                item["amendsReleaseID"] = release_id(ocid, previous.audit_index)
            out.append(item)
        previous = v
    return out


def _opening_done(tender: Tender) -> bool:
    """True once the record of the last stage is published (or the tender failed): every decryption is done."""
    records = db.session.scalars(select(OpeningRecord).where(OpeningRecord.tender_id == tender.id))
    return any(r.document.get("payload", {}).get("result") in ("opened", "failed") for r in records)


def _bid_value(bid: Bid) -> dict[str, Any] | None:
    version = bid.current_version
    if version is None:
        return None
    for env in version.envelopes:
        form = env.form
        if form is not None and isinstance(form.get("price"), int) and not isinstance(form.get("price"), bool):
            currency = form.get("currency")
            return amount(int(form["price"]), currency if isinstance(currency, str) else "CNY")
    return None


def _bids(tender: Tender, parties: _Parties) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bids = [
        b
        for b in db.session.scalars(select(Bid).where(Bid.tender_id == tender.id).order_by(Bid.id))
        if b.current_version is not None
    ]
    details = []
    tenderers: dict[str, dict[str, Any]] = {}
    for bid in bids:
        ref = parties.add(bid.organisation, "tenderer")
        status = "withdrawn" if bid.withdrawn else _BID_STATUS[bid.outcome]
        detail: dict[str, Any] = {"id": bid.public_id, "status": status, "tenderers": [ref]}
        if bid.current_version is not None:
            detail["date"] = instant(bid.current_version.received_at)
        value = None if bid.withdrawn else _bid_value(bid)
        if value is not None:
            detail["value"] = value
        details.append(detail)
        if not bid.withdrawn:
            tenderers[ref["id"]] = ref
    submitted = sum(1 for b in bids if not b.withdrawn)
    valid = sum(1 for b in bids if not b.withdrawn and b.outcome is BidOutcome.VALID)
    statistics = [
        {"id": "bids", "measure": "bids", "value": submitted},
        {"id": "validBids", "measure": "validBids", "value": valid},
        {"id": "electronicBids", "measure": "electronicBids", "value": submitted},
    ]
    return {"statistics": statistics, "details": details}, list(tenderers.values())


def _bid_by_public_id(tender: Tender, public_id: str) -> Bid | None:
    return db.session.scalar(select(Bid).where(Bid.tender_id == tender.id, Bid.public_id == public_id))


def _award(
    tender: Tender, bid: Bid, *, price: Any, status: str, date: datetime | None, parties: _Parties
) -> dict[str, Any]:
    ref = parties.add(bid.organisation, "supplier")
    award: dict[str, Any] = {
        "id": f"{tender.id}-{bid.public_id}",
        "title": tender.title,
        "status": status,
        "suppliers": [ref],
        "relatedBid": bid.public_id,
    }
    if date is not None:
        award["date"] = instant(date)
    if isinstance(price, int) and not isinstance(price, bool):
        award["value"] = amount(price, tender.budget_currency)
    return award


def _awards(tender: Tender, parties: _Parties) -> list[dict[str, Any]]:
    report = db.session.scalar(select(EvaluationReport).where(EvaluationReport.tender_id == tender.id))
    if report is None or report.publicity_started_at is None:
        return []
    recommended = report.document.get("recommended") or []
    prices = {str(c.get("bid_id")): c.get("price") for c in recommended}
    award_row = db.session.scalar(select(Award).where(Award.tender_id == tender.id))
    awards: list[dict[str, Any]] = []
    if award_row is None:
        # 中标候选人公示: the first candidate's award is pending until the award notice.
        if recommended:
            bid = _bid_by_public_id(tender, str(recommended[0]["bid_id"]))
            if bid is not None:
                awards.append(
                    _award(tender, bid, price=prices.get(bid.public_id), status="pending", date=None, parties=parties)
                )
        return awards
    payload = award_row.signed["payload"]
    for declined in payload.get("declined", []):
        bid = _bid_by_public_id(tender, str(declined["bid_id"]))
        if bid is not None:
            awards.append(
                _award(tender, bid, price=prices.get(bid.public_id), status="cancelled", date=None, parties=parties)
            )
    winner = db.session.get(Bid, award_row.winner_bid_id)
    if winner is not None:
        awards.append(
            _award(
                tender,
                winner,
                price=payload["winner"].get("price"),
                status="active",
                date=award_row.issued_at,
                parties=parties,
            )
        )
    return awards


def build_release(tender: Tender, events: list[Event]) -> dict[str, Any] | None:
    """The release for `events` (one transaction's, in log order) of a published tender; None when none is due."""
    if tender.published_at is None:
        return None  # a draft (or a draft cancelled before publication) was never public
    tags = {t for t in (tag_of(e) for e in events) if t is not None}
    if not tags:
        return None
    last = events[-1]
    ocid = ocid_for(tender.id)
    base_url = str(current_app.config.get("OCDS_PUBLIC_URL") or "").rstrip("/")
    parties = _Parties()
    buyer = parties.add(tender.buyer, "buyer")
    procuring = parties.add(tender.agency, "procuringEntity")
    opened = _opening_done(tender)
    budget_public = tender.budget_amount is not None and (not tender.budget_secret or opened)

    tender_part: dict[str, Any] = {
        "id": tender.reference or str(tender.id),
        "title": tender.title,
        "description": tender.description,
        "status": _TENDER_STATUS.get(tender.status, "active"),
        "procuringEntity": procuring,
        "procurementMethod": "open",
        "procurementMethodDetails": "公开招标",
        "awardCriteria": "ratedCriteria" if tender.evaluation_method is EvaluationMethod.COMPREHENSIVE else "priceOnly",
        "awardCriteriaDetails": "综合评估法"
        if tender.evaluation_method is EvaluationMethod.COMPREHENSIVE
        else "经评审的最低投标价法",
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": instant(tender.published_at), "endDate": instant(tender.submission_deadline_at)},
        "documents": _documents(tender, base_url),
    }
    category = _CATEGORY.get(tender.category)
    if category is not None:
        tender_part["mainProcurementCategory"] = category
    if budget_public and tender.budget_amount is not None:
        tender_part["value"] = amount(tender.budget_amount, tender.budget_currency)
    amendments = _amendments(tender, ocid)
    if amendments:
        tender_part["amendments"] = amendments

    release: dict[str, Any] = {
        "ocid": ocid,
        "id": release_id(ocid, last.log_index),
        "date": instant(last.created_at),
        "tag": [t for t in TAG_ORDER if t in tags],
        "initiationType": "tender",
        "language": "zh",
        "buyer": buyer,
    }
    if budget_public and tender.budget_amount is not None:
        release["planning"] = {"budget": {"amount": amount(tender.budget_amount, tender.budget_currency)}}
    if opened:
        bids, tenderers = _bids(tender, parties)
        tender_part["numberOfTenderers"] = len(tenderers)
        tender_part["tenderers"] = tenderers
        release["bids"] = bids
    release["tender"] = tender_part
    awards = _awards(tender, parties) if opened else []
    if awards:
        release["awards"] = awards
    release["parties"] = list(parties.by_id.values())
    return release
