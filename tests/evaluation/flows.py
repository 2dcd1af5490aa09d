"""Steps of the evaluation that several test modules take: the whole committee reviews, a member fills and
submits a score sheet, the chair closes the review, problem answers. Each step asserts that the platform accepted
it, so a test that uses a step starts from a stage the platform really reached."""

from __future__ import annotations

from typing import Any

from tests.factories import Party, put_json

QUAL, CONF = "资格审查", "符合性审查"
FAILING_REASON = "资质证书过期"


def review_all(api_base: str, members: dict[int, Party], bids: list[int], fail_bid: int | None, fails: set[int]):
    """Every member saves and submits the review of `bids` against both requirements; the seats in `fails` fail
    `fail_bid` on the qualification (with a reason), everything else passes."""
    for seat, party in members.items():
        verdicts = []
        for bid in bids:
            for req in (QUAL, CONF):
                failing = bid == fail_bid and req == QUAL and seat in fails
                verdicts.append(
                    {
                        "bid_id": bid,
                        "requirement": req,
                        "passed": not failing,
                        "reason": FAILING_REASON if failing else "",
                    }
                )
        resp = put_json(party, f"{api_base}/review", {"verdicts": verdicts})
        assert resp.status_code == 200, resp.json
        resp = party.api.post(f"{api_base}/review/submit")
        assert resp.status_code == 200, resp.json


def close_review(api_base: str, chair: Party) -> dict[str, Any]:
    """The chair closes the review (every member has submitted). Returns the room as the answer shows it."""
    closed = chair.api.post(f"{api_base}/review/close")
    assert closed.status_code == 200, closed.json
    return dict(closed.json)


def save_sheet(member: Party, api_base: str, bid: int, items: dict[str, Any], reasons: dict[str, str] | None = None):
    """A member saves the draft of a score sheet (the answer must be a 200)."""
    body: dict[str, Any] = {"items": items}
    if reasons is not None:
        body["reasons"] = reasons
    saved = put_json(member, f"{api_base}/sheets/{bid}", body)
    assert saved.status_code == 200, saved.json
    return saved


def score(member: Party, api_base: str, bid: int, items: dict[str, Any], reasons: dict[str, str] | None = None):
    """A member saves a score sheet and submits it; returns the submission's answer (not checked: it may be a
    refusal the test is about)."""
    save_sheet(member, api_base, bid, items, reasons)
    return member.api.post(f"{api_base}/sheets/{bid}/submit")


def submitted(member: Party, api_base: str, bid: int, items: dict[str, Any], reasons: dict[str, str] | None = None):
    """`score`, and the submission accepted. Returns the answer's JSON."""
    resp = score(member, api_base, bid, items, reasons)
    assert resp.status_code == 200, resp.json
    return dict(resp.json)


def problem(resp: Any, status: int) -> dict[str, Any]:
    """The answer is a problem document with `status`; returns its JSON."""
    assert resp.status_code == status, (resp.status_code, resp.json)
    assert resp.mimetype == "application/problem+json"
    return dict(resp.json)
