"""Issue 9 item 8: after the opening the evaluation names bids by their random public ids, never by the internal id.

A bid's internal id is one global sequence: the gaps between one tender's ids tell how many bids other tenders got
meanwhile, some of them still sealed. Every answer of the evaluation API, every page, the room's event stream, every
evidence-log entry, the signed report (its bundle and PDF) and the signed award name a bid by its public id only;
a route given anything else (the internal id included) answers as for an unknown bid.

The check is by field: JSON is walked for the keys that name bids (bid_id, bid_ids, bids, failed, recommended, …)
and every value found there must be one of the tender's public ids.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from app.tendering.models import is_public_id
from tests.accounts.helpers import PASSWORD, csrf_from
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
from tests.evaluation.test_clarifications import answer
from tests.evaluation.test_pages import scoring_room
from tests.tendering.helpers import audit_actions

NAMES_A_BID = {"bid_id", "winner_bid_id", "next_bid_id"}  # a single bid
LISTS_BIDS = {"bid_ids", "in_evaluation", "passed", "candidates", "recommended", "bids", "eliminated"}
KEYED_BY_BID = {"failed", "bids", "eliminated"}  # objects whose keys are bids
TECH, COMM = "技术方案", "商务及信誉"


def bid_refs(value: Any, key: str | None = None) -> Iterator[Any]:
    """Every value a JSON document puts where a bid is named, by the key it sits under."""
    if isinstance(value, dict):
        if key in KEYED_BY_BID:
            yield from value.keys()
        for k, v in value.items():
            if k in NAMES_A_BID and v is not None and not isinstance(v, dict | list):
                yield v
            yield from bid_refs(v, k)
    elif isinstance(value, list):
        for item in value:
            if key in LISTS_BIDS and not isinstance(item, dict | list | bool):
                yield item
            yield from bid_refs(item, None)


class Seen:
    """What the outside world got to see, and the check that it names bids by public id only."""

    def __init__(self, world: Any, tid: int) -> None:
        from sqlalchemy import select

        from app.extensions import db
        from app.tendering.models import Bid

        with world.app.app_context():
            rows = db.session.execute(select(Bid.id, Bid.public_id).where(Bid.tender_id == tid)).all()
            db.session.remove()
        self.internal = {int(i) for i, _ in rows}
        self.public = {str(p) for _, p in rows}
        self.docs: list[tuple[str, Any]] = []
        self.pages: list[tuple[str, str]] = []

    def json(self, where: str, resp: Any, status: int = 200) -> Any:
        assert resp.status_code == status, (where, resp.status_code, resp.get_data(as_text=True)[:500])
        self.docs.append((where, resp.json))
        return resp.json

    def page(self, where: str, resp: Any) -> str:
        assert resp.status_code == 200, (where, resp.status_code)
        text = resp.get_data(as_text=True)
        self.pages.append((where, text))
        return text

    def events(self, where: str, resp: Any) -> None:
        assert resp.status_code == 200, where
        for line in resp.get_data(as_text=True).splitlines():
            if line.startswith("data:") and line[5:].strip().startswith(("{", "[")):
                self.docs.append((where, json.loads(line[5:])))

    def check(self, world: Any, *, at_least: int) -> None:
        for action, _actor, _subject, data in audit_actions(world.app):
            if action.startswith("evaluation.") or action == "access.denied":
                self.docs.append((action, data))
        named: set[Any] = set()
        count = 0
        for where, doc in self.docs:
            for ref in bid_refs(doc):
                assert isinstance(ref, str) and is_public_id(ref), (where, ref)
                assert ref in self.public, (where, ref)
                named.add(ref)
                count += 1
        assert count >= at_least and named == self.public, (count, named)
        for where, text in self.pages:
            shown = re.findall(r'data-bid="([^"]*)"', text) + re.findall(r"/bids/([^/\"]+)/envelopes", text)
            shown += (
                re.findall(r'<option value="([^"]*)"', text.split('name="bid_id"', 1)[1]) if "bid_id" in text else []
            )
            assert all(s in self.public for s in shown), (where, shown)
            for i in self.internal:
                assert f'data-bid="{i}"' not in text and f"/bids/{i}/" not in text, (where, i)


def test_every_outside_view_of_a_lowest_price_evaluation_names_bids_by_public_id(world, clock, tmp_path) -> None:
    """Review (one bid failed), clarification, downloads, ranking, report, PDF, publicity, award and reassignment."""
    tender = opened_tender(
        world, clock, prices=(1_300_000, 1_100_000, 1_200_000), evaluation_method="lowest_evaluated_price"
    )
    tid = tender["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    seen = Seen(world, tid)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    opened = seen.json(
        "open", world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 2}), 201
    )
    bids = opened["bid_ids"]
    chair = members[2]

    # the room's bids, an envelope, a document in the page's viewer: by public id; anything else is unknown
    listed = seen.json("bids", members[1].api.get(f"{base}/bids"))
    assert [b["bid_id"] for b in listed] == bids
    assert members[1].api.get(f"{base}/bids/{bids[0]}/envelopes/bid").status_code == 200
    for wrong in [*map(str, sorted(seen.internal)), "A" * 26, "a" * 25, "a" * 26, str(bids[0]) + "a"]:
        assert members[1].api.get(f"{base}/bids/{wrong}/envelopes/bid").status_code == 404, wrong
    denied_before = sum(1 for a, *_ in audit_actions(world.app) if a == "access.denied")
    outside = world.bidders[0].api.get(f"{base}/bids/{min(seen.internal)}/envelopes/bid")
    assert outside.status_code == 403 and outside.mimetype == "application/problem+json"
    assert sum(1 for a, *_ in audit_actions(world.app) if a == "access.denied") == denied_before + 1  # logged
    member_page = browser(world, members[1].user_id)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    viewed = member_page.get(f"{room_url}/bids/{bids[0]}/envelopes/bid/files/技术方案.txt")
    assert viewed.status_code == 200
    assert member_page.get(f"{room_url}/bids/{min(seen.internal)}/envelopes/bid/files/技术方案.txt").status_code == 404

    # a clarification: asked by public id (an internal id is not a bid id), answered, listed on both sides
    url = f"{base}/clarifications"
    assert chair.api.post(url, json_body={"bid_id": min(seen.internal), "question": "请说明"}).status_code == 422
    assert chair.api.post(url, json_body={"bid_id": str(min(seen.internal)), "question": "请说明"}).status_code == 422
    asked = seen.json("clarify", chair.api.post(url, json_body={"bid_id": bids[0], "question": "请说明工期"}), 201)
    seen.json("answer", answer(world.bidders[0], asked["id"]))
    seen.json("clarifications", members[1].api.get(url))
    seen.json("my clarifications", world.bidders[0].api.get("/api/v1/my/clarifications"))
    chair_page = browser(world, chair.user_id)
    page = seen.page("room (chair, review)", chair_page.get(room_url))
    form = chair_page.post(
        f"{room_url}/clarifications", data={"csrf_token": csrf_from(page), "bid_id": bids[2], "question": "请说明"}
    )
    assert form.status_code == 303
    assert seen.page(
        "my clarifications page", browser(world, world.bidders[2].user_id).get("/evaluation/clarifications")
    )

    # the review: verdicts name bids by public id (an internal id is refused); one bid fails
    bad = {"verdicts": [{"bid_id": min(seen.internal), "requirement": "资格审查", "passed": True}]}
    assert put_json(members[1], f"{base}/review", bad).status_code == 422
    for party in members.values():
        verdicts = [{"bid_id": b, "requirement": "资格审查", "passed": b != bids[1], "reason": "无业绩"} for b in bids]
        seen.json("review", put_json(party, f"{base}/review", {"verdicts": verdicts}))
        seen.json("review submitted", party.api.post(f"{base}/review/submit"))
    closed = seen.json("close", chair.api.post(f"{base}/review/close"))
    assert closed["phase"] == "finished" and list(closed["review_result"]["failed"]) == [bids[1]]
    assert closed["bid_ids"] == bids and closed["in_evaluation"] == [bids[0], bids[2]]
    seen.json("room", world.agency.api.get(base))
    seen.json("result", world.agency.api.get(f"{base}/result"))
    seen.events("events", world.agency.api.get(f"{base}/events?max_seconds=1"))
    seen.page("room (member, finished)", member_page.get(room_url))

    # the report, its signatures, the bundle and its PDF
    ev = f"/api/v1/tenders/{tid}/evaluation"
    drawn = seen.json("report", chair.api.post(f"{ev}/report", json_body={}), 201)
    assert [r["bid_id"] for r in drawn["report"]["ranking"]] == [bids[2], bids[0]]
    for party in members.values():
        body = {"report_sha256": drawn["report_sha256"], "password": PASSWORD}
        assert party.api.post(f"{ev}/report/signatures", json_body=body).status_code == 201
    bundle = seen.json("bundle", members[1].api.get(f"{ev}/report"))
    seen.page("report page", member_page.get(f"/evaluation/tenders/{tid}/report"))
    pdf = members[1].api.get(f"{ev}/report.pdf")
    assert pdf.status_code == 200
    if shutil.which("pdftotext"):
        (tmp_path / "r.pdf").write_bytes(pdf.data)
        text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True)
        flat = re.sub(r"\s+", "", text.stdout)
        assert bids[2] in flat and bids[0] in flat  # the ranking names the bids as the bundle does
    key = tmp_path / "platform.key"
    key.write_text(world.anonymous.get("/api/v1/keys").json["keys"][0]["public_key"])
    (tmp_path / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    verified = subprocess.run(
        ["python", "-m", "crypto", "verify-report", str(tmp_path / "bundle.json"), "--key", str(key)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert verified.returncode == 0 and "OK the report is final" in verified.stdout, verified.stdout

    # publicity, the award to the first candidate, then to the next when the first gives it up
    seen.json("publicity", world.agency.api.post(f"{ev}/publicity", json_body={}))
    seen.json("public list", world.anonymous.get("/api/v1/evaluation/publicity"))
    clock.advance(timedelta(days=3, seconds=1))
    award = seen.json("award", world.agency.api.post(f"{ev}/award"), 201)
    assert award["document"]["payload"]["winner"]["bid_id"] == bids[2]
    seen.json("award (bidder)", world.bidders[1].api.get(f"{ev}/award"))
    again = seen.json("reassign", world.agency.api.post(f"{ev}/award/reassign", json_body={"reason": "放弃"}), 201)
    assert again["document"]["payload"]["winner"]["bid_id"] == bids[0]
    assert [d["bid_id"] for d in again["document"]["payload"]["declined"]] == [bids[2]]

    seen.check(world, at_least=60)


def test_scoring_sheets_status_and_aggregation_name_bids_by_public_id(world, clock) -> None:
    """A comprehensive room: sheets, their URLs, the status and its progress, the aggregation and its blockers."""
    tid, members, _pool, bids = scoring_room(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)
    seen = Seen(world, tid)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for party in members.values():
        for bid, tech in zip(bids, ("40", "30"), strict=True):
            saved = seen.json("sheet", put_json(party, f"{base}/sheets/{bid}", {"items": {TECH: tech, COMM: "12"}}))
            assert saved["bid_id"] == bid
            seen.json("submitted", party.api.post(f"{base}/sheets/{bid}/submit"))
    seen.json("sheets", members[2].api.get(f"{base}/sheets"))
    for wrong in [*map(str, sorted(seen.internal)), "A" * 26, "a" * 25, "a" * 26, str(bids[0]) + "a", "%00"]:
        assert put_json(members[1], f"{base}/sheets/{wrong}", {"items": {TECH: "1"}}).status_code == 404, wrong
        assert members[1].api.post(f"{base}/sheets/{wrong}/submit").status_code == 404, wrong
    fix = {"kind": "transcription", "reason": "抄录有误", "items": {TECH: "39"}}
    seen.json("corrected", members[2].api.post(f"{base}/sheets/{bids[0]}/corrections", json_body=fix), 201)
    seen.json("status", members[1].api.get(base))
    page = seen.page("room (scoring)", browser(world, members[3].user_id).get(f"/evaluation/tenders/{tid}/rooms/1"))
    assert f'data-sheet data-bid="{bids[0]}"' in page
    seen.events("events", members[1].api.get(f"{base}/events?max_seconds=1"))
    seen.json("aggregate", members[1].api.post(f"{base}/aggregate"))
    result = seen.json("result", members[1].api.get(f"{base}/result"))
    assert [b["bid_id"] for b in result["bids"]] == bids
    seen.check(world, at_least=20)


def test_an_award_on_a_report_drawn_up_with_internal_ids_names_bids_by_public_id(world, clock) -> None:
    """A report signed before this change names bids by internal id (its signature covers them, so they stay): the
    award and its reassignment drawn from it still name every bid by public id, and compare the right bids."""
    import copy

    from sqlalchemy import select

    from app.evaluation.models import EvaluationReport
    from app.extensions import db
    from app.tendering.models import Bid
    from tests.evaluation.test_report import aggregated

    tid, members, bids = aggregated(world, clock)
    seen = Seen(world, tid)
    ev = f"/api/v1/tenders/{tid}/evaluation"
    sha = members[2].api.post(f"{ev}/report", json_body={"recommended": 2}).json["report_sha256"]
    for party in members.values():
        body = {"report_sha256": sha, "password": PASSWORD}
        assert party.api.post(f"{ev}/report/signatures", json_body=body).status_code == 201
    assert world.agency.api.post(f"{ev}/publicity", json_body={}).status_code == 200
    with world.app.app_context():
        internal = dict(db.session.execute(select(Bid.public_id, Bid.id).where(Bid.tender_id == tid)).all())
        report = db.session.scalar(select(EvaluationReport).where(EvaluationReport.tender_id == tid))
        doc = copy.deepcopy(report.document)
        for part in ("ranking", "recommended", "scores"):
            for row in doc[part]:
                row["bid_id"] = internal[row["bid_id"]]
        report.document = doc
        db.session.commit()
        db.session.remove()
    clock.advance(timedelta(days=3, seconds=1))
    award = seen.json("award", world.agency.api.post(f"{ev}/award"), 201)["document"]["payload"]
    assert award["winner"]["bid_id"] == bids[2]
    assert {n["bid_id"]: (n["notice"], n["rank"]) for n in award["notices"]} == {
        bids[2]: ("award", 1),
        bids[0]: ("result", 2),
        bids[1]: ("result", None),
    }
    again = seen.json("reassign", world.agency.api.post(f"{ev}/award/reassign", json_body={"reason": "放弃"}), 201)
    payload = again["document"]["payload"]
    assert payload["winner"]["bid_id"] == bids[0] and [d["bid_id"] for d in payload["declined"]] == [bids[2]]
    third = world.agency.api.post(f"{ev}/award/reassign", json_body={"reason": "放弃"})
    assert third.status_code == 409  # no candidate left
    seen.check(world, at_least=15)
