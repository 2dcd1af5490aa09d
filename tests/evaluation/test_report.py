"""Slice (d): the evaluation report and its signatures, publicity, objections, the award — through the API.

The room is a lowest-evaluated-price room (the review closes straight into the ranking): prices 1.3M, 1.1M,
1.2M; the review fails the 1.1M bid, so the ranking is 1.2M (rank 1), 1.3M (rank 2).
"""

from __future__ import annotations

import copy
import re
import subprocess
from dataclasses import dataclass, field
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


# ------------------------------------------------------------------ from the report to the award, one step a test
# The stages are fixtures, each built on the one before: the report drawn up by the chair (seat 2), signed by all
# five (seat 5 dissenting), published for publicity, objected to by bidder 1, the objection overdue, the award.


@dataclass
class Stage:
    world: Any
    clock: Any
    tid: int
    members: dict[int, Party]
    bids: list[int]
    doc: dict[str, Any] = field(default_factory=dict)  # the report as drawn up
    sha: str = ""
    objection: int = 0
    awarded: Any = None

    @property
    def ev(self) -> str:
        return f"/api/v1/tenders/{self.tid}/evaluation"

    def sign(self, seat: int, **extra: Any) -> Any:
        body = {"report_sha256": self.sha, "password": PASSWORD, **extra}
        return self.members[seat].api.post(f"{self.ev}/report/signatures", json_body=body)

    def steps(self) -> list[tuple[str, str | None, dict[str, Any]]]:
        return [(a, s, d) for a, _x, s, d in audit_actions(self.world.app) if a.startswith("evaluation.")]


DISSENT = "第三名投标人业绩认定有误"


@pytest.fixture
def finished(world: Any, clock: Any) -> Stage:
    tid, members, bids = aggregated(world, clock)
    return Stage(world, clock, tid, members, bids)


@pytest.fixture
def drawn_up(finished: Stage) -> Stage:
    drawn = finished.members[2].api.post(f"{finished.ev}/report", json_body={"recommended": 1})
    assert drawn.status_code == 201, drawn.json
    finished.doc, finished.sha = drawn.json["report"], drawn.json["report_sha256"]
    return finished


@pytest.fixture
def signed(drawn_up: Stage) -> Stage:
    for seat in (1, 2, 3, 4):
        assert drawn_up.sign(seat).status_code == 201
    assert drawn_up.sign(5, dissent=DISSENT).status_code == 201
    return drawn_up


@pytest.fixture
def publicised(signed: Stage) -> Stage:
    assert signed.world.agency.api.post(f"{signed.ev}/publicity", json_body={}).status_code == 200
    return signed


@pytest.fixture
def objected(publicised: Stage) -> Stage:
    publicised.clock.advance(timedelta(hours=1))
    filed = publicised.world.bidders[0].api.post(
        f"{publicised.ev}/objections", json_body={"text": "中标候选人业绩不符合招标文件要求"}
    )
    assert filed.status_code == 201, filed.json
    publicised.objection = filed.json["id"]
    return publicised


@pytest.fixture
def overdue(objected: Stage) -> Stage:
    """The publicity window ended with the objection open, and an hour later its answer became overdue."""
    objected.clock.advance(timedelta(days=3, seconds=1))
    assert run_sweep(objected.world.app) == {"publicity_ended": 1, "objections_overdue": 1}
    return objected


@pytest.fixture
def awarded(overdue: Stage) -> Stage:
    agency, ev = overdue.world.agency.api, overdue.ev
    answer = {"answer": "经复核，业绩证明材料齐全"}
    assert agency.post(f"{ev}/objections/{overdue.objection}/answer", json_body=answer).status_code == 200
    overdue.awarded = agency.post(f"{ev}/award")
    assert overdue.awarded.status_code == 201, overdue.awarded.json
    return overdue


def test_only_the_chair_draws_up_the_report_and_only_once(finished: Stage) -> None:
    ev, members, agency = finished.ev, finished.members, finished.world.agency.api
    problem(members[1].api.post(f"{ev}/report", json_body={}), 403)
    problem(agency.post(f"{ev}/report", json_body={}), 403)
    problem(members[2].api.post(f"{ev}/report", json_body={"recommended": 0}), 422)
    drawn = members[2].api.post(f"{ev}/report", json_body={"recommended": 1})
    assert drawn.status_code == 201, drawn.json
    problem(members[2].api.post(f"{ev}/report", json_body={}), 409)
    assert drawn.json["status"] == "signing" and drawn.json["waiting_seats"] == [1, 2, 3, 4, 5]
    assert [a for a, _s, _d in finished.steps()].count("evaluation.report.drawn_up") == 1


def test_the_report_holds_the_ranking_the_recommendation_and_every_verdict(drawn_up: Stage) -> None:
    doc, (bid_a, bid_b, bid_c) = drawn_up.doc, drawn_up.bids
    assert [(r["bid_id"], r["rank"]) for r in doc["ranking"]] == [(bid_c, 1), (bid_a, 2)]
    assert [c["bid_id"] for c in doc["recommended"]] == [bid_c]
    assert len(doc["committee"]["members"]) == 5 and all(m["name"] for m in doc["committee"]["members"])
    assert doc["reviews"][0]["result"]["failed"] == {str(bid_b): "资格审查: " + " / ".join(["无业绩"] * 5)}
    assert set(doc["reviews"][0]["result"]["votes"]) == {"1", "2", "3", "4", "5"}  # every member's verdicts
    problem(drawn_up.world.bidders[0].api.get(f"{drawn_up.ev}/report"), 403)  # not before publication


def test_signing_needs_the_hash_and_a_fresh_authentication_and_happens_once(drawn_up: Stage) -> None:
    sign, sha, member = f"{drawn_up.ev}/report/signatures", drawn_up.sha, drawn_up.members[1].api
    problem(member.post(sign, json_body={"report_sha256": sha, "password": "wrong password!"}), 403)
    problem(member.post(sign, json_body={"report_sha256": sha}), 422)
    problem(member.post(sign, json_body={"report_sha256": "0" * 64, "password": PASSWORD}), 422)
    problem(member.post(sign, json_body={"report_sha256": sha, "totp": "000000"}), 403)
    problem(drawn_up.world.bidders[0].api.post(sign, json_body={"report_sha256": sha, "password": PASSWORD}), 403)
    refused = [d for a, _actor, s, d in audit_actions(drawn_up.world.app) if a == "evaluation.report.sign_refused"]
    assert [d["via"] for d in refused] == ["password", "totp"]
    signed = drawn_up.sign(1)
    assert signed.status_code == 201, signed.json
    assert signed.json["payload"]["seat"] == 1 and signed.json["payload"]["report_sha256"] == sha
    problem(drawn_up.sign(1), 409)


def test_publicity_cannot_start_before_every_member_has_signed(drawn_up: Stage) -> None:
    assert drawn_up.sign(1).status_code == 201
    problem(drawn_up.world.agency.api.post(f"{drawn_up.ev}/publicity", json_body={}), 409)


def test_before_publication_the_agency_sees_seats_and_never_names(signed: Stage) -> None:
    world, ev = signed.world, signed.ev
    before = world.agency.api.get(f"{ev}/report").json
    assert before["names_redacted"] is True and before["report_sha256"] == signed.sha
    assert [m["name"] for m in before["report"]["committee"]["members"]] == [None] * 5
    assert all(n["name"] for n in world.auditor.api.get(f"{ev}/report").json["report"]["committee"]["members"])
    final = signed.members[3].api.get(f"{ev}/report").json
    assert final["names_redacted"] is False
    assert final["status"] == "final" and final["waiting_seats"] == [] and len(final["signatures"]) == 5


def test_the_signed_report_verifies_offline_with_the_public_key_alone(signed: Stage) -> None:
    world = signed.world
    final = signed.members[3].api.get(f"{signed.ev}/report").json
    public = load_public_key(world.anonymous.get("/api/v1/keys").json["keys"][0]["public_key"])
    summary = verify_signed_report({k: final[k] for k in ("report", "report_sha256", "signatures")}, public)
    assert summary["final"] and summary["signed_seats"] == [1, 2, 3, 4, 5]
    assert summary["dissents"] == {5: DISSENT}
    signed_entries = {d["seat"]: d for a, _x, s, d in audit_actions(world.app) if a == "evaluation.report.signed"}
    entries = [a for a, *_ in audit_actions(world.app)]
    for seat, index in summary["audit_indexes"].items():
        assert entries[index] == "evaluation.report.signed" and signed_entries[seat]["report_sha256"] == signed.sha


def test_publicity_makes_the_names_and_the_candidates_public(signed: Stage) -> None:
    world, ev, agency, tid = signed.world, signed.ev, signed.world.agency.api, signed.tid
    problem(signed.members[1].api.post(f"{ev}/publicity", json_body={}), 403)
    problem(agency.post(f"{ev}/publicity", json_body={"days": 1}), 422)  # shorter than the configured 3 days
    assert world.anonymous.get("/api/v1/evaluation/publicity").json == []
    published = agency.post(f"{ev}/publicity", json_body={})
    assert published.status_code == 200, published.json
    problem(agency.post(f"{ev}/publicity", json_body={}), 409)
    listed = world.anonymous.get("/api/v1/evaluation/publicity").json
    assert [(x["tender_id"], [c["bid_id"] for c in x["candidates"]]) for x in listed] == [(tid, [signed.bids[2]])]
    assert all(m["name"] for m in listed[0]["committee"]) and listed[0]["suspended"] is False
    committee = agency.get(f"/api/v1/tenders/{tid}/committee").json
    assert committee["names_published_at"] and all(s["name"] for s in committee["seats"])
    after = world.bidders[0].api.get(f"{ev}/report").json  # bidders read the report once published, with names
    assert after["names_redacted"] is False and after["report"] == signed.doc


def test_only_a_bidder_may_object(publicised: Stage) -> None:
    ev = publicised.ev
    problem(publicised.world.bidders[3].api.post(f"{ev}/objections", json_body={"text": "未投标"}), 403)  # no bid
    problem(publicised.members[1].api.post(f"{ev}/objections", json_body={"text": "x"}), 403)


def test_an_objection_suspends_the_process_and_only_its_author_sees_it(objected: Stage) -> None:
    world, ev, oid = objected.world, objected.ev, objected.objection
    mine = world.bidders[0].api.get(f"{ev}/objections").json
    assert [(o["id"], o["status"], o["overdue"]) for o in mine] == [(oid, "open", False)]
    assert world.anonymous.get("/api/v1/evaluation/publicity").json[0]["suspended"] is True
    assert world.bidders[2].api.get(f"{ev}/objections").json == []  # another bidder sees only its own
    assert [o["id"] for o in world.agency.api.get(f"{ev}/objections").json] == [oid]


def test_the_sweep_ends_publicity_then_marks_the_unanswered_objection_overdue(objected: Stage) -> None:
    world, ev, clock, agency = objected.world, objected.ev, objected.clock, objected.world.agency.api
    clock.advance(timedelta(days=3, seconds=1) - timedelta(hours=1))  # just past the end of publicity
    assert run_sweep(world.app) == {"publicity_ended": 1, "objections_overdue": 0}
    assert run_sweep(world.app) == {"publicity_ended": 0, "objections_overdue": 0}  # idempotent
    problem(world.bidders[2].api.post(f"{ev}/objections", json_body={"text": "逾期异议"}), 409)
    assert world.anonymous.get("/api/v1/evaluation/publicity").json == []
    problem(agency.post(f"{ev}/award"), 409)  # suspended
    clock.advance(timedelta(hours=1))
    assert run_sweep(world.app) == {"publicity_ended": 0, "objections_overdue": 1}
    assert run_sweep(world.app) == {"publicity_ended": 0, "objections_overdue": 0}
    assert agency.get(f"{ev}/objections").json[0]["overdue"] is True


def test_the_agency_answers_an_objection_once_and_the_process_resumes(overdue: Stage) -> None:
    world, ev, oid, agency = overdue.world, overdue.ev, overdue.objection, overdue.world.agency.api
    problem(world.other_agency.api.post(f"{ev}/objections/{oid}/answer", json_body={"answer": "x"}), 403)
    problem(agency.post(f"{ev}/objections/{2**40}/answer", json_body={"answer": "x"}), 404)
    answered = agency.post(f"{ev}/objections/{oid}/answer", json_body={"answer": "经复核，业绩证明材料齐全"})
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    problem(agency.post(f"{ev}/objections/{oid}/answer", json_body={"answer": "again"}), 409)
    problem(world.other_agency.api.post(f"{ev}/award"), 403)
    answered_entry = next(d for a, _s, d in overdue.steps() if a == "evaluation.objection.answered")
    assert answered_entry["overdue"] is True and answered_entry["resumed"] is True


def test_the_award_names_the_winner_and_gives_each_bidder_its_notice(awarded: Stage) -> None:
    from crypto.signing import verify_document

    world, ev, (bid_a, bid_b, bid_c) = awarded.world, awarded.ev, awarded.bids
    problem(world.agency.api.post(f"{ev}/award"), 409)
    payload = awarded.awarded.json["document"]["payload"]
    assert payload["winner"]["bid_id"] == bid_c and payload["report_sha256"] == awarded.sha
    notices = {n["bid_id"]: n["notice"] for n in payload["notices"]}
    assert notices == {bid_a: "result", bid_b: "result", bid_c: "award"}
    assert world.bidders[2].api.get(f"{ev}/award").json["your_notice"]["notice"] == "award"
    assert world.bidders[0].api.get(f"{ev}/award").json["your_notice"]["notice"] == "result"
    problem(world.bidders[3].api.get(f"{ev}/award"), 403)
    public = load_public_key(world.anonymous.get("/api/v1/keys").json["keys"][0]["public_key"])
    assert verify_document(awarded.awarded.json["document"], public)["winner"]["bid_id"] == bid_c


def test_every_step_is_in_the_evidence_log_under_the_evaluation_subject(awarded: Stage) -> None:
    steps = awarded.steps()
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
        assert all(s == f"tender:{awarded.tid}/evaluation" and d["at"].endswith("Z") for s, d in found)


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
