"""k-of-n custody of a tender's opening identity."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.custody import CustodyError, Share, recover_secret, seal_secret, unwrap_share, wrap_share

SECRET = b"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 5), extra=st.integers(0, 3), data=st.data())
def test_any_k_shares_open_fewer_do_not(k: int, extra: int, data: st.DataObject) -> None:
    n = k + extra
    escrow, shares = seal_secret(SECRET, context="T-2026-0001", threshold=k, total=n)
    chosen = data.draw(st.permutations(shares))[:k]
    assert recover_secret(escrow, list(chosen)) == SECRET
    if k > 1:
        with pytest.raises(CustodyError, match="needed"):
            recover_secret(escrow, list(chosen[: k - 1]))


def test_share_text_roundtrip_and_typo_detected() -> None:
    _, shares = seal_secret(SECRET, context="T-1", threshold=2, total=3)
    text = shares[0].to_text()
    assert Share.from_text(text[:20] + "\n" + text[20:]) == shares[0]  # line breaks from copy-paste
    bad = text[:-12] + ("A" if text[-12] != "A" else "B") + text[-11:]
    with pytest.raises(CustodyError, match="checksum"):
        Share.from_text(bad)
    with pytest.raises(CustodyError, match="not a key share"):
        Share.from_text("hello")


def test_wrong_share_gives_clear_error_and_good_subset_still_opens() -> None:
    escrow, shares = seal_secret(SECRET, context="T-1", threshold=2, total=3)
    forged = Share("T-1", shares[1].index, 2, 3, os.urandom(32))
    with pytest.raises(CustodyError, match="wrong"):
        recover_secret(escrow, [shares[0], forged])
    assert recover_secret(escrow, [shares[0], forged, shares[2]]) == SECRET


def test_shares_of_another_tender_are_refused() -> None:
    escrow, _ = seal_secret(SECRET, context="T-1", threshold=1, total=2)
    _, other = seal_secret(SECRET, context="T-2", threshold=1, total=2)
    with pytest.raises(CustodyError, match="another tender"):
        recover_secret(escrow, other)


def test_platform_share_wrapped_under_master_key() -> None:
    _, shares = seal_secret(SECRET, context="T-9", threshold=1, total=1)
    master = os.urandom(32)
    blob = wrap_share(shares[0], master)
    assert shares[0].value not in blob
    assert unwrap_share(blob, master, context="T-9", index=1) == shares[0]
    with pytest.raises(CustodyError):
        unwrap_share(blob, os.urandom(32), context="T-9", index=1)
    with pytest.raises(CustodyError):
        unwrap_share(blob, master, context="T-9", index=2)
