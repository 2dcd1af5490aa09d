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
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.time import now_utc
from tests.accounts.helpers import PASSWORD
from tests.evaluation.helpers import Pool, enrol, opened_tender, put_json, seat_everyone
from tests.tendering.helpers import make_org, run_task
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


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.json)
    assert resp.mimetype == "application/problem+json"
    return dict(resp.json)


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


def test_a_tender_from_its_opening_record_to_the_award(world, clock) -> None:
    agency = world.agency.api
    tender = opened_tender(world, clock, prices=PRICES, criteria=CRITERIA)
    tid = tender["id"]
    assert tender["status"] == "opened"

    # --- the committee: five experts drawn, the bidder's employee excluded at the draw ----------------------
    pool, conflicted = small_pool(world)
    body = {"size": 5, "expert_seats": 5, "groups": [], "reserves_per_group": 1, "buyer_rep_ids": []}
    defined = put_json(world.agency, f"/api/v1/tenders/{tid}/committee", {**body, "rules": {"drop_min_members": 5}})
    assert defined.status_code == 200, defined.json
    committed = agency.post(f"/api/v1/tenders/{tid}/committee/draws")
    assert committed.status_code == 201, committed.json
    performed = agency.post(f"/api/v1/tenders/{tid}/committee/draws/1/perform")
    assert performed.status_code == 200, performed.json
    record = world.auditor.api.get(f"/api/v1/tenders/{tid}/committee/draws/1").json
    assert record["result"]["excluded"] == {str(conflicted): "employer-conflict"}
    assert sorted(record["result"]["eligible"]) == sorted(pool.experts)
    assert record["verification"] == []  # replays from the revealed seed and the snapshot
    drawn = record["result"]["groups"][0]
    assert len(drawn["selected"]) == 5 and len(drawn["reserves"]) == 1 and conflicted not in drawn["selected"]
    members = seat_everyone(world, tid, pool, world.agency)  # no buyer representative: every seat is an expert
    assert sorted(members) == [1, 2, 3, 4, 5]
    assert {p.user_id for p in members.values()} <= {p.user_id for p in pool.experts.values()}

    # --- the room: review (everyone passes), scoring with one justified outlier, aggregation ---------------
    opened = agency.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 1, "objective": [COMM]})
    assert opened.status_code == 201, opened.json
    bid = dict(zip("ABC", opened.json["bid_ids"], strict=True))
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for party in members.values():
        verdicts = [
            {"bid_id": b, "requirement": r, "passed": True, "reason": ""}
            for b in bid.values()
            for r in ("资格审查", "符合性审查")
        ]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    closed = members[1].api.post(f"{base}/review/close")
    assert closed.status_code == 200 and closed.json["phase"] == "scoring", closed.json

    def score(seat: int, label: str, reasons: dict[str, str] | None = None) -> Any:
        items = {TECH: TECH_SCORES[label][seat - 1], COMM: COMM_SCORES[label]}
        saved = put_json(members[seat], f"{base}/sheets/{bid[label]}", {"items": items, "reasons": reasons or {}})
        assert saved.status_code == 200, saved.json
        return members[seat].api.post(f"{base}/sheets/{bid[label]}/submit")

    for seat in range(1, 6):
        for label in "ABC":
            clock.advance(timedelta(seconds=30))
            if (seat, label) == (5, "A"):
                refused = problem(score(5, "A"), 422)
                assert list(refused["errors"]["reasons"]) == [TECH]
                sheet = members[5].api.get(f"{base}/sheets").json[0]
                assert sheet["status"] == "draft"  # refused: still a draft, nothing locked
                resp = score(5, "A", {TECH: REASON})
            else:
                resp = score(seat, label)
            assert resp.status_code == 200, resp.json
            assert resp.json["total"] == MEMBER_TOTALS[label][seat - 1]
            assert resp.json["computed"] == {PRICE: PRICE_POINTS[label]}
    aggregated = members[1].api.post(f"{base}/aggregate")
    assert aggregated.status_code == 200, aggregated.json

    # --- the report: every number against the hand-computed values ------------------------------------------
    drawn_up = members[1].api.post(f"/api/v1/tenders/{tid}/evaluation/report", json_body={})
    assert drawn_up.status_code == 201, drawn_up.json
    doc, sha = drawn_up.json["report"], drawn_up.json["report_sha256"]
    expected = expected_document_parts(bid)
    for part in ("scores", "aggregation", "ranking", "recommended"):
        assert doc[part] == expected[part], part
    assert doc["tender"]["evaluation_method"] == "comprehensive" and doc["tender"]["id"] == tid
    assert (doc["committee"]["size"], doc["committee"]["expert_seats"]) == (5, 5)
    assert doc["committee"]["rules"] == expected["aggregation"]["rules"]
    assert [(m["seat"], m["kind"], m["chair"]) for m in doc["committee"]["members"]] == [
        (1, "expert", True),
        (2, "expert", False),
        (3, "expert", False),
        (4, "expert", False),
        (5, "expert", False),
    ]
    assert conflicted not in {m["expert_id"] for m in doc["committee"]["members"]}
    assert doc["reviews"] == [
        {
            "stage": 1,
            "requirements": ["资格审查", "符合性审查"],
            "result": doc["reviews"][0]["result"],
        }
    ]
    assert doc["reviews"][0]["result"]["failed"] == {}
    for party in members.values():
        signed = party.api.post(
            f"/api/v1/tenders/{tid}/evaluation/report/signatures",
            json_body={"report_sha256": sha, "password": PASSWORD},
        )
        assert signed.status_code == 201, signed.json
    assert members[3].api.get(f"/api/v1/tenders/{tid}/evaluation/report").json["status"] == "final"
    pdf = members[3].api.get(f"/api/v1/tenders/{tid}/evaluation/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert b"Noto-Sans-CJK-SC" in pdf_objects(pdf.data)  # the Chinese text is set in the embedded CJK font
    problem(world.bidders[0].api.get(f"/api/v1/tenders/{tid}/evaluation/report.pdf"), 403)  # not yet published

    # --- publicity, an objection by a bidder in the window, its answer, the award ---------------------------
    ev = f"/api/v1/tenders/{tid}/evaluation"
    published = agency.post(f"{ev}/publicity", json_body={})
    assert published.status_code == 200, published.json
    public = world.anonymous.get("/api/v1/evaluation/publicity").json
    assert [(c["rank"], c["bid_id"], c["total"]) for c in public[0]["candidates"]] == [
        (1, bid["C"], "91.00"),
        (2, bid["A"], "81.67"),
        (3, bid["B"], "79.33"),
    ]
    clock.advance(timedelta(days=1))
    objection_at = now_utc()
    filed = world.bidders[1].api.post(f"{ev}/objections", json_body={"text": "第一中标候选人项目经理业绩不实"})
    assert filed.status_code == 201, filed.json
    clock.advance(timedelta(days=2, seconds=1))  # past the end of publicity, the objection still open
    problem(agency.post(f"{ev}/award"), 409)
    answered = agency.post(f"{ev}/objections/{filed.json['id']}/answer", json_body={"answer": "经核查，业绩属实"})
    assert answered.status_code == 200, answered.json
    assert run_sweep(world.app) == {"publicity_ended": 1, "objections_overdue": 0}
    awarded = agency.post(f"{ev}/award")
    assert awarded.status_code == 201, awarded.json
    payload = awarded.json["document"]["payload"]
    assert payload["winner"] == {"bid_id": bid["C"], "bidder": BIDDER_NAMES["C"], "price": 900_000}
    assert {n["bid_id"]: (n["notice"], n["rank"]) for n in payload["notices"]} == {
        bid["C"]: ("award", 1),
        bid["A"]: ("result", 2),
        bid["B"]: ("result", 3),
    }

    # --- the tender is awarded and closed ---------------------------------------------------------------------
    assert world.anonymous.get(f"/api/v1/tenders/{tid}").json["status"] == "awarded"
    assert tid in [t["id"] for t in world.anonymous.get("/api/v1/tenders?status=awarded").json["items"]]
    page = world.client.get(f"/tenders/{tid}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Awarded" in page.get_data(as_text=True)
    problem(agency.post(f"{ev}/award"), 409)
    problem(world.bidders[0].api.post(f"{ev}/objections", json_body={"text": "晚了"}), 409)
    problem(agency.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 1}), 409)
    problem(put_json(world.agency, f"/api/v1/tenders/{tid}/committee", body), 409)
    problem(agency.post(f"/api/v1/tenders/{tid}/committee/draws"), 409)

    # --- the evidence log: the expected entries, in order, each event with its instant ----------------------
    log = [(a, at, s, d) for a, at, s, d in entries(world.app) if s == f"tender:{tid}/evaluation"]
    actions = [a for a, *_ in log]
    milestones = [
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
    first = [actions.index(m) for m in milestones]
    assert first == sorted(first), list(zip(milestones, first, strict=True))
    last_of = {a: max(i for i, x in enumerate(actions) if x == a) for a in set(actions)}
    assert last_of["evaluation.member.declared"] < actions.index("evaluation.room.opened")  # declared before bids
    assert last_of["evaluation.review.submitted"] < actions.index("evaluation.review.closed")
    assert last_of["evaluation.sheet.submitted"] < actions.index("evaluation.result.aggregated")
    assert last_of["evaluation.report.signed"] < actions.index("evaluation.report.final")
    counts = {a: actions.count(a) for a in milestones}
    assert counts == {
        **dict.fromkeys(milestones, 1),
        "evaluation.member.confirmed": 5,
        "evaluation.member.declared": 5,
        "evaluation.review.submitted": 5,
        "evaluation.sheet.submitted": 15,  # the refused outlier submission locked nothing
        "evaluation.report.signed": 5,
    }
    created = [at for _a, at, _s, _d in log]
    assert created == sorted(created)
    # the room's events carry the instant the recording replay places on its timeline, equal to the entry's
    for action, at, _s, data in log[actions.index("evaluation.room.opened") :]:
        if not action.startswith("evaluation."):  # e.g. access.denied: a refusal, not a room event
            continue
        assert data["at"].endswith("Z"), action
        assert datetime.fromisoformat(data["at"].replace("Z", "+00:00")) == at.astimezone(UTC), action
    filed_entry = next(d for a, _at, _s, d in log if a == "evaluation.objection.filed")
    assert datetime.fromisoformat(filed_entry["at"].replace("Z", "+00:00")) == objection_at
    aggregated_entry = next(d for a, _at, _s, d in log if a == "evaluation.result.aggregated")
    assert aggregated_entry["result"]["bids"] == expected["aggregation"]["bids"]
    award_entry = next(d for a, _at, _s, d in log if a == "evaluation.award.issued")
    assert award_entry["winner_bid_id"] == bid["C"] and award_entry["report_sha256"] == sha

    # --- the winner gives the award up: the next candidate in the report's order is awarded -----------------
    import hashlib

    from crypto.canonical import canonicalize
    from crypto.signing import load_public_key, verify_document

    public_key = load_public_key(world.anonymous.get("/api/v1/keys").json["keys"][0]["public_key"])
    reassign = f"{ev}/award/reassign"
    problem(world.bidders[2].api.post(reassign, json_body={"reason": "放弃"}), 403)
    problem(world.other_agency.api.post(reassign, json_body={"reason": "放弃"}), 403)
    problem(agency.post(reassign, json_body={"reason": "  "}), 422)
    problem(agency.post(reassign, json_body={}), 422)
    first = awarded.json["document"]
    entries_before = entries(world.app)
    clock.advance(timedelta(days=10))
    declined_at = now_utc()
    second = agency.post(reassign, json_body={"reason": "第一中标候选人书面放弃中标"})
    assert second.status_code == 201, second.json
    payload = verify_document(second.json["document"], public_key)
    assert payload["winner"] == {"bid_id": bid["A"], "bidder": BIDDER_NAMES["A"], "price": 1_000_000}
    assert payload["supersedes"] == hashlib.sha256(canonicalize(first["payload"])).hexdigest()
    stamp = declined_at.strftime("%Y-%m-%dT%H:%M:%S")
    assert [(d["bid_id"], d["reason"], d["at"][:19]) for d in payload["declined"]] == [
        (bid["C"], "第一中标候选人书面放弃中标", stamp)
    ]
    assert {n["bid_id"]: n["notice"] for n in payload["notices"]} == {
        bid["C"]: "declined",
        bid["A"]: "award",
        bid["B"]: "result",
    }
    assert world.bidders[0].api.get(f"{ev}/award").json["your_notice"]["notice"] == "award"
    assert world.bidders[2].api.get(f"{ev}/award").json["your_notice"]["notice"] == "declined"
    third = agency.post(reassign, json_body={"reason": "未在规定期限内签订合同"})
    assert third.status_code == 201, third.json
    assert third.json["document"]["payload"]["winner"]["bid_id"] == bid["B"]
    assert [d["bid_id"] for d in third.json["document"]["payload"]["declined"]] == [bid["C"], bid["A"]]
    problem(agency.post(reassign, json_body={"reason": "放弃"}), 409)  # no candidate left
    assert world.anonymous.get(f"/api/v1/tenders/{tid}").json["status"] == "awarded"
    tail = [
        (a, d)
        for a, _at, s, d in entries(world.app)[len(entries_before) :]
        if s == f"tender:{tid}/evaluation" and a.startswith("evaluation.award.")
    ]
    assert [(a, d.get("bid_id"), d.get("winner_bid_id")) for a, d in tail] == [
        ("evaluation.award.declined", bid["C"], None),
        ("evaluation.award.issued", None, bid["A"]),
        ("evaluation.award.declined", bid["A"], None),
        ("evaluation.award.issued", None, bid["B"]),
    ]
