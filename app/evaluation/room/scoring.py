"""Scoring arithmetic, pure and exact: points as Decimal, prices as integers (fen), no floats anywhere.

Comprehensive scoring (综合评估法): each criterion is scored from 0 to its weight; the price criterion is
computed by formula (benchmark = lowest valid price, or their average; score = max × benchmark / price, capped
at max); per criterion and bid the members' scores are aggregated (optionally dropping one highest and one
lowest when the committee is large enough), averaged and rounded half-up to the configured precision; the
bid's total is the sum of those. Lowest evaluated price (经评审的最低投标价法): evaluated price = price plus the
configured adjustments, lowest first. Ties are broken by the configured rules in order, then by bid id
(flagged, so the committee sees that its rules did not decide).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

TIE_BREAK_RULES = ("lower_price", "higher_technical", "earlier_receipt")
PRICE_BENCHMARKS = ("lowest", "average")
MAX_PRECISION = 4


class ScoreError(ValueError):
    """A score or a rule is not acceptable; the message says why."""


@dataclass(frozen=True)
class Rules:
    """The room's configuration (defaults follow common practice and the ±30% rule)."""

    outlier_percent: int = 30
    drop_extremes: bool = False
    drop_min_members: int = 7
    precision: int = 2
    tie_break: tuple[str, ...] = ("lower_price", "earlier_receipt")
    price_benchmark: str = "lowest"

    def __post_init__(self) -> None:
        if not 1 <= self.outlier_percent <= 100:
            raise ScoreError("the outlier threshold is a percentage from 1 to 100")
        if self.drop_min_members < 3:
            raise ScoreError("dropping extremes needs at least 3 scores")
        if not 0 <= self.precision <= MAX_PRECISION:
            raise ScoreError(f"the precision is 0 to {MAX_PRECISION} decimal places")
        unknown = [r for r in self.tie_break if r not in TIE_BREAK_RULES]
        if unknown or len(set(self.tie_break)) != len(self.tie_break):
            raise ScoreError(f"tie-break rules are distinct items of {', '.join(TIE_BREAK_RULES)}")
        if self.price_benchmark not in PRICE_BENCHMARKS:
            raise ScoreError(f"the price benchmark is one of {', '.join(PRICE_BENCHMARKS)}")

    def as_json(self) -> dict[str, Any]:
        return {
            "outlier_percent": self.outlier_percent,
            "drop_extremes": self.drop_extremes,
            "drop_min_members": self.drop_min_members,
            "precision": self.precision,
            "tie_break": list(self.tie_break),
            "price_benchmark": self.price_benchmark,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rules:
        known = {"outlier_percent", "drop_extremes", "drop_min_members", "precision", "tie_break", "price_benchmark"}
        if set(data) - known:
            raise ScoreError(f"unknown rules: {', '.join(sorted(set(data) - known))}")
        values = dict(data)
        if "tie_break" in values:
            if not isinstance(values["tie_break"], list | tuple):
                raise ScoreError("tie_break is a list")
            values["tie_break"] = tuple(values["tie_break"])
        for name in ("outlier_percent", "drop_min_members", "precision"):
            if name in values and (not isinstance(values[name], int) or isinstance(values[name], bool)):
                raise ScoreError(f"{name} is a whole number")
        if "drop_extremes" in values and not isinstance(values["drop_extremes"], bool):
            raise ScoreError("drop_extremes is true or false")
        return cls(**values)


def quantum(precision: int) -> Decimal:
    return Decimal(1).scaleb(-precision)


def quantize(value: Decimal, precision: int) -> Decimal:
    return value.quantize(quantum(precision), rounding=ROUND_HALF_UP)


def to_text(value: Decimal, precision: int) -> str:
    """A score as the exact decimal text written in records and signed documents."""
    return str(quantize(value, precision))


def parse_points(value: Any, *, high: Decimal, precision: int, low: Decimal = Decimal(0)) -> Decimal:
    """A typed score: a number or decimal string in [low, high] with at most `precision` decimals."""
    if isinstance(value, bool) or not isinstance(value, int | str | float | Decimal):
        raise ScoreError("a score is a number")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ScoreError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ScoreError("a score is a finite number")
    if not low <= number <= high:
        raise ScoreError(f"the score {number} is outside {low}–{high}")
    if number != quantize(number, precision):
        raise ScoreError(f"a score has at most {precision} decimal place(s)")
    return quantize(number, precision)


def mean(values: Sequence[Decimal]) -> Decimal:
    if not values:
        raise ScoreError("no values to average")
    return sum(values, Decimal(0)) / len(values)


def aggregate(values: Sequence[Decimal], rules: Rules) -> Decimal:
    """Average of the members' scores, without one highest and one lowest when configured and enough, rounded."""
    kept = sorted(values)
    if rules.drop_extremes and len(kept) >= rules.drop_min_members:
        kept = kept[1:-1]
    return quantize(mean(kept), rules.precision)


def is_outlier(value: Decimal, values: Sequence[Decimal], percent: int) -> bool:
    """True when `value` deviates from the mean of `values` by more than `percent` % of that mean."""
    centre = mean(values)
    return abs(value - centre) * 100 > abs(centre) * percent


def outliers(scores: Mapping[Any, Decimal], percent: int) -> set[Any]:
    """The keys (members) whose score is an outlier among all members' scores for one criterion and bid."""
    values = list(scores.values())
    if len(values) < 2:
        return set()
    return {k for k, v in scores.items() if is_outlier(v, values, percent)}


def price_scores(prices: Mapping[int, int], max_points: Decimal, rules: Rules) -> dict[int, Decimal]:
    """Price score per bid: max × benchmark / price, capped at max; benchmark per `rules.price_benchmark`."""
    if not prices:
        return {}
    if any(not isinstance(p, int) or isinstance(p, bool) or p <= 0 for p in prices.values()):
        raise ScoreError("prices are positive whole amounts")
    if rules.price_benchmark == "lowest":
        benchmark = Decimal(min(prices.values()))
    else:
        benchmark = mean([Decimal(p) for p in prices.values()])
    return {
        bid: quantize(min(max_points, max_points * benchmark / Decimal(price)), rules.precision)
        for bid, price in prices.items()
    }


def sheet_total(items: Mapping[str, Decimal]) -> Decimal:
    """A member's total for a bid: always computed, never typed."""
    return sum(items.values(), Decimal(0))


def disagreements(by_member: Mapping[Any, Mapping[Any, Decimal]]) -> list[Any]:
    """Keys (e.g. (bid, criterion)) on which the members' objective scores are not all equal, sorted."""
    seen: dict[Any, set[Decimal]] = {}
    for scores in by_member.values():
        for key, value in scores.items():
            seen.setdefault(key, set()).add(value)
    return sorted((k for k, v in seen.items() if len(v) > 1), key=repr)


# --- ranking -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    bid_id: int
    value: Decimal  # total points (comprehensive) or evaluated price (lowest evaluated price)
    price: int
    received_at: str  # ISO instant; compares correctly as text in the platform's one spelling
    technical: Decimal = Decimal(0)


@dataclass(frozen=True)
class Ranked:
    rank: int
    candidate: Candidate
    tie_unresolved: bool = False
    decided_by: str | None = None  # the tie-break rule that separated it from the one above, if any


@dataclass
class _Keyed:
    candidate: Candidate
    keys: list[Any] = field(default_factory=list)


def _rule_key(rule: str, c: Candidate) -> Any:
    if rule == "lower_price":
        return c.price
    if rule == "higher_technical":
        return -c.technical
    return c.received_at


def rank(candidates: Iterable[Candidate], *, higher_is_better: bool, tie_break: Sequence[str]) -> list[Ranked]:
    """Order candidates by value, then by each tie-break rule, then by bid id (flagged as unresolved)."""
    items = list(candidates)
    if len({c.bid_id for c in items}) != len(items):
        raise ScoreError("a bid appears twice")

    def key(c: Candidate) -> tuple[Any, ...]:
        primary = -c.value if higher_is_better else c.value
        return (primary, *(_rule_key(r, c) for r in tie_break), c.bid_id)

    ordered = sorted(items, key=key)
    out: list[Ranked] = []
    for i, c in enumerate(ordered):
        decided_by = None
        unresolved = False
        neighbours = [ordered[j] for j in (i - 1, i + 1) if 0 <= j < len(ordered)]
        for other in neighbours:
            if key(other)[:-1] == key(c)[:-1]:
                unresolved = True
        if i > 0:
            prev = ordered[i - 1]
            if prev.value == c.value:
                decided_by = next(
                    (r for r in tie_break if _rule_key(r, prev) != _rule_key(r, c)),
                    "bid_id",
                )
        out.append(Ranked(rank=i + 1, candidate=c, tie_unresolved=unresolved, decided_by=decided_by))
    return out


ADJUSTMENT_KINDS = ("percent", "amount")


def adjustment_amount(kind: str, value: Decimal, price: int) -> Decimal:
    """A recorded price adjustment as money (minor units, unrounded): `value` % of the price, or `value` itself."""
    if kind not in ADJUSTMENT_KINDS:
        raise ScoreError(f"an adjustment is one of {', '.join(ADJUSTMENT_KINDS)}")
    return Decimal(price) * value / 100 if kind == "percent" else value


def adjusted(
    price: int, recorded: Mapping[str, tuple[str, Sequence[Decimal]]], rules: Rules
) -> tuple[dict[str, int], int]:
    """Lowest evaluated price with adjustments: per adjustment {name: (kind, the members' values)}, the members'
    amounts averaged like scores (one highest and one lowest dropped when configured and enough) and rounded half
    up to whole minor units; returns those amounts and the evaluated price (price + their sum)."""
    whole = Rules(**{**rules.as_json(), "tie_break": tuple(rules.tie_break), "precision": 0})
    amounts = {
        name: int(aggregate([adjustment_amount(kind, v, price) for v in values], whole))
        for name, (kind, values) in recorded.items()
    }
    return amounts, evaluated_price(price, amounts.values())


def evaluated_price(price: int, adjustments: Iterable[int]) -> int:
    """Lowest evaluated price: the bid price plus the committee's configured adjustments (fen, may be negative)."""
    total = price + sum(adjustments)
    if total <= 0:
        raise ScoreError("an evaluated price must stay positive")
    return total
