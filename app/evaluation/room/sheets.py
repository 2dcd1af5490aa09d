"""Score sheets of the room: drafts, submission, corrections, progress, aggregation.

Comprehensive scoring fills them with points; a lowest-evaluated-price tender that configures price adjustments
(criteria `adjustments`: a percentage of the price or an amount, within [min, max]) fills them with the
adjustments each member records per bid, and the aggregation ranks by evaluated price (see
`adjusted_price_result`); the outlier rule does not apply to adjustments, `objective` ones must agree.

- A member scores every typed (non-price) criterion of every bid that passed the review, from 0 to the
  criterion's weight, at most `precision` decimals. The price criterion is computed by formula
  (scoring.price_scores over the bids in evaluation); sheet totals are computed, never typed.
- Drafts are saved with PUT (idempotent: the same body leaves the same sheet and logs nothing new).
- Outliers, at submission: a subjective score deviating from the mean of the OTHER members' submitted scores
  for the same bid and criterion by more than `outlier_percent` % of that mean needs a written reason.
  At aggregation: a score deviating from the mean of ALL members' scores likewise needs one; a missing reason
  blocks aggregation until the member adds it through a correction of kind `missing_outlier_reason`.
- Objective criteria (the room's `objective` list) must be scored alike by every member: a disagreement blocks
  aggregation until corrected (kind `objective_mismatch`).
- Submission locks the sheet. Corrections (only of the kinds in CORRECTION_KINDS, with a reason, until the
  result is aggregated) create a new version; the old one is kept as superseded.
- Aggregation (by the chair, all sheets in): per bid and criterion scoring.aggregate (dropping one highest and
  one lowest when configured and the committee is large enough), totals summed from the rounded criterion
  scores, ranked with the configured tie-break rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, ValidationFailed, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.evaluation.models import CommitteeMember, ReviewSheet, Room, RoomPhase, ScoreSheet, SheetStatus
from app.evaluation.room import chair as services_chair
from app.evaluation.room import scoring
from app.evaluation.room.services import (
    bid_price,
    digest,
    failed_public_ids,
    instant,
    is_scoring_room,
    public_ids,
    require_chair,
    require_member,
    room_bid,
    room_bids,
    room_public_ids,
    seated_members,
    viewer,
)
from app.tendering.models import EvaluationMethod, Tender

CORRECTION_KINDS = ("transcription", "misread_document", "objective_mismatch", "missing_outlier_reason")


def _fail(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    return field_error(field, message, params)


def rules(room: Room) -> scoring.Rules:
    return scoring.Rules.from_json(room.committee.rules)


def criteria(tender: Tender) -> list[dict[str, Any]]:
    return list((tender.criteria or {}).get("items", []))


def typed_criteria(tender: Tender) -> dict[str, Decimal]:
    """Comprehensive scoring: the criteria members score (every one but price), with their maximum points."""
    if tender.evaluation_method is not EvaluationMethod.COMPREHENSIVE:
        return {}
    return {str(c["name"]): Decimal(c["weight"]) for c in criteria(tender) if c.get("category") != "price"}


def adjustments(tender: Tender) -> list[dict[str, Any]]:
    """Lowest evaluated price: the configured price adjustments (价格折算) members record per bid."""
    if tender.evaluation_method is not EvaluationMethod.LOWEST_EVALUATED_PRICE:
        return []
    return list((tender.criteria or {}).get("adjustments", []))


@dataclass(frozen=True)
class Typed:
    """What a member types for one item of a sheet: a criterion's points or a price adjustment."""

    low: Decimal
    high: Decimal
    precision: int
    kind: str  # "points" | "percent" (of the bid price) | "amount" (minor units)


def typed_items(tender: Tender, room: Room) -> dict[str, Typed]:
    """The items of a member's sheet: points from 0 to the weight (comprehensive), or the adjustments recorded as
    a percentage with up to two decimals or a whole amount, within the configured bounds (lowest evaluated price)."""
    if tender.evaluation_method is EvaluationMethod.LOWEST_EVALUATED_PRICE:
        return {
            str(a["name"]): Typed(Decimal(a["min"]), Decimal(a["max"]), 2 if a["kind"] == "percent" else 0, a["kind"])
            for a in adjustments(tender)
        }
    precision = rules(room).precision
    return {name: Typed(Decimal(0), high, precision, "points") for name, high in typed_criteria(tender).items()}


def is_adjusted_price(tender: Tender) -> bool:
    return tender.evaluation_method is EvaluationMethod.LOWEST_EVALUATED_PRICE


def in_evaluation(room: Room) -> list[int]:
    """The internal ids of the bids before the room that the review did not fail, in the room's order."""
    failed = failed_public_ids(room)
    pub = public_ids(room.bid_ids)
    return [b for b in room.bid_ids if pub[b] not in failed]


def price_points(tender: Tender, room: Room) -> dict[int, dict[str, Decimal]]:
    """Bid -> {price criterion: points}, by formula over the prices of the bids still in evaluation."""
    keep = set(in_evaluation(room))
    prices = {b.id: p for b in room_bids(room) if b.id in keep and (p := bid_price(b, room.stage)) is not None}
    out: dict[int, dict[str, Decimal]] = {b: {} for b in keep}
    for c in criteria(tender):
        if c.get("category") == "price":
            for bid_id, points in scoring.price_scores(prices, Decimal(c["weight"]), rules(room)).items():
                out[bid_id][str(c["name"])] = points
    return out


def current(room: Room, member: CommitteeMember, bid_id: int) -> ScoreSheet | None:
    return db.session.scalar(
        select(ScoreSheet)
        .where(ScoreSheet.room_id == room.id, ScoreSheet.member_id == member.id, ScoreSheet.bid_id == bid_id)
        .order_by(ScoreSheet.version.desc())
        .limit(1)
    )


def _submitted(room: Room) -> list[ScoreSheet]:
    return list(
        db.session.scalars(
            select(ScoreSheet).where(ScoreSheet.room_id == room.id, ScoreSheet.status == SheetStatus.SUBMITTED)
        )
    )


def sheet_view(
    sheet: ScoreSheet | None, member: CommitteeMember, public_id: str, price: dict[str, Decimal]
) -> dict[str, Any]:
    return {
        "bid_id": public_id,
        "seat": member.seat,
        "version": sheet.version if sheet else 0,
        "status": sheet.status.value if sheet else "empty",
        "items": dict(sheet.items) if sheet else {},
        "computed": {k: str(v) for k, v in price.items()},
        "reasons": dict(sheet.reasons) if sheet else {},
        "total": sheet.total if sheet else None,
        "saved_at": sheet.saved_at if sheet else None,
        "submitted_at": sheet.submitted_at if sheet else None,
        "correction_kind": sheet.correction_kind if sheet else None,
        "correction_reason": sheet.correction_reason if sheet else None,
    }


def _scoring_member(actor: Any, tender: Tender, room: Room, public_id: str) -> tuple[CommitteeMember, int]:
    """The member scoring, and the internal id of the bid in evaluation named by `public_id` (NotFound otherwise)."""
    member = require_member(actor, tender, room, "score")
    if room.phase is not RoomPhase.SCORING:
        raise Conflict(N_("The room is not scoring."))
    bid = room_bid(room, public_id)
    if bid is None or bid.id not in in_evaluation(room):
        raise NotFound(N_("No such bid in evaluation."))
    return member, bid.id


def _clean(
    tender: Tender, room: Room, items: dict[str, Any], reasons: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    typed = typed_items(tender, room)
    out_items: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, value in items.items():
        if name not in typed:
            errors[name] = ["not a criterion scored by members (price is computed)"]
            continue
        item = typed[name]
        try:
            points = scoring.parse_points(value, high=item.high, low=item.low, precision=item.precision)
            out_items[name] = scoring.to_text(points, item.precision)
        except scoring.ScoreError as exc:
            errors[name] = [str(exc)]
    for name in reasons:
        if name not in typed:
            errors[f"reasons.{name}"] = ["not a criterion scored by members"]
    if errors:
        raise ValidationFailed(N_("Some scores are not acceptable."), errors=errors)
    out_reasons = {k: v.strip() for k, v in reasons.items() if isinstance(v, str) and v.strip()}
    return out_items, out_reasons


def own_sheets(*, actor: Any, tender: Tender, room: Room) -> list[dict[str, Any]]:
    """The caller's own current sheets, one per bid in evaluation; never another member's."""
    member = require_member(actor, tender, room, "score")
    if room.phase is RoomPhase.REVIEW or not is_scoring_room(tender, room.stage):
        return []
    price = price_points(tender, room)
    pub = public_ids(room.bid_ids)
    return [sheet_view(current(room, member, b), member, pub[b], price.get(b, {})) for b in in_evaluation(room)]


def save_draft(
    *, actor: Any, tender: Tender, room: Room, bid_id: str, items: dict[str, Any], reasons: dict[str, Any]
) -> dict[str, Any]:
    member, bid = _scoring_member(actor, tender, room, bid_id)
    sheet = current(room, member, bid)
    if sheet is not None and sheet.status is not SheetStatus.DRAFT:
        raise Conflict(N_("This sheet is submitted and locked; only a correction can change it."))
    clean_items, clean_reasons = _clean(tender, room, items, reasons)
    now = now_utc()
    price = price_points(tender, room).get(bid, {})
    if sheet is None:
        sheet = ScoreSheet(room_id=room.id, member_id=member.id, bid_id=bid, version=1, saved_at=now)
        sheet.items, sheet.reasons = clean_items, clean_reasons
        db.session.add(sheet)
    elif (sheet.items, sheet.reasons) == (clean_items, clean_reasons):
        return sheet_view(sheet, member, bid_id, price)
    else:
        sheet.items, sheet.reasons, sheet.saved_at = clean_items, clean_reasons, now
    db.session.flush()
    record(
        "evaluation.sheet.saved",
        actor=actor,
        subject=room.audit_subject,
        data={
            "stage": room.stage,
            "seat": member.seat,
            "bid_id": bid_id,
            "version": sheet.version,
            "sheet_sha256": digest({"items": clean_items, "reasons": clean_reasons}),
            "at": instant(now),
        },
    )
    return sheet_view(sheet, member, bid_id, price)


def _check_outliers(room: Room, tender: Tender, member: CommitteeMember, bid_id: int, sheet: ScoreSheet) -> None:
    """Against the mean of the other members' submitted scores for this bid and criterion."""
    if is_adjusted_price(tender):  # adjustments are facts to record, not judgements: no outlier rule
        return
    percent = rules(room).outlier_percent
    others = [s for s in _submitted(room) if s.bid_id == bid_id and s.member_id != member.id]
    errors: dict[str, list[str]] = {}
    for name, text in sheet.items.items():
        if name in room.objective:
            continue
        values = [Decimal(s.items[name]) for s in others if name in s.items]
        if values and scoring.is_outlier(Decimal(text), values, percent) and not sheet.reasons.get(name):
            errors[name] = [f"deviates more than {percent}% from the other members' mean: give a written reason"]
    if errors:
        raise ValidationFailed(N_("Outlying scores need a written reason."), errors={"reasons": errors})


def member_evaluated_price(tender: Tender, room: Room, bid_id: int, items: dict[str, str]) -> int:
    """One member's evaluated price of a bid: the price plus the member's adjustments, rounded to whole units."""
    bid = next((b for b in room_bids(room) if b.id == bid_id), None)
    price = bid_price(bid, room.stage) if bid is not None else None
    if price is None:
        raise Conflict(N_("The bid's price is not opened."))
    typed = typed_items(tender, room)
    amounts = [scoring.adjustment_amount(typed[k].kind, Decimal(v), price) for k, v in items.items() if k in typed]
    try:
        return scoring.evaluated_price(price, [int(scoring.quantize(sum(amounts, Decimal(0)), 0))])
    except scoring.ScoreError as exc:
        raise _fail("items", str(exc)) from None


def _lock(room: Room, tender: Tender, sheet: ScoreSheet, bid_id: int) -> None:
    typed = typed_items(tender, room)
    missing = sorted(set(typed) - set(sheet.items))
    if missing:
        raise _fail("items", N_("score every criterion: missing %(missing)s"), params={"missing": ", ".join(missing)})
    if is_adjusted_price(tender):
        sheet.total = str(member_evaluated_price(tender, room, bid_id, sheet.items))
    else:
        price = price_points(tender, room).get(bid_id, {})
        total = scoring.sheet_total({**{k: Decimal(v) for k, v in sheet.items.items()}, **price})
        sheet.total = scoring.to_text(total, rules(room).precision)
    sheet.status = SheetStatus.SUBMITTED
    sheet.submitted_at = now_utc()


def submit_sheet(*, actor: Any, tender: Tender, room: Room, bid_id: str) -> dict[str, Any]:
    member, bid = _scoring_member(actor, tender, room, bid_id)
    sheet = current(room, member, bid)
    if sheet is None or sheet.status is not SheetStatus.DRAFT:
        raise Conflict(N_("No draft to submit (save one first; a submitted sheet is changed by a correction)."))
    _check_outliers(room, tender, member, bid, sheet)
    _lock(room, tender, sheet, bid)
    db.session.flush()
    record(
        "evaluation.sheet.submitted",
        actor=actor,
        subject=room.audit_subject,
        data={
            "stage": room.stage,
            "seat": member.seat,
            "bid_id": bid_id,
            "version": sheet.version,
            "sheet_sha256": digest({"items": sheet.items, "reasons": sheet.reasons, "total": sheet.total}),
            "at": instant(sheet.submitted_at),
        },
    )
    return sheet_view(sheet, member, bid_id, price_points(tender, room).get(bid, {}))


def correct_sheet(
    *,
    actor: Any,
    tender: Tender,
    room: Room,
    bid_id: str,
    kind: str,
    reason: str,
    items: dict[str, Any],
    reasons: dict[str, Any],
) -> dict[str, Any]:
    """A correction of a submitted sheet, of a listed kind and with its reason, as a new submitted version."""
    member, bid = _scoring_member(actor, tender, room, bid_id)
    old = current(room, member, bid)
    if old is None or old.status is not SheetStatus.SUBMITTED:
        raise Conflict(N_("Only a submitted sheet is corrected."))
    if kind not in CORRECTION_KINDS:
        raise _fail("kind", N_("one of %(kinds)s"), params={"kinds": ", ".join(CORRECTION_KINDS)})
    if not reason.strip():
        raise _fail("reason", N_("give the reason for the correction"))
    clean_items, clean_reasons = _clean(tender, room, items, reasons)
    new_items, new_reasons = {**old.items, **clean_items}, {**old.reasons, **clean_reasons}
    if (new_items, new_reasons) == (old.items, old.reasons):
        raise _fail("items", N_("the correction changes nothing"))
    sheet = ScoreSheet(
        room_id=room.id,
        member_id=member.id,
        bid_id=bid,
        version=old.version + 1,
        items=new_items,
        reasons=new_reasons,
        saved_at=now_utc(),
        correction_kind=kind,
        correction_reason=reason.strip(),
    )
    _check_outliers(room, tender, member, bid, sheet)
    _lock(room, tender, sheet, bid)
    old.status = SheetStatus.SUPERSEDED
    db.session.add(sheet)
    db.session.flush()
    record(
        "evaluation.sheet.corrected",
        actor=actor,
        subject=room.audit_subject,
        data={
            "stage": room.stage,
            "seat": member.seat,
            "bid_id": bid_id,
            "kind": kind,
            "reason": reason.strip(),
            "from_version": old.version,
            "version": sheet.version,
            "sheet_sha256": digest({"items": sheet.items, "reasons": sheet.reasons, "total": sheet.total}),
            "at": instant(sheet.submitted_at),
        },
    )
    return sheet_view(sheet, member, bid_id, price_points(tender, room).get(bid, {}))


# --- progress and aggregation ------------------------------------------------------------------------


def progress(room: Room) -> list[dict[str, Any]]:
    """Who has submitted what (never the scores): one row per seat."""
    bids = in_evaluation(room) if room.phase is not RoomPhase.REVIEW else []
    submitted = {(s.member_id, s.bid_id) for s in _submitted(room)}
    reviews = {
        r.member_id
        for r in db.session.scalars(
            select(ReviewSheet).where(ReviewSheet.room_id == room.id, ReviewSheet.submitted_at.is_not(None))
        )
    }
    return [
        {
            "seat": m.seat,
            "chair": m.id == room.chair_member_id,
            "review_submitted": m.id in reviews,
            "sheets_submitted": sum(1 for b in bids if (m.id, b) in submitted),
            "sheets_expected": len(bids),
        }
        for m in seated_members(room.committee)
    ]


def status(*, actor: Any, tender: Tender, room: Room) -> dict[str, Any]:
    role = viewer(actor, tender, room)
    return status_payload(room, role)


def status_payload(room: Room, role: str) -> dict[str, Any]:
    pub = public_ids(room.bid_ids)
    return {
        "tender_id": room.tender_id,
        "stage": room.stage,
        "phase": room.phase.value,
        "viewer": role,
        "requirements": room.requirements,
        "objective": room.objective,
        "bid_ids": room_public_ids(room),
        "in_evaluation": [pub[b] for b in in_evaluation(room)],
        "opened_at": room.opened_at,
        "review_closed_at": room.review_closed_at,
        "finished_at": room.finished_at,
        "progress": progress(room),
        "review_result": room.review_result,
        "chair_seat": services_chair.chair_seat(room),
        "chair_election": services_chair.election_view(room),
    }


def _blockers(room: Room, sheets: dict[tuple[int, int], ScoreSheet], seats: dict[int, int]) -> dict[str, Any]:
    percent = rules(room).outlier_percent
    by_member: dict[int, dict[tuple[int, str], Decimal]] = {}
    for (mid, bid), s in sheets.items():
        for name in room.objective:
            by_member.setdefault(mid, {})[(bid, name)] = Decimal(s.items[name])
    pub = public_ids(room.bid_ids)
    mismatched = [{"bid_id": pub[b], "criterion": c} for b, c in scoring.disagreements(by_member)]
    unexplained: list[dict[str, Any]] = []
    if is_adjusted_price(room.committee.tender):
        return {"objective_mismatch": mismatched, "missing_outlier_reason": unexplained}
    for bid in {b for _, b in sheets}:
        for name in sorted({n for (m, b), s in sheets.items() if b == bid for n in s.items}):
            if name in room.objective:
                continue
            scores = {m: Decimal(s.items[name]) for (m, b), s in sheets.items() if b == bid}
            for m in sorted(scoring.outliers(scores, percent)):
                if not sheets[(m, bid)].reasons.get(name):
                    unexplained.append({"seat": seats[m], "bid_id": pub[bid], "criterion": name})
    return {"objective_mismatch": mismatched, "missing_outlier_reason": unexplained}


def aggregate(*, actor: Any, tender: Tender, room: Room) -> Room:
    """The chair aggregates once every member has submitted every sheet (see the module's rules)."""
    require_chair(actor, tender, room, "aggregate")
    if room.phase is not RoomPhase.SCORING:
        raise Conflict(N_("The room is not scoring."))
    members = seated_members(room.committee)
    bids = in_evaluation(room)
    sheets = {(s.member_id, s.bid_id): s for s in _submitted(room) if s.bid_id in bids}
    waiting = sorted({m.seat or 0 for m in members for b in bids if (m.id, b) not in sheets})
    if waiting:
        raise Conflict(N_("Not every member has submitted every sheet."), errors={"waiting_seats": waiting})
    seats = {m.id: m.seat or 0 for m in members}
    blockers = _blockers(room, sheets, seats)
    if blockers["objective_mismatch"] or blockers["missing_outlier_reason"]:
        raise Conflict(N_("The sheets need corrections before aggregation."), errors=blockers)
    if is_adjusted_price(tender):
        room.result = adjusted_price_result(tender, room, sheets, seats)
    else:
        room.result = comprehensive_result(tender, room, sheets, seats)
    now = now_utc()
    room.phase, room.finished_at = RoomPhase.FINISHED, now
    db.session.flush()
    record(
        "evaluation.result.aggregated",
        actor=actor,
        subject=room.audit_subject,
        data={"stage": room.stage, "result_sha256": digest(room.result), "result": room.result, "at": instant(now)},
    )
    return room


def comprehensive_result(
    tender: Tender, room: Room, sheets: dict[tuple[int, int], ScoreSheet], seats: dict[int, int]
) -> dict[str, Any]:
    r = rules(room)
    price = price_points(tender, room)
    categories = {str(c["name"]): c["category"] for c in criteria(tender)}
    rows: dict[int, dict[str, Any]] = {}
    candidates = []
    for bid in room_bids(room):
        if bid.id not in price:
            continue
        per: dict[str, Decimal] = dict(price[bid.id])
        mine = {m: s for (m, b), s in sheets.items() if b == bid.id}
        for name in typed_criteria(tender):
            per[name] = scoring.aggregate([Decimal(s.items[name]) for s in mine.values()], r)
        total = scoring.sheet_total(per)
        technical = sum((v for k, v in per.items() if categories.get(k) == "technical"), Decimal(0))
        received = instant(bid.current_version.received_at) if bid.current_version else ""
        candidates.append(scoring.Candidate(bid.id, total, bid_price(bid, room.stage) or 0, received, technical))
        rows[bid.id] = {
            "bid_id": bid.public_id,
            "bidder": bid.organisation.name,
            "price": bid_price(bid, room.stage),
            "criteria": {k: scoring.to_text(v, r.precision) for k, v in per.items()},
            "total": scoring.to_text(total, r.precision),
            "members": _member_sheets(mine, seats),
        }
    ranked = scoring.rank(candidates, higher_is_better=True, tie_break=r.tie_break)
    return _ranked_result(EvaluationMethod.COMPREHENSIVE, r, seats, rows, ranked)


def _member_sheets(mine: dict[int, ScoreSheet], seats: dict[int, int]) -> list[dict[str, Any]]:
    """One bid's sheets as the result shows them: by seat, never by member."""
    return sorted(
        (
            {"seat": seats[m], "version": s.version, "items": s.items, "reasons": s.reasons, "total": s.total}
            for m, s in mine.items()
        ),
        key=lambda x: x["seat"],
    )


def _ranked_result(
    method: EvaluationMethod,
    r: scoring.Rules,
    seats: dict[int, int],
    rows: dict[int, dict[str, Any]],
    ranked: list[scoring.Ranked],
) -> dict[str, Any]:
    """The result of a scored method: its rules and the bids in rank order, each with its row."""
    return {
        "method": method.value,
        "rules": r.as_json(),
        "dropped_extremes": r.drop_extremes and len(seats) >= r.drop_min_members,
        "bids": [
            {
                **rows[x.candidate.bid_id],
                "rank": x.rank,
                "tie_unresolved": x.tie_unresolved,
                "decided_by": x.decided_by,
            }
            for x in ranked
        ],
    }


def adjusted_price_result(
    tender: Tender, room: Room, sheets: dict[tuple[int, int], ScoreSheet], seats: dict[int, int]
) -> dict[str, Any]:
    """经评审的最低投标价法 with adjustments: per bid and adjustment the members' amounts (a percentage of the price
    or an amount) are averaged (dropping one highest and one lowest when configured and enough members) and rounded
    half up to whole minor units; evaluated price = price + the sum of those; lowest first."""
    r = rules(room)
    typed = typed_items(tender, room)
    keep = set(in_evaluation(room))
    rows: dict[int, dict[str, Any]] = {}
    candidates = []
    for bid in room_bids(room):
        price = bid_price(bid, room.stage)
        if bid.id not in keep or price is None:
            continue
        mine = {m: s for (m, b), s in sheets.items() if b == bid.id}
        recorded = {name: (t.kind, [Decimal(s.items[name]) for s in mine.values()]) for name, t in typed.items()}
        try:
            adjusted, evaluated = scoring.adjusted(price, recorded, r)
        except scoring.ScoreError as exc:
            raise Conflict(N_("Bid %(id)s: %(reason)s."), params={"id": bid.public_id, "reason": exc}) from None
        received = instant(bid.current_version.received_at) if bid.current_version else ""
        candidates.append(scoring.Candidate(bid.id, Decimal(evaluated), price, received))
        rows[bid.id] = {
            "bid_id": bid.public_id,
            "bidder": bid.organisation.name,
            "price": price,
            "adjustments": adjusted,
            "evaluated_price": evaluated,
            "members": _member_sheets(mine, seats),
        }
    ranked = scoring.rank(candidates, higher_is_better=False, tie_break=r.tie_break)
    return _ranked_result(EvaluationMethod.LOWEST_EVALUATED_PRICE, r, seats, rows, ranked)


def get_result(*, actor: Any, tender: Tender, room: Room) -> dict[str, Any]:
    """The aggregated result: nobody (the chair included) sees any member's scores before every sheet is in."""
    viewer(actor, tender, room)
    if room.result is None:
        raise Conflict(N_("The result is not aggregated yet."))
    return {"stage": room.stage, "finished_at": room.finished_at, **room.result}
