"""Scoring arithmetic: table tests for the edge cases, Hypothesis for the aggregation and ranking invariants."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.evaluation.room import scoring
from app.evaluation.room.scoring import Candidate, Rules, ScoreError

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, D("0.00")), ("12.5", D("12.50")), (40, D("40.00")), (" 7.25 ", D("7.25")), (7.5, D("7.50"))],
)
def test_scores_in_range_are_accepted(value: object, expected: Decimal) -> None:
    assert scoring.parse_points(value, high=D(40), precision=2) == expected


@pytest.mark.parametrize(
    "value",
    [-1, "40.01", 41, "1.005", "abc", "NaN", "Infinity", "-0.01", True, None, [1], {"a": 1}, "1e400", "1E-30"],
)
def test_scores_out_of_range_or_malformed_are_refused(value: object) -> None:
    with pytest.raises(ScoreError):
        scoring.parse_points(value, high=D(40), precision=2)


@pytest.mark.parametrize(
    ("values", "rules", "expected"),
    [
        ([D(10), D(20), D(30)], Rules(), D("20.00")),
        ([D(10), D(10), D(11)], Rules(precision=1), D("10.3")),
        ([D("1.005")], Rules(precision=2), D("1.01")),  # half-up, not banker's rounding
        ([D(1), D(2), D(2)], Rules(precision=0), D(2)),  # 1.666… -> 2
        ([D(0), D(50), D(50), D(50), D(50), D(50), D(100)], Rules(drop_extremes=True), D("50.00")),
        ([D(0), D(50), D(50), D(50), D(50), D(100)], Rules(drop_extremes=True), D("50.00")),  # 6 < 7: kept
        ([D(0), D(60), D(60), D(60), D(60), D(60)], Rules(drop_extremes=True, drop_min_members=5), D("60.00")),
        ([D(0), D(60), D(60), D(60), D(60), D(60)], Rules(drop_extremes=False, drop_min_members=5), D("50.00")),
    ],
)
def test_aggregate_table(values: list[Decimal], rules: Rules, expected: Decimal) -> None:
    assert scoring.aggregate(values, rules) == expected


@pytest.mark.parametrize(
    ("scores", "percent", "expected"),
    [
        ({"a": D(10), "b": D(10), "c": D(10)}, 30, set()),
        ({"a": D(10), "b": D(10), "c": D(20)}, 30, {"c"}),  # mean 13.33: 20 is +50%, 10 is -25%
        ({"a": D(10), "b": D(13)}, 30, set()),  # mean 11.5: ±13%
        ({"a": D(0), "b": D(0)}, 30, set()),
        ({"a": D(0), "b": D(10)}, 30, {"a", "b"}),  # mean 5: both 100% away
        ({"a": D(7)}, 30, set()),
        ({"a": D(100), "b": D(130), "c": D(100), "d": D(70)}, 30, set()),  # exactly 30% is not beyond
    ],
)
def test_outliers_table(scores: dict[str, Decimal], percent: int, expected: set[str]) -> None:
    assert scoring.outliers(scores, percent) == expected


def test_price_score_by_lowest_and_average_benchmark() -> None:
    prices = {1: 1_000_000, 2: 1_250_000, 3: 2_000_000}
    assert scoring.price_scores(prices, D(40), Rules()) == {1: D("40.00"), 2: D("32.00"), 3: D("20.00")}
    avg = scoring.price_scores(prices, D(40), Rules(price_benchmark="average"))
    # benchmark 1 416 666.67: the lowest bid is capped at the maximum
    assert avg == {1: D("40.00"), 2: D("40.00"), 3: D("28.33")}
    with pytest.raises(ScoreError):
        scoring.price_scores({1: 0}, D(40), Rules())
    assert scoring.price_scores({}, D(40), Rules()) == {}


def test_objective_disagreements_are_listed() -> None:
    sheets = {"m1": {(1, "资质"): D(5), (2, "资质"): D(3)}, "m2": {(1, "资质"): D(5), (2, "资质"): D(4)}}
    assert scoring.disagreements(sheets) == [(2, "资质")]


@pytest.mark.parametrize(
    "bad",
    [
        {"outlier_percent": 0},
        {"precision": 9},
        {"tie_break": ["coin"]},
        {"tie_break": ["lower_price", "lower_price"]},
        {"price_benchmark": "median"},
        {"drop_min_members": 2},
        {"unknown": 1},
        {"precision": "2"},
        {"drop_extremes": "yes"},
        {"tie_break": "lower_price"},
    ],
)
def test_bad_rules_are_refused(bad: dict) -> None:
    with pytest.raises(ScoreError):
        Rules.from_json(bad)


def test_ranking_breaks_ties_by_the_configured_rules_in_order() -> None:
    a = Candidate(1, D("90.00"), price=100, received_at="2026-01-05T01:00:00.000000Z", technical=D(40))
    b = Candidate(2, D("90.00"), price=90, received_at="2026-01-05T02:00:00.000000Z", technical=D(30))
    c = Candidate(3, D("95.00"), price=120, received_at="2026-01-05T03:00:00.000000Z")
    by_price = scoring.rank([a, b, c], higher_is_better=True, tie_break=["lower_price", "earlier_receipt"])
    assert [r.candidate.bid_id for r in by_price] == [3, 2, 1]
    assert by_price[2].decided_by == "lower_price" and not any(r.tie_unresolved for r in by_price)
    by_tech = scoring.rank([a, b, c], higher_is_better=True, tie_break=["higher_technical"])
    assert [r.candidate.bid_id for r in by_tech] == [3, 1, 2]
    same = Candidate(4, D("90.00"), price=100, received_at="2026-01-05T01:00:00.000000Z", technical=D(40))
    tied = scoring.rank([a, same], higher_is_better=True, tie_break=["lower_price"])
    assert [r.candidate.bid_id for r in tied] == [1, 4]
    assert all(r.tie_unresolved for r in tied) and tied[1].decided_by == "bid_id"
    lowest = scoring.rank([a, b, c], higher_is_better=False, tie_break=[])
    assert [r.candidate.bid_id for r in lowest] == [1, 2, 3]
    with pytest.raises(ScoreError):
        scoring.rank([a, a], higher_is_better=True, tie_break=[])


def test_evaluated_price_adds_adjustments() -> None:
    assert scoring.evaluated_price(1_000_000, [50_000, -20_000]) == 1_030_000
    with pytest.raises(ScoreError):
        scoring.evaluated_price(100, [-100])


points = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
rules_st = st.builds(
    Rules, drop_extremes=st.booleans(), drop_min_members=st.integers(3, 9), precision=st.integers(0, 4)
)


@settings(max_examples=500, deadline=None)
@given(values=st.lists(points, min_size=1, max_size=15), rules=rules_st, data=st.data())
def test_aggregation_invariants(values: list[Decimal], rules: Rules, data: st.DataObject) -> None:
    result = scoring.aggregate(values, rules)
    half_quantum = scoring.quantum(rules.precision) / 2
    # within the range of the scores (up to rounding), and independent of the members' order
    assert min(values) - half_quantum <= result <= max(values) + half_quantum
    assert scoring.aggregate(data.draw(st.permutations(values)), rules) == result
    assert result == scoring.quantize(result, rules.precision)
    # equal scores aggregate to themselves; a shift of every score shifts the result by as much
    assert scoring.aggregate([values[0]] * len(values), rules) == scoring.quantize(values[0], rules.precision)
    exact_mean = scoring.mean(
        sorted(values)[1:-1] if rules.drop_extremes and len(values) >= rules.drop_min_members else values
    )
    assert abs(result - exact_mean) <= half_quantum
    shift = data.draw(st.integers(0, 10))
    assert scoring.aggregate([v + shift for v in values], rules) == result + shift
    # dropping extremes makes one member unable to move the result beyond the others' range
    if rules.drop_extremes and len(values) >= rules.drop_min_members:
        raised = [*values[:-1], D(10_000)]
        assert scoring.aggregate(raised, rules) <= max(values) + half_quantum


@settings(max_examples=300, deadline=None)
@given(
    prices=st.dictionaries(st.integers(1, 50), st.integers(1, 10**10), min_size=1, max_size=12),
    benchmark=st.sampled_from(scoring.PRICE_BENCHMARKS),
)
def test_price_score_invariants(prices: dict[int, int], benchmark: str) -> None:
    rules = Rules(price_benchmark=benchmark)
    scores = scoring.price_scores(prices, D(40), rules)
    assert all(D(0) <= s <= D(40) for s in scores.values())
    cheapest = min(prices, key=lambda b: prices[b])
    assert scores[cheapest] == D("40.00")
    ordered = sorted(prices, key=lambda b: prices[b])
    assert all(scores[x] >= scores[y] for x, y in itertools.pairwise(ordered)), "cheaper never scores less"


candidates_st = st.lists(
    st.builds(
        Candidate,
        bid_id=st.integers(1, 10**6),
        value=st.decimals(0, 100, places=1),
        price=st.integers(1, 5),
        received_at=st.sampled_from(["2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z"]),
        technical=st.decimals(0, 5, places=0),
    ),
    max_size=12,
    unique_by=lambda c: c.bid_id,
)


@settings(max_examples=300, deadline=None)
@given(
    cands=candidates_st,
    higher=st.booleans(),
    tie_break=st.lists(st.sampled_from(scoring.TIE_BREAK_RULES), unique=True),
    data=st.data(),
)
def test_ranking_invariants(cands: list[Candidate], higher: bool, tie_break: list[str], data: st.DataObject) -> None:
    ranked = scoring.rank(cands, higher_is_better=higher, tie_break=tie_break)
    assert sorted(r.candidate.bid_id for r in ranked) == sorted(c.bid_id for c in cands)
    assert [r.rank for r in ranked] == list(range(1, len(cands) + 1))
    values = [r.candidate.value for r in ranked]
    assert values == sorted(values, reverse=higher)
    assume(len(cands) > 1)
    again = scoring.rank(data.draw(st.permutations(cands)), higher_is_better=higher, tie_break=tie_break)
    assert [r.candidate.bid_id for r in again] == [r.candidate.bid_id for r in ranked]
