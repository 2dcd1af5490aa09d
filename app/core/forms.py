"""WTForms fields shared by the pages.

`YuanField`: money typed in 元 with at most two decimals, kept as an integer of 分 (the unit every model, API
and signed document uses). The browser sends text; the field reads it with Decimal, never float:
- `1380000`, `1380000.5`, `1,380,000.50` (commas only as thousands separators, in groups of three) and their
  full-width forms (１３８００００．５０, typed with a Chinese input method) are accepted;
- more than two decimals, a sign, exponents, NaN/Infinity, other separators and amounts above `max_fen` are
  refused with a message that says which rule was broken;
- an empty field is None (add `InputRequired` or `DataRequired` to make it compulsory).
On a page redisplayed after an error the field shows what was typed; otherwise the stored amount in 元.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import StringField

# 2^53 - 1 分: amounts are signed as canonical JSON integers, which stay exact only up to there.
MAX_FEN = 2**53 - 1
_AMOUNT = re.compile(r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<cents>[0-9]*))?")
_MAX_TEXT = 40  # characters; anything longer is not an amount a person types


def parse_yuan(text: str, *, max_fen: int = MAX_FEN) -> int:
    """`text` in 元 as an integer of 分. Raises ValueError with a translated message saying what is wrong."""
    raw = unicodedata.normalize("NFKC", text).strip()
    if len(raw) > _MAX_TEXT:
        raise ValueError(_l("This amount is too long to be a sum of money."))
    if raw.startswith(("-", "−")):
        raise ValueError(_l("The amount cannot be negative."))
    found = _AMOUNT.fullmatch(raw)
    if found is None:
        raise ValueError(
            _l("Enter an amount in yuan, using digits, an optional decimal point and commas between thousands.")
        )
    cents = found["cents"] or ""
    if len(cents) > 2:
        raise ValueError(_l("Enter an amount in yuan with at most two decimals (fen)."))
    fen = int(Decimal(found["whole"].replace(",", "") + "." + (cents or "0")) * 100)
    if fen > max_fen:
        raise ValueError(_l("The amount cannot exceed %(limit)s yuan.", limit=f"{max_fen // 100:,}"))
    return fen


def format_yuan(fen: int) -> str:
    """Integer 分 as the text a person edits: 138000050 → '1380000.50' (no separators, two decimals)."""
    whole, cents = divmod(fen, 100)
    return f"{whole}.{cents:02d}"


class YuanField(StringField):
    """Money typed in 元 (at most two decimals), `data` an integer of 分 or None when left empty."""

    data: int | None  # type: ignore[assignment]

    def __init__(self, label: Any = None, validators: Any = None, *, max_fen: int = MAX_FEN, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "decimal")
        super().__init__(label, validators, **kwargs)
        self.max_fen = max_fen
        self._typed: str | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist:
            return
        self._typed = str(valuelist[0])
        if not self._typed.strip():
            return
        self.data = parse_yuan(self._typed, max_fen=self.max_fen)  # ValueError → a process error of the field

    def _value(self) -> str:
        if self._typed is not None:
            return self._typed
        return "" if self.data is None else format_yuan(int(self.data))
