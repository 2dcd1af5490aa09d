"""How a payment reaches a fee bill: the `PaymentChannel` interface and its adapters.

A channel confirms a payment before it is recorded: it says which receipt (票据号, or the gateway's transaction
number) proves it, for how much and when. The fee services then record it once per (channel, receipt).

- `CashierWindow` (the embedded default, `PERMITS_PAYMENT_CHANNEL = "cashier"`): the center's cashier window
  (收费窗口). The applicant pays at the desk; the desk clerk records the payment with the number of the official
  receipt (非税收入票据) they handed over. Only desk staff record; the receipt number is 4–32 letters, digits or
  '-'; the amount is what the clerk took.
- An online payment gateway (网上缴费, e.g. the provincial non-tax payment platform) is a production adapter:
  implement `confirm()` to check the gateway's signed notification — its transaction number, the amount and the
  bill number it was paid for, the signature against the gateway's certificate — and return the confirmed facts;
  register it in `CHANNELS` under its name and set `PERMITS_PAYMENT_CHANNEL`. Nothing else changes: the records,
  the idempotency by receipt and the evidence entries are the same.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from flask import current_app

from app.core.errors import PermissionDenied, field_error
from app.core.problems import N_
from app.core.time import now_utc

if TYPE_CHECKING:
    from app.permits.fees.models import FeeBill

RECEIPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,31}$")


@dataclass(frozen=True)
class ConfirmedPayment:
    receipt_number: str
    amount_fen: int
    paid_at: datetime
    payer: str = ""


class PaymentChannel(Protocol):
    name: str

    def confirm(
        self, *, bill: FeeBill, actor: Any, amount_fen: Any, receipt_number: Any, payer: str = ""
    ) -> ConfirmedPayment:
        """The payment's confirmed facts, or a DomainError (4xx) saying why it cannot be recorded."""
        ...


def normalise_receipt(raw: Any) -> str:
    text = unicodedata.normalize("NFKC", str(raw or "")).strip().upper()
    if not RECEIPT.match(text):
        raise field_error("receipt_number", N_("A receipt number has 4 to 32 letters, digits or hyphens."))
    return text


def amount_from(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise field_error("amount_fen", N_("The amount paid is a whole number of fen above 0."))
    return raw


class CashierWindow:
    """The center's cashier window: a desk clerk records the payment taken at the desk, with its receipt."""

    name = "cashier"

    def confirm(
        self, *, bill: FeeBill, actor: Any, amount_fen: Any, receipt_number: Any, payer: str = ""
    ) -> ConfirmedPayment:
        from app.permits.permissions import DESK

        if not (getattr(actor, "is_authenticated", False) and actor.has_permission(DESK)):
            raise PermissionDenied(N_("Only desk staff record payments at the cashier window."))
        return ConfirmedPayment(normalise_receipt(receipt_number), amount_from(amount_fen), now_utc(), payer)


CHANNELS: dict[str, type] = {CashierWindow.name: CashierWindow}


def get_payment_channel() -> PaymentChannel:
    name = str(current_app.config.get("PERMITS_PAYMENT_CHANNEL") or CashierWindow.name)
    channel: PaymentChannel = CHANNELS[name]()
    return channel
