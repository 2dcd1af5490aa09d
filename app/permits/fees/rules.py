"""Fee rules applied to an application's answers: pure computation, no database writes.

- fixed: the rule's amount once (quantity 1);
- per_unit: the rule's amount × the number the applicant gave in the form attribute the rule names (`per`);
  a fractional product is rounded to the 分, half up; an attribute left empty counts 0;
- free: listed with its legal basis, amount 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from app.permits.catalogue.models import FeeKind, Item, ItemFee


@dataclass(frozen=True)
class Charge:
    item: Item
    fee: ItemFee
    quantity: Decimal
    amount_fen: int


def quantity_of(fee: ItemFee, answers: dict[str, Any]) -> Decimal:
    if fee.kind is FeeKind.FIXED:
        return Decimal(1)
    if fee.kind is FeeKind.FREE or not fee.per:
        return Decimal(0) if fee.kind is FeeKind.FREE else Decimal(1)
    value = answers.get(fee.per)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    if not number.is_finite() or number < 0:
        return Decimal(0)
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def charge(item: Item, fee: ItemFee, answers: dict[str, Any]) -> Charge:
    quantity = quantity_of(fee, answers)
    if fee.kind is FeeKind.FREE:
        return Charge(item, fee, quantity, 0)
    amount = (Decimal(fee.amount_fen) * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Charge(item, fee, quantity, int(amount))


def charges(items: list[Item], answers: dict[str, Any]) -> list[Charge]:
    """Every fee rule of `items` (in order) applied to `answers`."""
    return [charge(item, fee, answers) for item in items for fee in item.fees]
