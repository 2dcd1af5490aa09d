"""Token scopes on the tendering floor, as reported (issue 9, item 2): a token does only what its scopes cover.

An auditor's token scoped to `audit.read` received a committee custodian's one-time key share and, after the
opening, listed bids, downloaded sealed envelopes and read the opening records; a bidder's token scoped to
`accounts.self` downloaded its own sealed envelope. Each is now refused with 403 and an `access.denied` entry,
while a token of the same user with the right scope still works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from tests.tendering.helpers import Api, Party, World, envelope_plaintext, form, seal, submit, upload
from tests.tendering.test_access_phases import _audit_size, _audit_tail
from tests.tendering.test_opening import run_sweep, soon


def scoped(world: World, party: Party, *scopes: str) -> Api:
    """Another token of `party`'s user carrying only `scopes`."""
    from app.accounts import services_tokens
    from app.accounts.models import User
    from app.extensions import db

    with world.app.app_context():
        user = db.session.get(User, party.user_id)
        _row, text = services_tokens.create_token(user=user, name="scoped", scopes=list(scopes), expires_in_days=1)
        db.session.commit()
    return Api(world.client, text)


def denied_since(app: Flask, after: int) -> list[tuple[str | None, str | None]]:
    return [(actor, subject) for _i, action, actor, subject in _audit_tail(app, after) if action == "access.denied"]


def _scope_refusal(resp: Any) -> None:
    assert resp.status_code == 403, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert "token's scopes do not cover" in resp.json["detail"]


def test_audit_read_token_gets_no_custody_share(world: World, clock: Any) -> None:
    auditor = world.auditor
    assert auditor is not None
    tender = soon(
        world,
        clock,
        seconds=60,
        min_bids=1,
        custody_mode="committee",
        custodian_ids=[auditor.user_id, world.custodians[0].user_id],
        custody_threshold=2,
        platform_holds_share=False,
    )
    tid = tender["id"]
    before = _audit_size(world.app)
    resp = scoped(world, auditor, "audit.read").post(f"/api/v1/tenders/{tid}/custody/share")
    _scope_refusal(resp)
    assert "tendering.custody" in resp.json["detail"]
    assert denied_since(world.app, before) == [(f"user:{auditor.user_id}", "tendering-api.download_share")]
    # bringing a share is refused alike
    _scope_refusal(
        scoped(world, auditor, "audit.read").post(
            f"/api/v1/tenders/{tid}/custody/shares", {"share": "custody-share-1-" + "A" * 60}
        )
    )
    # the share was not spent: a token scoped to custody downloads it, once
    custody_token = scoped(world, auditor, "tendering.custody")
    ok = custody_token.post(f"/api/v1/tenders/{tid}/custody/share")
    assert ok.status_code == 200 and ok.json["share"]
    assert custody_token.post(f"/api/v1/tenders/{tid}/custody/share").status_code == 409


def _opened_tender_with_a_bid(world: World, clock: Any) -> tuple[int, int]:
    tender = soon(world, clock, min_bids=1)
    tid = tender["id"]
    bidder = world.bidders[0]
    data = seal(envelope_plaintext(form(321)), tender["recipient"])
    assert submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data)}).status_code == 201
    bid_id = bidder.api.get(f"/api/v1/tenders/{tid}/bid").json["id"]
    clock.advance(timedelta(seconds=5))
    run_sweep(world.app)
    assert world.agency.api.get(f"/api/v1/tenders/{tid}/opening-records").json != []
    return tid, bid_id


def test_audit_read_token_reads_no_bids_after_the_opening(world: World, clock: Any) -> None:
    auditor = world.auditor
    assert auditor is not None
    tid, bid_id = _opened_tender_with_a_bid(world, clock)
    urls = [
        f"/api/v1/tenders/{tid}/bids",
        f"/api/v1/tenders/{tid}/bids/{bid_id}",
        f"/api/v1/tenders/{tid}/bids/{bid_id}/envelopes/bid/sealed",
        f"/api/v1/tenders/{tid}/opening-records",
        f"/api/v1/tenders/{tid}/opening-records/1.pdf",
    ]
    audit_only = scoped(world, auditor, "audit.read")
    before = _audit_size(world.app)
    for url in urls:
        _scope_refusal(audit_only.get(url))
    denied = denied_since(world.app, before)
    assert len(denied) == len(urls) and {actor for actor, _s in denied} == {f"user:{auditor.user_id}"}
    # the same auditor with the oversight scope reads them all
    overseer = scoped(world, auditor, "tendering.read_opened")
    for url in urls:
        assert overseer.get(url).status_code == 200, url


def test_accounts_self_token_cannot_download_the_own_sealed_envelope(world: World, clock: Any) -> None:
    bidder = world.bidders[0]
    tender = soon(world, clock, seconds=60, min_bids=1)
    tid = tender["id"]
    data = seal(envelope_plaintext(form(654)), tender["recipient"])
    assert submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data)}).status_code == 201
    bid_id = bidder.api.get(f"/api/v1/tenders/{tid}/bid").json["id"]
    url = f"/api/v1/tenders/{tid}/bids/{bid_id}/envelopes/bid/sealed"
    before = _audit_size(world.app)
    self_only = scoped(world, bidder, "accounts.self")
    _scope_refusal(self_only.get(url))
    _scope_refusal(self_only.get(f"/api/v1/tenders/{tid}/bids/{bid_id}"))
    assert len(denied_since(world.app, before)) == 2
    assert self_only.get("/api/v1/me").status_code == 200  # what the scope covers still works
    got = scoped(world, bidder, "tendering.bid").get(url)
    assert got.status_code == 200 and got.data == data
