"""Lowest evaluated price (经评审的最低投标价法) with configured price adjustments, and both methods' arithmetic.

The tender configures two adjustments (价格折算) each member records per bid: 工期偏差, a percentage of the bid
price from −5 to +10 (two decimals), and 缺项补价, an amount from 0 to 200 000 (minor units). Per bid and
adjustment the members' amounts are averaged (no extremes dropped here) and rounded half up to whole units;
evaluated price = price + the sum; lowest first. Hand-computed:

- A 1 300 000: 工期偏差 −5 % by all → −65 000 each → −65 000; 缺项补价 0 → evaluated 1 235 000 (rank 3).
- B 1 100 000: 工期偏差 10, 10, 8, 10, 9.55 % → 110 000, 110 000, 88 000, 110 000, 105 050 → sum 523 050 / 5
  = 104 610; 缺项补价 0 → evaluated 1 204 610 (rank 2): the lowest price is not the lowest evaluated price.
- C 1 200 000: 工期偏差 0; 缺项补价 3000, 3000, 3000, 3000, 3003 → 15 003 / 5 = 3000.6 → 3001
  → evaluated 1 203 001 (rank 1).
Each member's own evaluated price (the sheet's total): A 1 235 000 for all; B 1 210 000, 1 210 000, 1 188 000,
1 210 000, 1 205 050; C 1 203 000 × 4, 1 203 003.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.evaluation.room import scoring
from tests.accounts.helpers import PASSWORD
from tests.evaluation.helpers import (
    browser,
    build_pool,
    buyer_rep,
    committee_body,
    draw,
    opened_tender,
    put_json,
    seat_everyone,
)
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def ranking_table(html: str) -> tuple[list[str], list[list[str]]]:
    """The header cells and the rows of cells of the page's #ranking table, parsed."""
    rows = parse(html).table("ranking")
    return rows[0], rows[1:]


DUR, GAP = "工期偏差", "缺项补价"
CRITERIA = {
    "items": [{"name": "资格审查", "description": "资质、业绩"}],
    "adjustments": [
        {"name": DUR, "kind": "percent", "min": -5, "max": 10, "description": "工期每偏离一天加价"},
        {"name": GAP, "kind": "amount", "min": 0, "max": 200_000},
    ],
}
RECORDED = {  # bid label -> seat -> (工期偏差 %, 缺项补价)
    "A": {s: ("-5", 0) for s in range(1, 6)},
    "B": {1: ("10", 0), 2: ("10", 0), 3: ("8", 0), 4: ("10", 0), 5: ("9.55", 0)},
    "C": {1: ("0", 3000), 2: ("0", 3000), 3: ("0", 3000), 4: ("0", 3000), 5: ("0", 3003)},
}
MEMBER_TOTALS = {
    "A": ["1235000"] * 5,
    "B": ["1210000", "1210000", "1188000", "1210000", "1205050"],
    "C": ["1203000"] * 4 + ["1203003"],
}
EXPECTED = [  # (label, rank, price, adjustments, evaluated price)
    ("C", 1, 1_200_000, {DUR: 0, GAP: 3001}, 1_203_001),
    ("B", 2, 1_100_000, {DUR: 104_610, GAP: 0}, 1_204_610),
    ("A", 3, 1_300_000, {DUR: -65_000, GAP: 0}, 1_235_000),
]


def text(value: str | int, percent: bool) -> str:
    return f"{Decimal(str(value)):.2f}" if percent else str(value)


def test_lowest_evaluated_price_with_adjustments_through_the_report(world, clock) -> None:
    tender = opened_tender(
        world,
        clock,
        prices=(1_300_000, 1_100_000, 1_200_000),
        evaluation_method="lowest_evaluated_price",
        criteria=CRITERIA,
    )
    tid = tender["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    rooms = f"/api/v1/tenders/{tid}/rooms"
    opened = world.agency.api.post(rooms, json_body={"stage": 1, "chair_seat": 3})
    assert opened.status_code == 201, opened.json
    assert opened.json["requirements"] == ["资格审查"]
    bid = dict(zip("ABC", opened.json["bid_ids"], strict=True))
    base = f"{rooms}/1"
    for party in members.values():
        verdicts = [{"bid_id": b, "requirement": "资格审查", "passed": True} for b in bid.values()]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    closed = members[3].api.post(f"{base}/review/close")
    assert closed.status_code == 200 and closed.json["phase"] == "scoring", closed.json  # adjustments to record

    # bounds and precision of the recorded adjustments; only configured ones
    sheet = f"{base}/sheets/{bid['A']}"
    for bad in (
        {DUR: "10.5"},
        {DUR: "-5.01"},
        {DUR: "1.234"},
        {GAP: -1},
        {GAP: 200_001},
        {GAP: "0.5"},
        {"资格审查": 1},
    ):
        assert put_json(members[1], sheet, {"items": bad}).status_code == 422, bad
    assert put_json(members[1], sheet, {"items": {DUR: "-5"}}).status_code == 200
    assert members[1].api.post(f"{sheet}/submit").status_code == 422  # 缺项补价 missing

    for label, seats in RECORDED.items():
        for seat, (dur, gap) in seats.items():
            url = f"{base}/sheets/{bid[label]}"
            assert put_json(members[seat], url, {"items": {DUR: dur, GAP: gap}}).status_code == 200
            done = members[seat].api.post(f"{url}/submit")
            assert done.status_code == 200, done.json
            assert done.json["total"] == MEMBER_TOTALS[label][seat - 1]
    assert members[1].api.get(f"{base}/result").status_code == 409  # nobody sees anything before aggregation
    result = members[3].api.post(f"{base}/aggregate")
    assert result.status_code == 200, result.json
    got = [(b["bid_id"], b["rank"], b["price"], b["adjustments"], b["evaluated_price"]) for b in result.json["bids"]]
    assert got == [(bid[label], rank, price, adj, ev) for label, rank, price, adj, ev in EXPECTED]

    # the report: ranking, recommended candidates and every member's recorded adjustments
    ev = f"/api/v1/tenders/{tid}/evaluation"
    drawn = members[3].api.post(f"{ev}/report", json_body={})
    assert drawn.status_code == 201, drawn.json
    doc = drawn.json["report"]
    assert doc["tender"]["evaluation_method"] == "lowest_evaluated_price"
    assert [(r["rank"], r["bid_id"], r["price"], r["evaluated_price"], r["total"]) for r in doc["ranking"]] == [
        (rank, bid[label], price, evp, None) for label, rank, price, _adj, evp in EXPECTED
    ]
    assert [c["bid_id"] for c in doc["recommended"]] == [bid["C"], bid["B"], bid["A"]]
    for entry, (label, *_rest) in zip(doc["scores"], EXPECTED, strict=True):
        assert entry["bid_id"] == bid[label]
        assert [(m["seat"], m["items"], m["total"]) for m in entry["members"]] == [
            (seat, {DUR: text(dur, True), GAP: text(gap, False)}, MEMBER_TOTALS[label][seat - 1])
            for seat, (dur, gap) in RECORDED[label].items()
        ]
    # the report page: the price and the evaluated price in 元 through the money filter, by its column
    page = browser(world, members[1].user_id).get(f"/evaluation/tenders/{tid}/report", headers=ZH)
    head, rows = ranking_table(page.get_data(as_text=True))
    assert head == ["名次", "投标人", "价格", "评审价"], head
    assert [r[2:] for r in rows] == [
        ["12,000.00 元", "12,030.01 元"],
        ["11,000.00 元", "12,046.10 元"],
        ["13,000.00 元", "12,350.00 元"],
    ]
    sha = drawn.json["report_sha256"]
    pdf = members[1].api.get(f"{ev}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    for party in members.values():
        signed = party.api.post(f"{ev}/report/signatures", json_body={"report_sha256": sha, "password": PASSWORD})
        assert signed.status_code == 201
    assert world.agency.api.post(f"{ev}/publicity", json_body={}).status_code == 200
    listed = world.anonymous.get("/api/v1/evaluation/publicity").json[0]["candidates"]
    assert [(c["bid_id"], c["evaluated_price"]) for c in listed] == [(bid[x[0]], x[4]) for x in EXPECTED]


def test_adjustments_are_validated_in_the_tender_criteria(world, clock) -> None:
    from tests.tendering.helpers import draft_body

    bad_sets = [
        [{"name": DUR, "kind": "percent", "min": 5, "max": -5}],  # min above max
        [{"name": DUR, "kind": "percent", "min": -100, "max": 5}],  # −100 % would zero the price
        [{"name": DUR, "kind": "ratio", "min": 0, "max": 5}],
        [{"name": DUR, "kind": "amount", "min": 0, "max": 5}, {"name": DUR, "kind": "amount", "min": 0, "max": 5}],
        [{"name": DUR, "kind": "amount", "min": 0}],
    ]
    for adjustments in bad_sets:
        criteria = {"items": [{"name": "资格审查"}], "adjustments": adjustments}
        body = draft_body(world, evaluation_method="lowest_evaluated_price", criteria=criteria)
        resp = world.agency.api.post("/api/v1/tenders", body)
        assert resp.status_code == 422, (adjustments, resp.json)


# --- the arithmetic of both methods, pure: table tests with hand-computed values ---------------------------

D = Decimal


@pytest.mark.parametrize(
    ("price", "recorded", "rules", "amounts", "evaluated"),
    [
        # no adjustment configured: the price itself
        (1_000_000, {}, scoring.Rules(), {}, 1_000_000),
        # a deduction by percentage: −2.5 % of 800 000 = −20 000
        (800_000, {"p": ("percent", [D("-2.5")] * 3)}, scoring.Rules(), {"p": -20_000}, 780_000),
        # mean of amounts, half up: (100 + 101) / 2 = 100.5 → 101
        (500_000, {"a": ("amount", [D(100), D(101)])}, scoring.Rules(), {"a": 101}, 500_101),
        # negative half rounds away from zero: (−100 − 101) / 2 = −100.5 → −101
        (500_000, {"a": ("amount", [D(-100), D(-101)])}, scoring.Rules(), {"a": -101}, 499_899),
        # percentage of an odd price: 1.25 % of 999 999 = 12 499.9875 → 12 500
        (999_999, {"p": ("percent", [D("1.25")])}, scoring.Rules(), {"p": 12_500}, 1_012_499),
        # extremes dropped when configured and enough members: 0, 10, 20, 30, 1000 → (10 + 20 + 30) / 3 = 20
        (
            100_000,
            {"a": ("amount", [D(0), D(10), D(20), D(30), D(1000)])},
            scoring.Rules(drop_extremes=True, drop_min_members=5),
            {"a": 20},
            100_020,
        ),
        # …and not with fewer members than the minimum: (0 + 10 + 20 + 1000) / 4 = 257.5 → 258
        (
            100_000,
            {"a": ("amount", [D(0), D(10), D(20), D(1000)])},
            scoring.Rules(drop_extremes=True, drop_min_members=5),
            {"a": 258},
            100_258,
        ),
        # two adjustments add up: +3 % of 200 000 = 6000, −1500
        (
            200_000,
            {"p": ("percent", [D(3), D(3)]), "a": ("amount", [D(-1500), D(-1500)])},
            scoring.Rules(),
            {"p": 6000, "a": -1500},
            204_500,
        ),
    ],
)
def test_adjusted_price_table(price: int, recorded: Any, rules: Any, amounts: Any, evaluated: int) -> None:
    assert scoring.adjusted(price, recorded, rules) == (amounts, evaluated)


def test_adjustments_refuse_nonsense() -> None:
    with pytest.raises(scoring.ScoreError, match="positive"):
        scoring.adjusted(1000, {"a": ("amount", [D(-1000)])}, scoring.Rules())
    with pytest.raises(scoring.ScoreError, match="one of"):
        scoring.adjustment_amount("ratio", D(1), 1000)


@pytest.mark.parametrize(
    ("prices", "benchmark", "max_points", "expected"),
    [
        # lowest benchmark: 30 × 800 000 / p
        ({1: 1_000_000, 2: 800_000, 3: 900_000}, "lowest", D(30), {1: D("24.00"), 2: D("30.00"), 3: D("26.67")}),
        # average benchmark (1 000 000 + 1 200 000 + 800 000) / 3 = 1 000 000, capped at max for the cheapest
        ({1: 1_000_000, 2: 1_200_000, 3: 800_000}, "average", D(40), {1: D("40.00"), 2: D("33.33"), 3: D("40.00")}),
        # one bid: full marks
        ({7: 123_456}, "lowest", D(10), {7: D("10.00")}),
    ],
)
def test_price_score_table(prices: dict[int, int], benchmark: str, max_points: Decimal, expected: Any) -> None:
    assert scoring.price_scores(prices, max_points, scoring.Rules(price_benchmark=benchmark)) == expected


@pytest.mark.parametrize(
    ("values", "rules", "expected"),
    [
        ([D(41), D(44), D(46), D(43), D(20)], scoring.Rules(drop_extremes=True, drop_min_members=5), D("42.67")),
        ([D(41), D(44), D(46), D(43), D(20)], scoring.Rules(), D("38.80")),
        ([D(35), D(36), D(38), D(38), D(39)], scoring.Rules(drop_extremes=True, drop_min_members=5), D("37.33")),
        ([D("0.5"), D("0.5"), D(1)], scoring.Rules(precision=0), D(1)),  # 0.666… → 1
        ([D("12.345")], scoring.Rules(precision=2), D("12.35")),  # half up
    ],
)
def test_aggregation_table(values: list[Decimal], rules: Any, expected: Decimal) -> None:
    assert scoring.aggregate(values, rules) == expected


@settings(max_examples=300, deadline=None)
@given(
    price=st.integers(1_000, 10**11),
    percents=st.lists(st.integers(-500, 1000).map(lambda n: D(n) / 100), min_size=1, max_size=9),
    amounts=st.lists(st.integers(0, 200_000), min_size=1, max_size=9),  # one sign: half up is away from 0
    drop=st.booleans(),
)
def test_adjusted_price_invariants(price: int, percents: list[Decimal], amounts: list[int], drop: bool) -> None:
    """Each adjustment lies between the members' lowest and highest amounts (rounded to whole units); the
    evaluated price is the price plus the adjustments; adding the same value for everyone shifts it exactly."""
    rules = scoring.Rules(drop_extremes=drop, drop_min_members=3)
    recorded = {"p": ("percent", percents), "a": ("amount", [D(a) for a in amounts])}
    got, evaluated = scoring.adjusted(price, recorded, rules)
    by_percent = [D(price) * p / 100 for p in percents]
    assert int(scoring.quantize(min(by_percent), 0)) <= got["p"] <= int(scoring.quantize(max(by_percent), 0))
    assert min(amounts) <= got["a"] <= max(amounts)
    assert evaluated == price + got["p"] + got["a"]
    shifted, _ = scoring.adjusted(price, {"a": ("amount", [D(a + 7) for a in amounts])}, rules)
    assert shifted["a"] == got["a"] + 7
