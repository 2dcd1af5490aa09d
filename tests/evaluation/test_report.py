"""Slice (d): the evaluation report and its signatures, publicity, objections, the award — through the API.

The room is a lowest-evaluated-price room (the review closes straight into the ranking): prices 1.3M, 1.1M,
1.2M; the review fails the 1.1M bid, so the ranking is 1.2M (rank 1), 1.3M (rank 2).
"""

from __future__ import annotations

import copy
import re
import subprocess
from datetime import timedelta
from typing import Any

import pytest

from crypto.report import ReportVerificationError, verify_signed_report
from crypto.signing import load_public_key
from tests.accounts.helpers import PASSWORD
from tests.evaluation.helpers import (
    build_pool,
    buyer_rep,
    committee_body,
    draw,
    opened_tender,
    put_json,
    seat_everyone,
)
from tests.tendering.helpers import Party, audit_actions, run_task


def run_sweep(app: Any) -> Any:
    from app.evaluation.tasks import publicity_due

    return run_task(app, publicity_due)


def aggregated(world: Any, clock: Any) -> tuple[int, dict[int, Party], list[int]]:
    """A tender whose (single, last) room is finished with a ranking; returns tender id, seats, bid ids."""
    tender = opened_tender(
        world, clock, prices=(1_300_000, 1_100_000, 1_200_000), evaluation_method="lowest_evaluated_price"
    )
    tid = tender["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 2})
    assert opened.status_code == 201, opened.json
    bids = opened.json["bid_ids"]
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for _seat, party in members.items():
        verdicts = [{"bid_id": b, "requirement": "资格审查", "passed": b != bids[1], "reason": "无业绩"} for b in bids]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    assert members[2].api.post(f"{base}/review/close").json["phase"] == "finished"
    return tid, members, bids


def problem(resp: Any, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.json)
    assert resp.mimetype == "application/problem+json"
    assert resp.json["status"] == status


def test_report_signing_publicity_objection_and_award(world, clock) -> None:
    tid, members, (bid_a, bid_b, bid_c) = aggregated(world, clock)
    ev = f"/api/v1/tenders/{tid}/evaluation"
    agency, bidder_a, bidder_c = world.agency.api, world.bidders[0].api, world.bidders[2].api

    # drawing up: the chair only, once
    problem(members[1].api.post(f"{ev}/report", json_body={}), 403)
    problem(agency.post(f"{ev}/report", json_body={}), 403)
    problem(members[2].api.post(f"{ev}/report", json_body={"recommended": 0}), 422)
    drawn = members[2].api.post(f"{ev}/report", json_body={"recommended": 1})
    assert drawn.status_code == 201, drawn.json
    problem(members[2].api.post(f"{ev}/report", json_body={}), 409)
    doc = drawn.json["report"]
    sha = drawn.json["report_sha256"]
    assert drawn.json["status"] == "signing" and drawn.json["waiting_seats"] == [1, 2, 3, 4, 5]
    assert [(r["bid_id"], r["rank"]) for r in doc["ranking"]] == [(bid_c, 1), (bid_a, 2)]
    assert [c["bid_id"] for c in doc["recommended"]] == [bid_c]
    assert len(doc["committee"]["members"]) == 5 and all(m["name"] for m in doc["committee"]["members"])
    assert doc["reviews"][0]["result"]["failed"] == {str(bid_b): "资格审查: " + " / ".join(["无业绩"] * 5)}
    assert set(doc["reviews"][0]["result"]["votes"]) == {"1", "2", "3", "4", "5"}  # every member's verdicts
    problem(bidder_a.get(f"{ev}/report"), 403)  # not before publication

    # signing: the member confirms the hash and re-authenticates; a wrong password is refused and logged
    sign = f"{ev}/report/signatures"
    problem(members[1].api.post(sign, json_body={"report_sha256": sha, "password": "wrong password!"}), 403)
    problem(members[1].api.post(sign, json_body={"report_sha256": sha}), 422)
    problem(members[1].api.post(sign, json_body={"report_sha256": "0" * 64, "password": PASSWORD}), 422)
    problem(members[1].api.post(sign, json_body={"report_sha256": sha, "totp": "000000"}), 403)
    problem(bidder_a.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}), 403)
    refused = [d for a, _actor, s, d in audit_actions(world.app) if a == "evaluation.report.sign_refused"]
    assert [d["via"] for d in refused] == ["password", "totp"]
    signed = members[1].api.post(sign, json_body={"report_sha256": sha, "password": PASSWORD})
    assert signed.status_code == 201, signed.json
    assert signed.json["payload"]["seat"] == 1 and signed.json["payload"]["report_sha256"] == sha
    problem(members[1].api.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}), 409)
    # publicity cannot start before every member has signed
    problem(agency.post(f"{ev}/publicity", json_body={}), 409)
    for seat in (2, 3, 4):
        assert members[seat].api.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}).status_code == 201
    dissent = {"report_sha256": sha, "password": PASSWORD, "dissent": "第三名投标人业绩认定有误"}
    assert members[5].api.post(sign, json_body=dissent).status_code == 201
    # before publication the agency sees the report with seats only, never the names
    before = agency.get(f"{ev}/report").json
    assert before["names_redacted"] is True and before["report_sha256"] == sha
    assert [m["name"] for m in before["report"]["committee"]["members"]] == [None] * 5
    assert all(n["name"] for n in world.auditor.api.get(f"{ev}/report").json["report"]["committee"]["members"])
    final = members[3].api.get(f"{ev}/report").json
    assert final["names_redacted"] is False
    assert final["status"] == "final" and final["waiting_seats"] == [] and len(final["signatures"]) == 5

    # the bundle verifies offline with the platform's public key alone
    keys = world.anonymous.get("/api/v1/keys").json["keys"]
    public = load_public_key(keys[0]["public_key"])
    bundle = {k: final[k] for k in ("report", "report_sha256", "signatures")}
    summary = verify_signed_report(bundle, public)
    assert summary["final"] and summary["signed_seats"] == [1, 2, 3, 4, 5]
    assert summary["dissents"] == {5: "第三名投标人业绩认定有误"}
    signed_entries = {d["seat"]: d for a, _x, s, d in audit_actions(world.app) if a == "evaluation.report.signed"}
    entries = [a for a, *_ in audit_actions(world.app)]
    for seat, index in summary["audit_indexes"].items():
        assert entries[index] == "evaluation.report.signed" and signed_entries[seat]["report_sha256"] == sha

    # publicity: the agency publishes; names become public; the public list shows the candidates
    problem(members[1].api.post(f"{ev}/publicity", json_body={}), 403)
    problem(agency.post(f"{ev}/publicity", json_body={"days": 1}), 422)  # shorter than the configured 3 days
    assert world.anonymous.get("/api/v1/evaluation/publicity").json == []
    published = agency.post(f"{ev}/publicity", json_body={})
    assert published.status_code == 200, published.json
    problem(agency.post(f"{ev}/publicity", json_body={}), 409)
    listed = world.anonymous.get("/api/v1/evaluation/publicity").json
    assert [(x["tender_id"], [c["bid_id"] for c in x["candidates"]]) for x in listed] == [(tid, [bid_c])]
    assert all(m["name"] for m in listed[0]["committee"]) and listed[0]["suspended"] is False
    committee = world.agency.api.get(f"/api/v1/tenders/{tid}/committee").json
    assert committee["names_published_at"] and all(s["name"] for s in committee["seats"])
    after = bidder_a.get(f"{ev}/report").json  # bidders read the report once published, names included
    assert after["names_redacted"] is False and after["report"] == doc

    # an objection by a bidder suspends the process; others may not object; the award waits
    problem(world.bidders[3].api.post(f"{ev}/objections", json_body={"text": "未投标"}), 403)  # no bid
    problem(members[1].api.post(f"{ev}/objections", json_body={"text": "x"}), 403)
    clock.advance(timedelta(hours=1))
    filed = bidder_a.post(f"{ev}/objections", json_body={"text": "中标候选人业绩不符合招标文件要求"})
    assert filed.status_code == 201, filed.json
    oid = filed.json["id"]
    assert filed.json["status"] == "open" and filed.json["overdue"] is False
    assert world.anonymous.get("/api/v1/evaluation/publicity").json[0]["suspended"] is True
    assert [o["id"] for o in bidder_a.get(f"{ev}/objections").json] == [oid]
    assert bidder_c.get(f"{ev}/objections").json == []  # another bidder sees only its own
    assert [o["id"] for o in agency.get(f"{ev}/objections").json] == [oid]

    # the window ends with the objection open: the sweep marks the end and, later, the answer overdue
    clock.advance(timedelta(days=3, seconds=1) - timedelta(hours=1))  # just past the end of publicity
    assert run_sweep(world.app) == {"publicity_ended": 1, "objections_overdue": 0}
    assert run_sweep(world.app) == {"publicity_ended": 0, "objections_overdue": 0}  # idempotent
    late = bidder_c.post(f"{ev}/objections", json_body={"text": "逾期异议"})
    problem(late, 409)
    assert world.anonymous.get("/api/v1/evaluation/publicity").json == []
    problem(agency.post(f"{ev}/award"), 409)  # suspended
    clock.advance(timedelta(hours=1))
    assert run_sweep(world.app) == {"publicity_ended": 0, "objections_overdue": 1}
    assert run_sweep(world.app) == {"publicity_ended": 0, "objections_overdue": 0}
    assert agency.get(f"{ev}/objections").json[0]["overdue"] is True

    # the answer resumes the process; then the award
    problem(world.other_agency.api.post(f"{ev}/objections/{oid}/answer", json_body={"answer": "x"}), 403)
    problem(agency.post(f"{ev}/objections/{2**40}/answer", json_body={"answer": "x"}), 404)
    answered = agency.post(f"{ev}/objections/{oid}/answer", json_body={"answer": "经复核，业绩证明材料齐全"})
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    problem(agency.post(f"{ev}/objections/{oid}/answer", json_body={"answer": "again"}), 409)
    problem(world.other_agency.api.post(f"{ev}/award"), 403)
    awarded = agency.post(f"{ev}/award")
    assert awarded.status_code == 201, awarded.json
    problem(agency.post(f"{ev}/award"), 409)
    payload = awarded.json["document"]["payload"]
    assert payload["winner"]["bid_id"] == bid_c and payload["report_sha256"] == sha
    notices = {n["bid_id"]: n["notice"] for n in payload["notices"]}
    assert notices == {bid_a: "result", bid_b: "result", bid_c: "award"}
    assert bidder_c.get(f"{ev}/award").json["your_notice"]["notice"] == "award"
    assert bidder_a.get(f"{ev}/award").json["your_notice"]["notice"] == "result"
    problem(world.bidders[3].api.get(f"{ev}/award"), 403)
    from crypto.signing import verify_document

    assert verify_document(awarded.json["document"], public)["winner"]["bid_id"] == bid_c

    # every step is in the evidence log under the tender's evaluation subject
    steps = [(a, s, d) for a, _x, s, d in audit_actions(world.app) if a.startswith("evaluation.")]
    for action in (
        "evaluation.report.drawn_up",
        "evaluation.report.signed",
        "evaluation.report.final",
        "evaluation.publicity.started",
        "evaluation.objection.filed",
        "evaluation.publicity.ended",
        "evaluation.objection.overdue",
        "evaluation.objection.answered",
        "evaluation.award.issued",
    ):
        found = [(s, d) for a, s, d in steps if a == action]
        assert found, action
        assert all(s == f"tender:{tid}/evaluation" and d["at"].endswith("Z") for s, d in found)
    answered_entry = next(d for a, _s, d in steps if a == "evaluation.objection.answered")
    assert answered_entry["overdue"] is True and answered_entry["resumed"] is True


def test_offline_verification_rejects_tampering(world, clock) -> None:
    tid, members, _bids = aggregated(world, clock)
    ev = f"/api/v1/tenders/{tid}/evaluation"
    sha = members[2].api.post(f"{ev}/report", json_body={}).json["report_sha256"]
    for seat in (1, 2):
        assert (
            members[seat]
            .api.post(f"{ev}/report/signatures", json_body={"report_sha256": sha, "password": PASSWORD})
            .status_code
            == 201
        )
    got = members[1].api.get(f"{ev}/report").json
    bundle = {k: got[k] for k in ("report", "report_sha256", "signatures")}
    public = load_public_key(world.anonymous.get("/api/v1/keys").json["keys"][0]["public_key"])
    summary = verify_signed_report(bundle, public)
    assert summary["signed_seats"] == [1, 2] and summary["final"] is False

    altered = copy.deepcopy(bundle)
    altered["report"]["ranking"].reverse()
    with pytest.raises(ReportVerificationError, match="SHA-256"):
        verify_signed_report(altered, public)
    forged = copy.deepcopy(bundle)
    forged["signatures"][0]["payload"]["seat"] = 3
    with pytest.raises(ReportVerificationError, match="does not verify"):
        verify_signed_report(forged, public)
    twice = copy.deepcopy(bundle)
    twice["signatures"].append(twice["signatures"][0])
    with pytest.raises(ReportVerificationError, match="repeated"):
        verify_signed_report(twice, public)
    from crypto.signing import generate_private_key

    with pytest.raises(ReportVerificationError, match="does not verify"):
        verify_signed_report(bundle, generate_private_key().public_key())


def test_hostile_input_gets_problem_json(world, clock) -> None:
    tid, members, _bids = aggregated(world, clock)
    ev = f"/api/v1/tenders/{tid}/evaluation"
    chair = members[2].api
    problem(chair.get(f"{ev}/report"), 404)  # not drawn up yet
    problem(chair.post(f"{ev}/report", json_body={"recommended": "many"}), 422)
    problem(chair.post(f"{ev}/report", json_body={"recommended": 10**12}), 422)
    problem(chair.post(f"/api/v1/tenders/{2**40}/evaluation/report", json_body={}), 404)
    sha = chair.post(f"{ev}/report", json_body={}).json["report_sha256"]
    sign = f"{ev}/report/signatures"
    problem(chair.post(sign, json_body={"report_sha256": sha, "password": "x" * 10_000}), 422)
    problem(chair.post(sign, json_body={"report_sha256": "ZZ" * 32, "password": PASSWORD}), 422)
    problem(chair.post(sign, json_body={"report_sha256": sha, "password": PASSWORD, "dissent": "a\x00b"}), 422)
    problem(chair.post(sign, json_body=["not", "an", "object"]), 422)
    problem(chair.post(sign, data=b"{", headers={"Content-Type": "application/json"}), 400)  # malformed-json
    for _ in range(4):  # five wrong credentials within 15 minutes lock signing for this member (429)
        problem(chair.post(sign, json_body={"report_sha256": sha, "password": "not my password"}), 403)
    problem(chair.post(sign, json_body={"report_sha256": sha, "totp": "123456"}), 403)
    problem(chair.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}), 429)
    assert members[1].api.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}).status_code == 201
    clock.advance(timedelta(minutes=16))
    assert chair.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}).status_code == 201
    problem(world.agency.api.post(f"{ev}/publicity", json_body={"days": -1}), 422)
    problem(world.bidders[0].api.post(f"{ev}/objections", json_body={"text": ""}), 422)
    problem(world.bidders[0].api.post(f"{ev}/objections", json_body={"text": "ok"}), 409)  # not in publicity
    problem(world.anonymous.post(f"{ev}/objections", json_body={"text": "ok"}), 401)
    problem(world.agency.api.post(f"{ev}/award"), 409)  # not published
    problem(world.agency.api.get(f"{ev}/award"), 404)


def test_verify_report_command_line_on_a_real_bundle_and_pdf(world, clock, tmp_path) -> None:
    """`python -m crypto verify-report` on the bundle and PDF served by the API, in a separate process."""
    import json
    import sys
    from pathlib import Path

    from app.evaluation.report.pdf import render_report_pdf

    tid, members, _bids = aggregated(world, clock)
    ev = f"/api/v1/tenders/{tid}/evaluation"
    sha = members[2].api.post(f"{ev}/report", json_body={}).json["report_sha256"]
    sign = f"{ev}/report/signatures"
    for seat in (1, 2, 3, 4):
        assert members[seat].api.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}).status_code == 201
    key = tmp_path / "platform.key"
    key.write_text(world.anonymous.get("/api/v1/keys").json["keys"][0]["public_key"])
    root = Path(__file__).resolve().parents[2]

    def verify(name: str, body: Any, *extra: str) -> tuple[int, str]:
        path = tmp_path / name
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "crypto", "verify-report", str(path), "--key", str(key), *extra],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.returncode, done.stdout

    rc, out = verify("incomplete.json", members[1].api.get(f"{ev}/report").json)
    assert rc == 3 and f"report SHA-256: {sha}" in out and "signed by 4 of 5" in out and "INCOMPLETE" in out, out
    dissent = {"report_sha256": sha, "password": PASSWORD, "dissent": "评分有误"}
    assert members[5].api.post(sign, json_body=dissent).status_code == 201
    final = members[1].api.get(f"{ev}/report").json
    pdf = members[1].api.get(f"{ev}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    (tmp_path / "report.pdf").write_bytes(pdf.data)
    text = "".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode().split()
    )
    # the times in the center's zone with the zone named, none as the signed document's UTC text
    assert text.count("(Asia/Shanghai,UTC+08:00)") >= 6 and not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text)
    rc, out = verify("final.json", final, "--pdf", str(tmp_path / "report.pdf"))
    assert rc == 0 and "signed by 5 of 5" in out and "dissent, seat 5: 评分有误" in out, out
    assert "PDF: the rendering of this report" in out and "OK the report is final" in out, out

    # a real rendering of another report is refused, and so is a PDF naming no report
    with world.app.app_context():
        other = render_report_pdf({**final, "report_sha256": "0" * 64})
    (tmp_path / "other.pdf").write_bytes(other)
    rc, out = verify("final.json", final, "--pdf", str(tmp_path / "other.pdf"))
    assert rc == 1 and "FAIL the PDF is the rendering of another report" in out, out
    (tmp_path / "plain.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    rc, out = verify("final.json", final, "--pdf", str(tmp_path / "plain.pdf"))
    assert rc == 1 and "does not name a report SHA-256" in out, out

    # tampering, a foreign key, the agency's name-redacted copy, unreadable input
    altered = copy.deepcopy(final)
    altered["report"]["ranking"].reverse()
    rc, out = verify("altered.json", altered)
    assert rc == 1 and "FAIL the report does not match its SHA-256" in out, out
    rc, out = verify("redacted.json", world.agency.api.get(f"{ev}/report").json)
    assert rc == 1 and "withholds the members' names" in out, out
    from crypto.signing import generate_private_key, public_key_b64

    key.write_text(public_key_b64(generate_private_key().public_key()))
    rc, out = verify("final.json", final)
    assert rc == 1 and "does not verify" in out, out
    rc, out = verify("missing.json", final, "--pdf", str(tmp_path / "nope.pdf"))
    assert rc == 2 and "cannot read the PDF" in out, out
