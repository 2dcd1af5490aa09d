"""Issue 4, done when: a tender from its opening record to the award through the API, every number checked.

Five drawn experts (no buyer representative); an expert employed by a bidder is in the pool and excluded at the
draw. Comprehensive scoring (综合评估法) with the criteria 投标报价 30 (price, by formula), 技术方案 50
(technical, typed), 商务及信誉 20 (commercial, typed, objective); one highest and one lowest dropped per criterion
(five members, drop_min_members 5); two decimals, half up.

Every expected number below is computed by hand, not by the platform's code:

Prices: A 1 000 000, B 800 000, C 900 000 → benchmark (lowest) 800 000, price score = 30 × 800 000 / price:
  A 30 × 0.8 = 24.00; B 30.00; C 30 × 8/9 = 26.666… → 26.67.
Technical (seats 1..5):
  A 41 44 46 43 20 → without 20 and 46: (41 + 43 + 44) / 3 = 128/3 = 42.666… → 42.67
  B 35 36 38 38 39 → without 35 and 39: (36 + 38 + 38) / 3 = 112/3 = 37.333… → 37.33
  C 45 47 44 48 47 → without 44 and 48: (45 + 47 + 47) / 3 = 139/3 = 46.333… → 46.33
Commercial (objective, every member alike): A 15, B 12, C 18 → 15.00, 12.00, 18.00.
Totals (sum of the rounded criterion scores): A 24 + 42.67 + 15 = 81.67; B 30 + 37.33 + 12 = 79.33;
  C 26.67 + 46.33 + 18 = 91.00 → ranking C, A, B; the three recommended candidates C, A, B.
Seat 5's 20 for A, at its submission, against the other members' mean (41 + 44 + 46 + 43) / 4 = 43.5:
  |20 − 43.5| = 23.5 > 30 % × 43.5 = 13.05 → refused without a written reason. At aggregation, against the mean
  of all five (194 / 5 = 38.8, 30 % = 11.64) only the 20 deviates (by 18.8; 46 by 7.2), and it has its reason.
Each member's sheet total = typed items + the computed price score:
  A: 24 + 15 + (41, 44, 46, 43, 20) = 80, 83, 85, 82, 59
  B: 30 + 12 + (35, 36, 38, 38, 39) = 77, 78, 80, 80, 81
  C: 26.67 + 18 + (45, 47, 44, 48, 47) = 89.67, 91.67, 88.67, 92.67, 91.67

One behaviour a test. Each test starts at the stage its behaviour starts from (the committee drawn, every review in,
four members' sheets in, the report drawn up, the award…); the stages are the steps below, in order, each built once
per test process from the one before it and restored for every test that starts there (tests/stages.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.time import now_utc
from crypto.canonical import canonicalize
from crypto.signing import load_public_key, verify_document
from tests import stages
from tests.accounts.helpers import PASSWORD
from tests.evaluation.flows import close_review, problem, score
from tests.evaluation.helpers import Party, Pool, World, enrol, opened_tender, put_json, seat_everyone
from tests.tendering.helpers import build_world, make_org, run_task
from tests.tendering.test_opening import pdf_objects

PRICE, TECH, COMM = "投标报价", "技术方案", "商务及信誉"
CRITERIA = {
    "items": [
        {"name": PRICE, "category": "price", "weight": 30},
        {"name": TECH, "category": "technical", "weight": 50},
        {"name": COMM, "category": "commercial", "weight": 20},
    ],
    "outlier_percent": 30,
    "drop_extremes": True,
}
PRICES = (1_000_000, 800_000, 900_000)  # bidders 1, 2, 3 → bids A, B, C
TECH_SCORES = {"A": (41, 44, 46, 43, 20), "B": (35, 36, 38, 38, 39), "C": (45, 47, 44, 48, 47)}
COMM_SCORES = {"A": 15, "B": 12, "C": 18}
REASON = "施工组织设计缺少安全专项方案，进度计划不可行"

# hand-computed (see the module docstring)
PRICE_POINTS = {"A": "24.00", "B": "30.00", "C": "26.67"}
TECH_POINTS = {"A": "42.67", "B": "37.33", "C": "46.33"}
COMM_POINTS = {"A": "15.00", "B": "12.00", "C": "18.00"}
TOTALS = {"A": "81.67", "B": "79.33", "C": "91.00"}
MEMBER_TOTALS = {
    "A": ("80.00", "83.00", "85.00", "82.00", "59.00"),
    "B": ("77.00", "78.00", "80.00", "80.00", "81.00"),
    "C": ("89.67", "91.67", "88.67", "92.67", "91.67"),
}
RANKING = ("C", "A", "B")
BIDDER_NAMES = {"A": "投标人1建设有限公司", "B": "投标人2建设有限公司", "C": "投标人3建设有限公司"}
COMMITTEE = {"size": 5, "expert_seats": 5, "groups": [], "reserves_per_group": 1, "buyer_rep_ids": []}
MILESTONES = [
    "evaluation.committee.defined",
    "evaluation.draw.committed",
    "evaluation.draw.performed",
    "evaluation.member.confirmed",
    "evaluation.member.declared",
    "evaluation.room.opened",
    "evaluation.review.submitted",
    "evaluation.review.closed",
    "evaluation.sheet.submitted",
    "evaluation.result.aggregated",
    "evaluation.report.drawn_up",
    "evaluation.report.signed",
    "evaluation.report.final",
    "evaluation.publicity.started",
    "evaluation.objection.filed",
    "evaluation.objection.answered",
    "evaluation.publicity.ended",
    "evaluation.award.issued",
]


def entries(app: Any) -> list[tuple[str, datetime, str | None, dict[str, Any]]]:
    from sqlalchemy import select

    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.index))
        return [(r.action, r.created_at, r.subject, dict(r.data)) for r in rows]


def run_sweep(app: Any) -> Any:
    from app.evaluation.tasks import publicity_due

    return run_task(app, publicity_due)


def small_pool(world: Any) -> tuple[Pool, int]:
    """Six unconflicted experts and one employed by the first bidder; returns the pool and the conflicted id."""
    pool = Pool()
    employer = make_org(world.app, "邯郸市工程咨询研究院", "other", 91)
    for i in range(6):
        expert_id, party = enrol(world, f"pe{i + 1}", ["civil"], employer_id=employer)
        pool.experts[expert_id] = party
        pool.by_user[party.user_id] = party
    conflicted, party = enrol(world, "pe-bidder-staff", ["civil"], employer_id=world.bidders[0].org_id)
    pool.by_user[party.user_id] = party
    return pool, conflicted


def expected_document_parts(bid: dict[str, int]) -> dict[str, Any]:
    """The report's scores, aggregation, ranking and recommendations, written out by hand."""
    rows = {}
    for label in "ABC":
        members = []
        for seat in range(1, 6):
            reasons = {TECH: REASON} if (label, seat) == ("A", 5) else {}
            members.append(
                {
                    "seat": seat,
                    "version": 1,
                    "items": {TECH: f"{TECH_SCORES[label][seat - 1]}.00", COMM: f"{COMM_SCORES[label]}.00"},
                    "reasons": reasons,
                    "total": MEMBER_TOTALS[label][seat - 1],
                }
            )
        rows[label] = members
    price = {"A": 1_000_000, "B": 800_000, "C": 900_000}
    ranking = [
        {
            "rank": rank,
            "bid_id": bid[label],
            "bidder": BIDDER_NAMES[label],
            "price": price[label],
            "total": TOTALS[label],
            "evaluated_price": None,
            "tie_unresolved": False,
        }
        for rank, label in enumerate(RANKING, start=1)
    ]
    aggregation = {
        "method": "comprehensive",
        "rules": {
            "outlier_percent": 30,
            "drop_extremes": True,
            "drop_min_members": 5,
            "precision": 2,
            "tie_break": ["lower_price", "earlier_receipt"],
            "price_benchmark": "lowest",
        },
        "dropped_extremes": True,
        "bids": [
            {
                "bid_id": bid[label],
                "bidder": BIDDER_NAMES[label],
                "price": price[label],
                "criteria": {PRICE: PRICE_POINTS[label], TECH: TECH_POINTS[label], COMM: COMM_POINTS[label]},
                "total": TOTALS[label],
                "members": rows[label],
                "rank": rank,
                "tie_unresolved": False,
                "decided_by": None,
            }
            for rank, label in enumerate(RANKING, start=1)
        ],
    }
    return {
        "scores": [{"bid_id": bid[label], "members": rows[label]} for label in RANKING],
        "aggregation": aggregation,
        "ranking": ranking,
        "recommended": ranking,
    }


# ------------------------------------------------------------------------------------------------ the stages


@dataclass
class Tender:
    """The tender as far as the steps have brought it, with what the steps were answered on the way."""

    world: World
    tid: int
    pool: Pool = field(default_factory=Pool)
    conflicted: int = 0  # the expert employed by bidder 1
    members: dict[int, Party] = field(default_factory=dict)  # seat -> party
    bid: dict[str, int] = field(default_factory=dict)  # label -> public bid id
    sheets: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)  # (seat, label) -> submission
    sha: str = ""  # the report's hash
    doc: dict[str, Any] = field(default_factory=dict)  # the report as drawn up
    objection: int = 0
    objection_at: datetime | None = None
    award: dict[str, Any] = field(default_factory=dict)  # the award's answer

    @property
    def ev(self) -> str:
        return f"/api/v1/tenders/{self.tid}/evaluation"

    @property
    def room(self) -> str:
        return f"/api/v1/tenders/{self.tid}/rooms/1"

    @property
    def agency(self) -> Any:
        return self.world.agency.api

    def sheet(self, seat: int, label: str, reasons: dict[str, str] | None = None) -> Any:
        """Member `seat` saves and submits its sheet for bid `label` with the scores of TECH_SCORES, COMM_SCORES."""
        items = {TECH: TECH_SCORES[label][seat - 1], COMM: COMM_SCORES[label]}
        return score(self.members[seat], self.room, self.bid[label], items, reasons or {})


def open_the_bids(app: Any, clock: Any) -> Tender:
    """Bidders 1, 2, 3 bid A, B, C at PRICES; the bids are opened (the opening record is done)."""
    world = build_world(app)
    tender = opened_tender(world, clock, prices=PRICES, criteria=CRITERIA)
    assert tender["status"] == "opened"
    return Tender(world, tender["id"])


def draw_the_committee(t: Tender, clock: Any) -> Tender:
    """Five expert seats defined (extremes dropped from five members) and drawn from a small pool."""
    t.pool, t.conflicted = small_pool(t.world)
    url = f"/api/v1/tenders/{t.tid}/committee"
    defined = put_json(t.world.agency, url, {**COMMITTEE, "rules": {"drop_min_members": 5}})
    assert defined.status_code == 200, defined.json
    committed = t.agency.post(f"{url}/draws")
    assert committed.status_code == 201, committed.json
    performed = t.agency.post(f"{url}/draws/1/perform")
    assert performed.status_code == 200, performed.json
    return t


def seat_the_committee(t: Tender, clock: Any) -> Tender:
    t.members = seat_everyone(t.world, t.tid, t.pool, t.world.agency)  # no buyer representative
    return t


def submit_every_review(t: Tender, clock: Any) -> Tender:
    """The room opened (commercial objective, seat 1 the chair); every member passed every bid and submitted."""
    opened = t.agency.post(
        f"/api/v1/tenders/{t.tid}/rooms", json_body={"stage": 1, "chair_seat": 1, "objective": [COMM]}
    )
    assert opened.status_code == 201, opened.json
    t.bid = dict(zip("ABC", opened.json["bid_ids"], strict=True))
    for party in t.members.values():
        verdicts = [
            {"bid_id": b, "requirement": r, "passed": True, "reason": ""}
            for b in t.bid.values()
            for r in ("资格审查", "符合性审查")
        ]
        assert put_json(party, f"{t.room}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{t.room}/review/submit").status_code == 200
    return t


def close_the_review(t: Tender, clock: Any) -> Tender:
    close_review(t.room, t.members[1])
    return t


def score_seats_one_to_four(t: Tender, clock: Any) -> Tender:
    """Seats 1 to 4 submitted their sheets for A, B, C (thirty seconds apart)."""
    t.sheets = dict(t.sheets)
    for seat in range(1, 5):
        for label in "ABC":
            clock.advance(timedelta(seconds=30))
            resp = t.sheet(seat, label)
            assert resp.status_code == 200, resp.json
            t.sheets[seat, label] = dict(resp.json)
    return t


def score_seat_five(t: Tender, clock: Any) -> Tender:
    """Seat 5 submits A (refused without a reason for its 20, then with one), B and C."""
    t.sheets = dict(t.sheets)
    for label in "ABC":
        clock.advance(timedelta(seconds=30))
        if label == "A":
            problem(t.sheet(5, "A"), 422)
            resp = t.sheet(5, "A", {TECH: REASON})
        else:
            resp = t.sheet(5, label)
        assert resp.status_code == 200, resp.json
        t.sheets[5, label] = dict(resp.json)
    return t


def aggregate(t: Tender, clock: Any) -> Tender:
    resp = t.members[1].api.post(f"{t.room}/aggregate")
    assert resp.status_code == 200, resp.json
    return t


def draw_up_the_report(t: Tender, clock: Any) -> Tender:
    drawn_up = t.members[1].api.post(f"{t.ev}/report", json_body={})
    assert drawn_up.status_code == 201, drawn_up.json
    t.doc, t.sha = drawn_up.json["report"], drawn_up.json["report_sha256"]
    return t


def sign_the_report(t: Tender, clock: Any) -> Tender:
    for party in t.members.values():
        body = {"report_sha256": t.sha, "password": PASSWORD}
        signed = party.api.post(f"{t.ev}/report/signatures", json_body=body)
        assert signed.status_code == 201, signed.json
    return t


def publicise(t: Tender, clock: Any) -> Tender:
    published = t.agency.post(f"{t.ev}/publicity", json_body={})
    assert published.status_code == 200, published.json
    return t


def object_in_the_window(t: Tender, clock: Any) -> Tender:
    """A day into publicity bidder 2 objects; two days and a second later publicity has ended, the objection open."""
    clock.advance(timedelta(days=1))
    t.objection_at = now_utc()
    filed = t.world.bidders[1].api.post(f"{t.ev}/objections", json_body={"text": "第一中标候选人项目经理业绩不实"})
    assert filed.status_code == 201, filed.json
    t.objection = filed.json["id"]
    clock.advance(timedelta(days=2, seconds=1))
    return t


def answer_objection(t: Tender) -> Any:
    return t.agency.post(f"{t.ev}/objections/{t.objection}/answer", json_body={"answer": "经核查，业绩属实"})


def award(t: Tender, clock: Any) -> Tender:
    """The objection answered, the sweep ends publicity, the agency awards."""
    assert answer_objection(t).status_code == 200
    run_sweep(t.world.app)
    resp = t.agency.post(f"{t.ev}/award")
    assert resp.status_code == 201, resp.json
    t.award = dict(resp.json)
    return t


AT = stages.chain(
    "to_award",
    {
        "opening_record_done": open_the_bids,
        "committee_drawn": draw_the_committee,
        "committee_seated": seat_the_committee,
        "reviews_in": submit_every_review,
        "reviewed": close_the_review,
        "four_scored": score_seats_one_to_four,
        "all_scored": score_seat_five,
        "aggregated": aggregate,
        "report_drawn_up": draw_up_the_report,
        "report_signed": sign_the_report,
        "publicised": publicise,
        "objected": object_in_the_window,
        "awarded": award,
    },
)


def stage(name: str) -> Any:
    return stages.fixture(AT, name)


committee_drawn_stage = stage("committee_drawn")
committee_seated_stage = stage("committee_seated")
reviews_in_stage = stage("reviews_in")
four_scored_stage = stage("four_scored")
all_scored_stage = stage("all_scored")
report_drawn_up_stage = stage("report_drawn_up")
report_signed_stage = stage("report_signed")
publicised_stage = stage("publicised")
objected_stage = stage("objected")
awarded_stage = stage("awarded")


def draw_record(t: Tender) -> dict[str, Any]:
    assert t.world.auditor is not None
    return dict(t.world.auditor.api.get(f"/api/v1/tenders/{t.tid}/committee/draws/1").json)


def evaluation_log(t: Tender) -> list[tuple[str, datetime, str | None, dict[str, Any]]]:
    return [(a, at, s, d) for a, at, s, d in entries(t.world.app) if s == f"tender:{t.tid}/evaluation"]


# ------------------------------------------------------------------------------------------------ the committee


def test_an_expert_employed_by_a_bidder_is_excluded_at_the_draw(committee_drawn: Tender) -> None:
    t = committee_drawn
    record = draw_record(t)
    assert record["result"]["excluded"] == {str(t.conflicted): "employer-conflict"}
    assert sorted(record["result"]["eligible"]) == sorted(t.pool.experts)
    assert t.conflicted not in record["result"]["groups"][0]["selected"]


def test_the_draw_selects_five_experts_and_a_reserve_and_replays_from_its_revealed_seed(
    committee_drawn: Tender,
) -> None:
    record = draw_record(committee_drawn)
    assert record["verification"] == []  # replays from the revealed seed and the snapshot
    drawn = record["result"]["groups"][0]
    assert len(drawn["selected"]) == 5 and len(drawn["reserves"]) == 1


def test_without_a_buyer_representative_every_seat_is_a_drawn_expert(committee_seated: Tender) -> None:
    t = committee_seated
    assert sorted(t.members) == [1, 2, 3, 4, 5]
    assert {p.user_id for p in t.members.values()} <= {p.user_id for p in t.pool.experts.values()}


# ------------------------------------------------------------------------------------------------ the room


def test_a_review_every_member_passed_closes_into_scoring(reviews_in: Tender) -> None:
    closed = reviews_in.members[1].api.post(f"{reviews_in.room}/review/close")
    assert closed.status_code == 200 and closed.json["phase"] == "scoring", closed.json


def test_a_score_far_from_the_others_is_refused_without_a_written_reason_and_locks_nothing(
    four_scored: Tender,
) -> None:
    t = four_scored
    refused = problem(t.sheet(5, "A"), 422)
    assert list(refused["errors"]["reasons"]) == [TECH]
    sheet = {s["bid_id"]: s for s in t.members[5].api.get(f"{t.room}/sheets").json}[t.bid["A"]]
    assert sheet["status"] == "draft"  # refused: still a draft, nothing locked
    resp = t.sheet(5, "A", {TECH: REASON})
    assert resp.status_code == 200, resp.json
    assert resp.json["total"] == MEMBER_TOTALS["A"][4] and resp.json["computed"] == {PRICE: PRICE_POINTS["A"]}


def test_each_sheet_totals_the_typed_scores_and_the_computed_price_score(all_scored: Tender) -> None:
    answers = all_scored.sheets
    assert sorted(answers) == [(seat, label) for seat in range(1, 6) for label in "ABC"]
    for (seat, label), resp in answers.items():
        assert resp["total"] == MEMBER_TOTALS[label][seat - 1], (seat, label)
        assert resp["computed"] == {PRICE: PRICE_POINTS[label]}, (seat, label)


# ------------------------------------------------------------------------------------------------ the report


def test_the_report_holds_the_hand_computed_scores_aggregation_ranking_and_recommendation(
    report_drawn_up: Tender,
) -> None:
    doc, expected = report_drawn_up.doc, expected_document_parts(report_drawn_up.bid)
    for part in ("scores", "aggregation", "ranking", "recommended"):
        assert doc[part] == expected[part], part


def test_the_report_names_the_method_the_rules_and_five_experts_chaired_by_seat_one(report_drawn_up: Tender) -> None:
    t = report_drawn_up
    doc, expected = t.doc, expected_document_parts(t.bid)
    assert doc["tender"]["evaluation_method"] == "comprehensive" and doc["tender"]["id"] == t.tid
    assert (doc["committee"]["size"], doc["committee"]["expert_seats"]) == (5, 5)
    assert doc["committee"]["rules"] == expected["aggregation"]["rules"]
    assert [(m["seat"], m["kind"], m["chair"]) for m in doc["committee"]["members"]] == [
        (1, "expert", True),
        (2, "expert", False),
        (3, "expert", False),
        (4, "expert", False),
        (5, "expert", False),
    ]
    assert t.conflicted not in {m["expert_id"] for m in doc["committee"]["members"]}


def test_the_report_records_the_one_review_and_that_it_failed_no_bid(report_drawn_up: Tender) -> None:
    doc = report_drawn_up.doc
    assert doc["reviews"] == [
        {
            "stage": 1,
            "requirements": ["资格审查", "符合性审查"],
            "result": doc["reviews"][0]["result"],
        }
    ]
    assert doc["reviews"][0]["result"]["failed"] == {}


def test_the_report_signed_by_all_five_is_final_and_its_pdf_is_set_in_the_embedded_cjk_font(
    report_signed: Tender,
) -> None:
    t = report_signed
    assert t.members[3].api.get(f"{t.ev}/report").json["status"] == "final"
    pdf = t.members[3].api.get(f"{t.ev}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert b"Noto-Sans-CJK-SC" in pdf_objects(pdf.data)  # the Chinese text is set in the embedded CJK font


def test_a_bidder_cannot_read_the_report_pdf_before_publication(report_signed: Tender) -> None:
    problem(report_signed.world.bidders[0].api.get(f"{report_signed.ev}/report.pdf"), 403)


# ------------------------------------------------------------------------------------------------ publicity, the award


def test_publicity_lists_the_three_candidates_in_rank_order_with_their_totals(publicised: Tender) -> None:
    bid = publicised.bid
    public = publicised.world.anonymous.get("/api/v1/evaluation/publicity").json
    assert [(c["rank"], c["bid_id"], c["total"]) for c in public[0]["candidates"]] == [
        (1, bid["C"], "91.00"),
        (2, bid["A"], "81.67"),
        (3, bid["B"], "79.33"),
    ]


def test_an_open_objection_holds_the_award_past_the_end_of_publicity_until_it_is_answered(objected: Tender) -> None:
    t = objected
    problem(t.agency.post(f"{t.ev}/award"), 409)
    answered = answer_objection(t)
    assert answered.status_code == 200, answered.json
    assert run_sweep(t.world.app) == {"publicity_ended": 1, "objections_overdue": 0}
    awarded = t.agency.post(f"{t.ev}/award")
    assert awarded.status_code == 201, awarded.json


def test_the_award_goes_to_the_first_candidate_and_the_others_are_told_the_result(awarded: Tender) -> None:
    payload, bid = awarded.award["document"]["payload"], awarded.bid
    assert payload["winner"] == {"bid_id": bid["C"], "bidder": BIDDER_NAMES["C"], "price": 900_000}
    assert {n["bid_id"]: (n["notice"], n["rank"]) for n in payload["notices"]} == {
        bid["C"]: ("award", 1),
        bid["A"]: ("result", 2),
        bid["B"]: ("result", 3),
    }


def test_an_awarded_tender_is_listed_and_shown_as_awarded(awarded: Tender) -> None:
    world, tid = awarded.world, awarded.tid
    assert world.anonymous.get(f"/api/v1/tenders/{tid}").json["status"] == "awarded"
    assert tid in [t["id"] for t in world.anonymous.get("/api/v1/tenders?status=awarded").json["items"]]
    page = world.client.get(f"/tenders/{tid}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Awarded" in page.get_data(as_text=True)


def test_an_awarded_tender_takes_no_second_award_objection_room_or_committee(awarded: Tender) -> None:
    t = awarded
    problem(t.agency.post(f"{t.ev}/award"), 409)
    problem(t.world.bidders[0].api.post(f"{t.ev}/objections", json_body={"text": "晚了"}), 409)
    problem(t.agency.post(f"/api/v1/tenders/{t.tid}/rooms", json_body={"stage": 1, "chair_seat": 1}), 409)
    problem(put_json(t.world.agency, f"/api/v1/tenders/{t.tid}/committee", COMMITTEE), 409)
    problem(t.agency.post(f"/api/v1/tenders/{t.tid}/committee/draws"), 409)


# ------------------------------------------------------------------------------------------------ the evidence log


def test_each_milestone_is_logged_as_often_as_it_happened_in_the_order_of_the_process(awarded: Tender) -> None:
    actions = [a for a, *_ in evaluation_log(awarded)]
    first = [actions.index(m) for m in MILESTONES]
    assert first == sorted(first), list(zip(MILESTONES, first, strict=True))
    counts = {a: actions.count(a) for a in MILESTONES}
    assert counts == {
        **dict.fromkeys(MILESTONES, 1),
        "evaluation.member.confirmed": 5,
        "evaluation.member.declared": 5,
        "evaluation.review.submitted": 5,
        "evaluation.sheet.submitted": 15,  # the refused outlier submission locked nothing
        "evaluation.report.signed": 5,
    }


def test_each_step_is_logged_after_every_step_it_waits_for(awarded: Tender) -> None:
    actions = [a for a, *_ in evaluation_log(awarded)]
    last_of = {a: max(i for i, x in enumerate(actions) if x == a) for a in set(actions)}
    assert last_of["evaluation.member.declared"] < actions.index("evaluation.room.opened")  # declared before bids
    assert last_of["evaluation.review.submitted"] < actions.index("evaluation.review.closed")
    assert last_of["evaluation.sheet.submitted"] < actions.index("evaluation.result.aggregated")
    assert last_of["evaluation.report.signed"] < actions.index("evaluation.report.final")


def test_each_event_carries_the_instant_of_its_entry(awarded: Tender) -> None:
    log = evaluation_log(awarded)
    actions = [a for a, *_ in log]
    created = [at for _a, at, _s, _d in log]
    assert created == sorted(created)
    # the room's events carry the instant the recording replay places on its timeline, equal to the entry's
    for action, at, _s, data in log[actions.index("evaluation.room.opened") :]:
        if not action.startswith("evaluation."):  # e.g. access.denied: a refusal, not a room event
            continue
        assert data["at"].endswith("Z"), action
        assert datetime.fromisoformat(data["at"].replace("Z", "+00:00")) == at.astimezone(UTC), action
    filed_entry = next(d for a, _at, _s, d in log if a == "evaluation.objection.filed")
    assert datetime.fromisoformat(filed_entry["at"].replace("Z", "+00:00")) == awarded.objection_at


def test_the_log_holds_the_hand_computed_aggregation_and_the_award_of_the_signed_report(awarded: Tender) -> None:
    log = evaluation_log(awarded)
    aggregated_entry = next(d for a, _at, _s, d in log if a == "evaluation.result.aggregated")
    assert aggregated_entry["result"]["bids"] == expected_document_parts(awarded.bid)["aggregation"]["bids"]
    award_entry = next(d for a, _at, _s, d in log if a == "evaluation.award.issued")
    assert award_entry["winner_bid_id"] == awarded.bid["C"] and award_entry["report_sha256"] == awarded.sha


# ------------------------------------------------------------------------------------------------ the winner gives up


def reassign(t: Tender, reason: str, who: Any = None) -> Any:
    return (who or t.agency).post(f"{t.ev}/award/reassign", json_body={"reason": reason})


def test_only_the_tenders_agency_reassigns_an_award_and_only_with_a_reason(awarded: Tender) -> None:
    t = awarded
    problem(reassign(t, "放弃", t.world.bidders[2].api), 403)
    problem(reassign(t, "放弃", t.world.other_agency.api), 403)
    problem(reassign(t, "  "), 422)
    problem(t.agency.post(f"{t.ev}/award/reassign", json_body={}), 422)


def test_when_the_winner_gives_up_the_next_candidate_is_awarded_by_a_document_superseding_the_first(
    awarded: Tender, clock: Any
) -> None:
    t, bid = awarded, awarded.bid
    public_key = load_public_key(t.world.anonymous.get("/api/v1/keys").json["keys"][0]["public_key"])
    clock.advance(timedelta(days=10))
    declined_at = now_utc()
    second = reassign(t, "第一中标候选人书面放弃中标")
    assert second.status_code == 201, second.json
    payload = verify_document(second.json["document"], public_key)
    assert payload["winner"] == {"bid_id": bid["A"], "bidder": BIDDER_NAMES["A"], "price": 1_000_000}
    assert payload["supersedes"] == hashlib.sha256(canonicalize(t.award["document"]["payload"])).hexdigest()
    stamp = declined_at.strftime("%Y-%m-%dT%H:%M:%S")
    assert [(d["bid_id"], d["reason"], d["at"][:19]) for d in payload["declined"]] == [
        (bid["C"], "第一中标候选人书面放弃中标", stamp)
    ]
    assert {n["bid_id"]: n["notice"] for n in payload["notices"]} == {
        bid["C"]: "declined",
        bid["A"]: "award",
        bid["B"]: "result",
    }
    assert t.world.bidders[0].api.get(f"{t.ev}/award").json["your_notice"]["notice"] == "award"
    assert t.world.bidders[2].api.get(f"{t.ev}/award").json["your_notice"]["notice"] == "declined"


def test_when_every_candidate_has_given_up_none_is_left_and_the_tender_stays_awarded(
    awarded: Tender, clock: Any
) -> None:
    t, bid = awarded, awarded.bid
    entries_before = entries(t.world.app)
    clock.advance(timedelta(days=10))
    assert reassign(t, "第一中标候选人书面放弃中标").status_code == 201
    third = reassign(t, "未在规定期限内签订合同")
    assert third.status_code == 201, third.json
    assert third.json["document"]["payload"]["winner"]["bid_id"] == bid["B"]
    assert [d["bid_id"] for d in third.json["document"]["payload"]["declined"]] == [bid["C"], bid["A"]]
    problem(reassign(t, "放弃"), 409)  # no candidate left
    assert t.world.anonymous.get(f"/api/v1/tenders/{t.tid}").json["status"] == "awarded"
    tail = [
        (a, d)
        for a, _at, s, d in entries(t.world.app)[len(entries_before) :]
        if s == f"tender:{t.tid}/evaluation" and a.startswith("evaluation.award.")
    ]
    assert [(a, d.get("bid_id"), d.get("winner_bid_id")) for a, d in tail] == [
        ("evaluation.award.declined", bid["C"], None),
        ("evaluation.award.issued", None, bid["A"]),
        ("evaluation.award.declined", bid["A"], None),
        ("evaluation.award.issued", None, bid["B"]),
    ]
