"""The promise, table-driven: every tendering route × every role × every phase of a tender.

One world holds a tender in each phase at the same instant — a draft, one open for bids, one whose deadline
has passed but whose opening has not come, one opened — each with sealed bids from two bidders. Every route
of the `tendering` and `tendering-api` blueprints (taken from the app's url_map, so that a new route without
a row fails) is called by every role with realistic arguments, and the outcome class is compared with the
explicit table EXPECTED below. Besides the table:

- every refusal of a signed-in caller (403) wrote an `access.denied` entry naming that caller;
- before the opening no answer to anybody but the bid's own organisation names a bidder, a sealed file's
  hash or an upload, and the public views of a tender are byte-identical before and after bids arrive
  (nothing counts them).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from app.tendering.models import new_public_id
from tests.accounts.helpers import PASSWORD, csrf, login, make_user
from tests.html import parse
from tests.tendering.helpers import Api, draft_body, envelope_plaintext, form, iso, make_org, seal

# Outcome classes: "." allowed (2xx), "R" refused (401/403, or a page's redirect to the sign-in form),
# "N" not found (404), "C" conflict (409: wrong state or past the deadline), "V" invalid (400/413/422),
# "F" a page's form answered with a redirect and an error message (the bid page's withdraw button).
ROLES = ("anonymous", "admin", "agency", "agency2", "bidder", "rival", "bystander", "expert", "auditor", "supervisor")
PHASES = ("draft", "open", "closed", "opened")
# `agency` drafted the tenders; `agency2` is another agency; `bidder` and `rival` have bids on every published
# tender (the target bid of the bid routes is `bidder`'s); `bystander` is a bidder without a bid.
LATE_WRITES = {
    "tendering-api.start_upload",
    "tendering-api.put_chunk",
    "tendering-api.complete_upload",
    "tendering-api.submit_bid",
    "tendering-api.withdraw_bid",
    "tendering.withdraw",
}
TOTP_ROLES = {"admin", "agency", "agency2", "auditor", "supervisor"}
BIDDING = ("bidder", "rival")

# The expected outcome of every route: "draft | open | closed | opened", and in each phase one letter per role,
# in the order of ROLES:   anonymous admin agency agency2 bidder rival bystander expert auditor supervisor.
TABLE: dict[tuple[str, str], str] = {
    # public reading: a draft only for its agency
    ("GET", "tendering-api.list_tenders"): ".......... | .......... | .......... | ..........",
    ("GET", "tendering-api.get_tender"): "NN.NNNNNNN | .......... | .......... | ..........",
    ("GET", "tendering-api.download_document"): "NN.NNNNNNN | .......... | .......... | ..........",
    ("GET", "tendering-api.list_versions"): "NN.NNNNNNN | .......... | .......... | ..........",
    ("GET", "tendering-api.list_questions"): "NN.NNNNNNN | .......... | .......... | ..........",
    ("GET", "tendering.tender_list"): ".......... | .......... | .......... | ..........",
    ("GET", "tendering.tender_detail"): "NN.NNNNNNN | .......... | .......... | ..........",
    # bids of others: before the opening nobody lists, reads or downloads them; after it the agency and overseers
    ("GET", "tendering-api.list_bids"): "RNRNNNNNNN | RRRRRRRRRR | RRRRRRRRRR | RR.RRRRR..",
    ("GET", "tendering-api.get_bid"): "RNRNNNNNNN | RRRR.RRRRR | RRRR.RRRRR | RR.R.RRR..",
    ("GET", "tendering-api.download_sealed"): "RNRNNNNNNN | RRRR.RRRRR | RRRR.RRRRR | RR.R.RRR..",
    ("GET", "tendering-api.list_opening_records"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    ("GET", "tendering-api.opening_record_pdf"): "RNNNNNNNNN | RRNRNNRRNN | RRNRNNRRNN | RR.R..RR..",
    ("GET", "tendering.opening_record"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    # the agency: only the drafting agency manages (another agency: not found for drafts, refused otherwise)
    ("GET", "tendering-api.my_tenders"): "RR..RRRRRR | RR..RRRRRR | RR..RRRRRR | RR..RRRRRR",
    ("GET", "tendering-api.list_all_questions"): "RR.NRRRRRR | RR.RRRRRRR | RR.RRRRRRR | RR.RRRRRRR",
    ("POST", "tendering-api.create_tender"): "RR..RRRRRR | RR..RRRRRR | RR..RRRRRR | RR..RRRRRR",
    ("PATCH", "tendering-api.update_tender"): "RR.NRRRRRR | RRCRRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("POST", "tendering-api.add_document"): "RR.NRRRRRR | RR.RRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("POST", "tendering-api.clarify_tender"): "RRCNRRRRRR | RR.RRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("POST", "tendering-api.answer_question"): "RRNNRRRRRR | RR.RRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("POST", "tendering-api.advance_stage"): "RRCNRRRRRR | RRCRRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("POST", "tendering-api.publish_tender"): "RR.RRRRRRR | RRCRRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("POST", "tendering-api.cancel_tender"): "RR.RRRRRRR | RR.RRRRRRR | RR.RRRRRRR | RRCRRRRRRR",
    # custody: these tenders are in timed custody, so nobody is a custodian
    ("POST", "tendering-api.download_share"): "RNRNNNNNNN | RRRRRRRRRR | RRRRRRRRRR | RRRRRRRRRR",
    ("POST", "tendering-api.submit_share"): "RNRNNNNNNN | RRRRRRRRRR | RRRRRRRRRR | RRRRRRRRRR",
    # bidders: uploads, bids and questions until the deadline; the bidder's own bid only
    ("GET", "tendering-api.list_notifications"): "R......... | R......... | R......... | R.........",
    ("POST", "tendering-api.register_interest"): "RRRRNNNRRR | RRRR...RRR | RRRRCCCRRR | RRRRCCCRRR",
    ("POST", "tendering-api.ask_question"): "RRRRNNNRRR | RRRR...RRR | RRRRCCCRRR | RRRRCCCRRR",
    ("POST", "tendering-api.start_upload"): "RRRRNNNRRR | RRRR...RRR | RRRRCCCRRR | RRRRCCCRRR",
    ("GET", "tendering-api.get_upload"): "RRRRNNNRRR | RRRR.RRRRR | RRRR.RRRRR | RRRR.RRRRR",
    ("PUT", "tendering-api.put_chunk"): "RRRRNNNRRR | RRRR.RRRRR | RRRRCRRRRR | RRRRCRRRRR",
    ("POST", "tendering-api.complete_upload"): "RRRRNNNRRR | RRRR.RRRRR | RRRRCRRRRR | RRRRCRRRRR",
    ("POST", "tendering-api.submit_bid"): "RRRRNNNRRR | RRRR.RRRRR | RRRRCCCRRR | RRRRCCCRRR",
    ("GET", "tendering-api.own_bid"): "RRRRNNNRRR | RRRR..NRRR | RRRR..NRRR | RRRR..NRRR",
    ("POST", "tendering-api.reveal_file_key"): "RRRRNNNRRR | RRRRCCCRRR | RRRRCCCRRR | RRRRCCCRRR",
    ("DELETE", "tendering-api.withdraw_bid"): "RRRRNNNRRR | RRRR..NRRR | RRRRCCCRRR | RRRRCCCRRR",
    ("GET", "tendering.my_bids"): "RRRR...RRR | RRRR...RRR | RRRR...RRR | RRRR...RRR",
    ("GET", "tendering-api.my_bids"): "RRRR...RRR | RRRR...RRR | RRRR...RRR | RRRR...RRR",
    ("GET", "tendering.bid_page"): "RRRRNNNRRR | RRRR...RRR | RRRR...RRR | RRRR...RRR",
    ("GET", "tendering.receipt_json"): "RRRRNNNRRR | RRRR..NRRR | RRRR..NRRR | RRRR..NRRR",
    ("GET", "tendering.receipt_page"): "RRRRNNNRRR | RRRR..NRRR | RRRR..NRRR | RRRR..NRRR",
    ("GET", "tendering.receipt_pdf"): "RRRRNNNRRR | RRRR..NRRR | RRRR..NRRR | RRRR..NRRR",
    # the public verification of a receipt: anybody, nothing stored (the anonymous caller here has no CSRF token)
    ("GET", "tendering.verify_receipt"): ".......... | .......... | .......... | ..........",
    ("POST", "tendering.verify_receipt_post"): "V......... | V......... | V......... | V.........",
    ("POST", "tendering.withdraw"): "RRRRNNNRRR | RRRR..FRRR | RRRRFFFRRR | RRRRFFFRRR",
    # the agency's pages (app/tendering/agency/)
    ("GET", "tendering.agency_tenders"): "RR..RRRRRR | RR..RRRRRR | RR..RRRRRR | RR..RRRRRR",
    ("GET", "tendering.agency_tender_new"): "RR..RRRRRR | RR..RRRRRR | RR..RRRRRR | RR..RRRRRR",
    ("POST", "tendering.agency_tender_new"): "RR..RRRRRR | RR..RRRRRR | RR..RRRRRR | RR..RRRRRR",
    ("GET", "tendering.agency_tender"): "RR.NRRRRRR | RR.RRRRRRR | RR.RRRRRRR | RR.RRRRRRR",
    ("GET", "tendering.agency_tender_edit"): "RR.NRRRRRR | RRFRRRRRRR | RRFRRRRRRR | RRFRRRRRRR",
    ("POST", "tendering.agency_tender_edit"): "RR.NRRRRRR | RRFRRRRRRR | RRFRRRRRRR | RRFRRRRRRR",
    ("POST", "tendering.agency_document_upload"): "RR.NRRRRRR | RR.RRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("GET", "tendering.agency_tender_publish"): "RR.NRRRRRR | RRFRRRRRRR | RRFRRRRRRR | RRFRRRRRRR",
    ("POST", "tendering.agency_tender_publish"): "RR.RRRRRRR | RRFRRRRRRR | RRFRRRRRRR | RRFRRRRRRR",
    ("GET", "tendering.agency_tender_clarify"): "RRFNRRRRRR | RR.RRRRRRR | RRFRRRRRRR | RRFRRRRRRR",
    ("POST", "tendering.agency_tender_clarify"): "RRCNRRRRRR | RR.RRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("POST", "tendering.agency_question_answer"): "RRNNRRRRRR | RR.RRRRRRR | RRCRRRRRRR | RRCRRRRRRR",
    ("GET", "tendering.agency_tender_cancel"): "RR.NRRRRRR | RR.RRRRRRR | RR.RRRRRRR | RR.RRRRRRR",
    ("POST", "tendering.agency_tender_cancel"): "RR.RRRRRRR | RR.RRRRRRR | RR.RRRRRRR | RRCRRRRRRR",
    # custodians' pages
    ("GET", "tendering.custody_duties"): "R......... | R......... | R......... | R.........",
    ("GET", "tendering-api.my_custody_shares"): "R......... | R......... | R......... | R.........",
    ("GET", "tendering.custody_share_page"): "RNRNNNNNNN | RRRRRRRRRR | RRRRRRRRRR | RRRRRRRRRR",
    ("POST", "tendering.custody_share_download"): "RNRNNNNNNN | RRRRRRRRRR | RRRRRRRRRR | RRRRRRRRRR",
    ("POST", "tendering.custody_share_bring"): "RNRNNNNNNN | RRRRRRRRRR | RRRRRRRRRR | RRRRRRRRRR",
    # the remote opening (不见面开标): the tender's bidders and its overseers watch (the drafting agency sees its
    # draft's page, still empty); nothing is filmed in this world, so the video is not found for them; objections
    # are taken from the opening on (409 before), the record is answered once published (404 before), each bidder
    # once
    ("GET", "tendering.opening_live"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    ("GET", "tendering.opening_live_panel"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    ("GET", "tendering.opening_live_json"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    ("GET", "tendering.opening_live_stream"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    ("GET", "tendering.opening_live_playlist"): "RNNNNNNNNN | RRNRNNRRNN | RRNRNNRRNN | RRNRNNRRNN",
    ("GET", "tendering.opening_live_media"): "RNNNNNNNNN | RRNRNNRRNN | RRNRNNRRNN | RRNRNNRRNN",
    ("GET", "tendering.opening_answers_json"): "RNNNNNNNNN | RRNRNNRRNN | RRNRNNRRNN | RR.R..RR..",
    ("POST", "tendering.opening_raise"): "RNRNNNNNNN | RRRRCCRRRR | RRRRCCRRRR | RRRR..RRRR",
    ("POST", "tendering.opening_answer"): "RNNNNNNNNN | RRNRRRRRRR | RRNRRRRRRR | RR.RRRRRRR",
    ("POST", "tendering.opening_answer_record"): "RNRNNNNNNN | RRRRNNRRRR | RRRRNNRRRR | RRRR..RRRR",
    ("GET", "tendering-api.remote_opening_state"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    ("GET", "tendering-api.list_remote_opening_messages"): "RN.NNNNNNN | RR.R..RR.. | RR.R..RR.. | RR.R..RR..",
    ("POST", "tendering-api.raise_remote_opening_message"): "RNRNNNNNNN | RRRRCCRRRR | RRRRCCRRRR | RRRR..RRRR",
    ("POST", "tendering-api.answer_remote_opening_message"): "RRNNRRRRRR | RRNRRRRRRR | RRNRRRRRRR | RR.RRRRRRR",
    ("GET", "tendering-api.list_opening_record_answers"): "RNNNNNNNNN | RRNRNNRRNN | RRNRNNRRNN | RR.R..RR..",
    ("POST", "tendering-api.answer_opening_record"): "RNRNNNNNNN | RRRRNNRRRR | RRRRNNRRRR | RRRR..RRRR",
}
EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    key: dict(zip(PHASES, (cells.replace(" ", "") for cells in row.split("|")), strict=True))
    for key, row in TABLE.items()
}


@dataclass
class Role:
    name: str
    user_id: int | None = None
    org_id: int | None = None
    api: Api | None = None
    page: Any = None  # a test client with a signed-in session
    csrf_token: str = ""


@dataclass
class Phase:
    name: str
    tender: int
    document: int
    question: int
    question2: int  # answered through the agency's page
    bid: str  # the target bid (its public id): `bidder`'s on this tender
    upload: str  # an open upload of `bidder`'s on this tender, for the upload routes
    upload_data: bytes
    publish_target: int
    page_publish_target: int
    cancel_target: int
    page_cancel_target: int
    withdraw_target: int
    page_withdraw_target: int
    # the remote opening: objections raised on the `opened` tender (one answered in the page, one through the API),
    # and the record hashes of the tender and of the twin whose record the API's row answers
    message: int = 0
    message2: int = 0
    record_sha256: str = "0" * 64
    answer_target: int = 0
    answer_target_sha256: str = "0" * 64


@dataclass
class AccessWorld:
    app: Flask
    roles: dict[str, Role]
    buyer_id: int
    phases: dict[str, Phase] = field(default_factory=dict)
    secrets: dict[str, set[str]] = field(default_factory=dict)  # bidding role -> strings only it may see
    # What everybody but the two bidders saw of the open tender before its bids arrived, and after.
    views_before_bids: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    views_after_bids: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    watched: int = 0  # that tender
    log_during_bids: tuple[int, int] = (0, 0)  # the evidence log's last index before and after its bids


def _role(app: Flask, name: str, username: str, role: str, org: int | None) -> Role:
    from app.accounts import services_tokens
    from app.accounts.models import User
    from app.extensions import db

    user_id, secret = make_user(app, username, [role], totp=name in TOTP_ROLES, organisation_id=org)
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        _row, token = services_tokens.create_token(user=user, name="tests", scopes=["*"], expires_in_days=30)
        db.session.commit()
    page = app.test_client()
    resp = login(page, username, totp_secret=secret)  # a TOTP sign-in moves the fake clock 30 s
    assert resp.status_code == 303 and "/login" not in resp.headers["Location"], resp.data[:300]
    return Role(name, user_id, org, Api(app.test_client(use_cookies=False), token), page, csrf(page))


def _draft(w: AccessWorld, deadline_in: timedelta, opening_in: timedelta) -> tuple[int, int]:
    from app.core.time import now_utc

    now = now_utc()
    body = draft_body(
        _compat(w),
        submission_deadline_at=iso(now + deadline_in),
        opening_at=iso(now + opening_in),
        min_bids=2,
    )
    api = w.roles["agency"].api
    assert api is not None
    resp = api.post("/api/v1/tenders", body)
    assert resp.status_code == 201, resp.json
    tid = resp.json["id"]
    resp = api.post(
        f"/api/v1/tenders/{tid}/documents?name=招标文件.pdf&content_type=application/pdf",
        data=b"%PDF-1.4 tender documents",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 201, resp.json
    return tid, resp.json["id"]


def _compat(w: AccessWorld) -> Any:
    """draft_body() reads only `buyer_id` from its world."""
    return SimpleNamespace(buyer_id=w.buyer_id)


def _publish(w: AccessWorld, tid: int) -> str:
    resp = w.roles["agency"].api.post(f"/api/v1/tenders/{tid}/publish")  # type: ignore[union-attr]
    assert resp.status_code == 200, resp.json
    return str(resp.json["recipient"])


def _start(api: Api, tid: int, size: int) -> str:
    resp = api.post(f"/api/v1/tenders/{tid}/uploads", {"envelope": "bid", "size": size})
    assert resp.status_code == 201, resp.json
    return str(resp.json["id"])


def _put_all(api: Api, upload_id: str, data: bytes) -> Any:
    headers = {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}", "Content-Type": "application/octet-stream"}
    return api.put(f"/api/v1/uploads/{upload_id}", data, headers)


def _bid(w: AccessWorld, role: str, tid: int, recipient: str, price: int) -> str:
    api = w.roles[role].api
    assert api is not None
    data = seal(envelope_plaintext(form(price), {"方案.txt": f"{role}-{tid}".encode()}), recipient)
    upload_id = _start(api, tid, len(data))
    assert _put_all(api, upload_id, data).status_code == 200
    assert api.post(f"/api/v1/uploads/{upload_id}/complete").status_code == 200
    resp = api.post(f"/api/v1/tenders/{tid}/bid", {"uploads": {"bid": upload_id}})
    assert resp.status_code == 201, resp.json
    receipt = resp.json["receipt"]["payload"]
    w.secrets[role].update({upload_id, receipt["envelopes"][0]["sha256"]})
    return str(receipt["bid"]["id"])


def _published_with_bids(
    w: AccessWorld, deadline_in: timedelta, opening_in: timedelta, *, watch: bool = False
) -> tuple[int, int, str, str]:
    """A published tender with bids from `bidder` and `rival`: (tender, document, bidder's bid, recipient).

    With `watch`, every GET route is called by every other role before and after the bids arrive.
    """
    tid, doc = _draft(w, deadline_in, opening_in)
    recipient = _publish(w, tid)
    if watch:
        w.views_before_bids = _views(w, tid, doc)
        w.watched, before = tid, _audit_size(w.app)
    bid = _bid(w, "bidder", tid, recipient, 1_000_000)
    _bid(w, "rival", tid, recipient, 990_000)
    if watch:
        w.log_during_bids = (before, _audit_size(w.app))
        w.views_after_bids = _views(w, tid, doc)
    return tid, doc, bid, recipient


PROBE_BID = new_public_id()
_CSRF = re.compile(r'(name="csrf[-_]token"[^>]*?(?:content|value)=")[^"]+')


def _views(w: AccessWorld, tid: int, doc: int) -> dict[tuple[str, str], tuple[int, str]]:
    """(endpoint, role) -> (status, body without CSRF tokens) of every GET route for the non-bidding roles."""
    probe = Phase(
        name="open",
        tender=tid,
        document=doc,
        question=0,
        question2=0,
        bid=PROBE_BID,  # whether or not a bid has this id, the answer must not change
        upload="0" * 32,
        upload_data=b"",
        publish_target=tid,
        page_publish_target=tid,
        cancel_target=tid,
        page_cancel_target=tid,
        withdraw_target=tid,
        page_withdraw_target=tid,
    )
    out = {}
    for (method, endpoint), builder in BUILDERS.items():
        if method != "GET":
            continue
        for name in ROLES:
            if name in BIDDING:
                continue
            resp = _send(w, w.roles[name], method, endpoint, builder(probe))
            body = _CSRF.sub(r"\1…", resp.get_data().decode("utf-8", "replace"))
            resp.close()
            out[(endpoint, name)] = (resp.status_code, body)
    return out


def build_access_world(app: Flask, clock: Any) -> AccessWorld:
    buyer = make_org(app, "邯郸市第一中学", "buyer", 1)
    orgs = {
        "agency": make_org(app, "邯郸招标代理有限公司", "agency", 2),
        "agency2": make_org(app, "另一家代理公司", "agency", 3),
        "bidder": make_org(app, "投标人甲建设有限公司", "bidder", 10),
        "rival": make_org(app, "投标人乙建设有限公司", "bidder", 11),
        "bystander": make_org(app, "投标人丙建设有限公司", "bidder", 12),
    }
    seeded = {"agency": "agency", "agency2": "agency", "bidder": "bidder", "rival": "bidder", "bystander": "bidder"}
    roles = {"anonymous": Role("anonymous", api=Api(app.test_client(use_cookies=False), None), page=app.test_client())}
    for name in ROLES[1:]:
        roles[name] = _role(app, name, f"u-{name}", seeded.get(name, name), orgs.get(name))
    w = AccessWorld(app=app, roles=roles, buyer_id=buyer, secrets={r: set() for r in BIDDING})
    from app.accounts.models import Organisation
    from app.extensions import db

    with app.app_context():
        for r in BIDDING:
            org = db.session.get(Organisation, orgs[r])
            assert org is not None and org.uscc
            w.secrets[r].update({org.name, org.uscc})

    bidder_api = roles["bidder"].api
    asker = roles["bystander"].api
    assert bidder_api is not None and asker is not None
    # Times: `opened` opens in 10 minutes, `closed` has its deadline then but opens in 5 hours, `open` stays
    # open for 4 hours. The clock then moves 15 minutes and the sweep opens what is due.
    ten, four_h, five_h = timedelta(minutes=10), timedelta(hours=4), timedelta(hours=5)
    plans = {"open": (four_h, four_h), "closed": (ten, five_h), "opened": (ten, ten)}
    for name, (deadline_in, opening_in) in plans.items():
        tid, doc, bid, recipient = _published_with_bids(w, deadline_in, opening_in, watch=name == "open")
        question = asker.post(f"/api/v1/tenders/{tid}/questions", {"text": "工期可以延长吗？"}).json["id"]
        question2 = asker.post(f"/api/v1/tenders/{tid}/questions", {"text": "是否需要现场踏勘？"}).json["id"]
        data = seal(envelope_plaintext(form(950_000)), recipient)
        upload_id = _start(bidder_api, tid, len(data))
        w.secrets["bidder"].add(upload_id)
        # Routes that change a tender for good each get a twin of the phase's tender.
        scratch = [_published_with_bids(w, deadline_in, opening_in)[0] for _ in range(4)]
        w.phases[name] = Phase(
            name=name,
            tender=tid,
            document=doc,
            question=question,
            question2=question2,
            bid=bid,
            upload=upload_id,
            upload_data=data,
            publish_target=tid,
            page_publish_target=tid,
            cancel_target=scratch[0],
            page_cancel_target=scratch[1],
            withdraw_target=scratch[2],
            page_withdraw_target=scratch[3],
        )
    draft, draft_doc = _draft(w, four_h, four_h)
    drafts = [_draft(w, four_h, four_h)[0] for _ in range(4)]
    w.phases["draft"] = Phase(
        name="draft",
        tender=draft,
        document=draft_doc,
        question=w.phases["open"].question,  # a question of another tender: a draft has none
        question2=w.phases["open"].question2,
        bid=w.phases["open"].bid,  # a bid of another tender: a draft has none
        upload=uuid.uuid4().hex,  # nothing can be uploaded to a draft
        upload_data=w.phases["open"].upload_data,
        publish_target=drafts[0],
        page_publish_target=drafts[1],
        cancel_target=drafts[2],
        page_cancel_target=drafts[3],
        withdraw_target=draft,
        page_withdraw_target=draft,
    )
    clock.advance(timedelta(minutes=15))
    from tests.tendering.test_opening import run_sweep

    assert run_sweep(app)["started"] == 5  # the `opened` tender and its four twins
    _remote_opening(w)
    anon = roles["anonymous"].api
    assert anon is not None
    states = {p: anon.get(f"/api/v1/tenders/{w.phases[p].tender}").json for p in plans}
    assert states["open"]["open_for_bids"] and states["open"]["status"] == "published"
    assert not states["closed"]["open_for_bids"] and states["closed"]["status"] == "published"
    assert states["opened"]["status"] == "opened"
    return w


def _remote_opening(w: AccessWorld) -> None:
    """The remote opening's rows: two objections on the opened tender (to answer in the page and through the API),
    the record hashes to confirm. The twin answered through the API is `withdraw_target`: after the deadline the
    withdrawals are refused, so it stays opened with both bids. Every phase answers the same message ids (a
    message of another tender, for the tenders not opened). The live stream ends at once in this world."""
    w.app.config.update(TENDER_LIVE_STREAM_SECONDS=0, TENDER_LIVE_STREAM_POLL_SECONDS=0)
    opened = w.phases["opened"]
    bidder = w.roles["bidder"].api
    assert bidder is not None
    messages = []
    for text in ("第一份投标文件的解密时间未宣读。", "请核对第二份投标的报价。"):
        resp = bidder.post(f"/api/v1/tenders/{opened.tender}/opening/messages", {"kind": "objection", "text": text})
        assert resp.status_code == 201, resp.json
        messages.append(int(resp.json["id"]))

    def digest(tid: int) -> str:
        state = bidder.get(f"/api/v1/tenders/{tid}/opening/live").json  # type: ignore[union-attr]
        return str(state["records"][0]["record_sha256"])

    opened.record_sha256, opened.answer_target = digest(opened.tender), opened.withdraw_target
    opened.answer_target_sha256 = digest(opened.answer_target)
    for phase in w.phases.values():
        phase.message, phase.message2 = messages
        if phase.name != "opened":
            phase.answer_target = phase.tender


# --- requests ----------------------------------------------------------------------------------------


@dataclass
class Call:
    path: str
    json: Any = None
    data: bytes | None = None
    headers: dict[str, str] | None = None
    form: dict[str, str] | str | None = None  # a page form post (CSRF token added); "terms": the tender form


Builder = Callable[[Phase], Call]

BUILDERS: dict[tuple[str, str], Builder] = {
    # public reading
    ("GET", "tendering-api.list_tenders"): lambda p: Call("/api/v1/tenders?per_page=5"),
    ("GET", "tendering-api.get_tender"): lambda p: Call(f"/api/v1/tenders/{p.tender}"),
    ("GET", "tendering-api.download_document"): lambda p: Call(f"/api/v1/tenders/{p.tender}/documents/{p.document}"),
    ("GET", "tendering-api.list_versions"): lambda p: Call(f"/api/v1/tenders/{p.tender}/versions"),
    ("GET", "tendering-api.list_questions"): lambda p: Call(f"/api/v1/tenders/{p.tender}/questions"),
    ("GET", "tendering.tender_list"): lambda p: Call("/tenders"),
    ("GET", "tendering.tender_detail"): lambda p: Call(f"/tenders/{p.tender}"),
    # bids of others, the opening record
    ("GET", "tendering-api.list_bids"): lambda p: Call(f"/api/v1/tenders/{p.tender}/bids"),
    ("GET", "tendering-api.get_bid"): lambda p: Call(f"/api/v1/tenders/{p.tender}/bids/{p.bid}"),
    ("GET", "tendering-api.download_sealed"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/bids/{p.bid}/envelopes/bid/sealed"
    ),
    ("GET", "tendering-api.list_opening_records"): lambda p: Call(f"/api/v1/tenders/{p.tender}/opening-records"),
    ("GET", "tendering-api.opening_record_pdf"): lambda p: Call(f"/api/v1/tenders/{p.tender}/opening-records/1.pdf"),
    ("GET", "tendering.opening_record"): lambda p: Call(f"/tenders/{p.tender}/opening"),
    # the agency
    ("GET", "tendering-api.my_tenders"): lambda p: Call("/api/v1/tenders/mine"),
    ("GET", "tendering-api.list_all_questions"): lambda p: Call(f"/api/v1/tenders/{p.tender}/questions/all"),
    ("POST", "tendering-api.create_tender"): lambda p: Call("/api/v1/tenders", json="draft"),
    ("PATCH", "tendering-api.update_tender"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}", json={"title": "邯郸市第一中学教学楼改造工程"}
    ),
    ("POST", "tendering-api.add_document"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/documents?name=补充文件.pdf&content_type=application/pdf",
        data=b"%PDF-1.4 amendment",
        headers={"Content-Type": "application/octet-stream"},
    ),
    ("POST", "tendering-api.clarify_tender"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/clarifications", json={"text": "第三章工期说明更正。"}
    ),
    ("POST", "tendering-api.answer_question"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/questions/{p.question}/answer", json={"answer": "不可以。"}
    ),
    ("POST", "tendering-api.advance_stage"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/stages/advance", json={"eliminated": [], "reason": ""}
    ),
    ("POST", "tendering-api.publish_tender"): lambda p: Call(f"/api/v1/tenders/{p.publish_target}/publish"),
    ("POST", "tendering-api.cancel_tender"): lambda p: Call(
        f"/api/v1/tenders/{p.cancel_target}/cancel", json={"reason": "预算调整"}
    ),
    # custody
    ("POST", "tendering-api.download_share"): lambda p: Call(f"/api/v1/tenders/{p.tender}/custody/share"),
    ("POST", "tendering-api.submit_share"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/custody/shares", json={"share": "custody-share-1-" + "A" * 60}
    ),
    # bidders
    ("GET", "tendering-api.list_notifications"): lambda p: Call("/api/v1/notifications"),
    ("POST", "tendering-api.register_interest"): lambda p: Call(f"/api/v1/tenders/{p.tender}/interest"),
    ("POST", "tendering-api.ask_question"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/questions", json={"text": "是否接受联合体投标？"}
    ),
    ("POST", "tendering-api.start_upload"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/uploads", json={"envelope": "bid", "size": len(p.upload_data)}
    ),
    ("GET", "tendering-api.get_upload"): lambda p: Call(f"/api/v1/uploads/{p.upload}"),
    ("PUT", "tendering-api.put_chunk"): lambda p: Call(
        f"/api/v1/uploads/{p.upload}",
        data=p.upload_data,
        headers={
            "Content-Range": f"bytes 0-{len(p.upload_data) - 1}/{len(p.upload_data)}",
            "Content-Type": "application/octet-stream",
        },
    ),
    ("POST", "tendering-api.complete_upload"): lambda p: Call(f"/api/v1/uploads/{p.upload}/complete"),
    ("POST", "tendering-api.submit_bid"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/bid", json={"uploads": {"bid": p.upload}}
    ),
    ("GET", "tendering-api.own_bid"): lambda p: Call(f"/api/v1/tenders/{p.tender}/bid"),
    ("POST", "tendering-api.reveal_file_key"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/bid/file-keys", json={"envelope": "bid", "file_key": "00" * 16}
    ),
    ("DELETE", "tendering-api.withdraw_bid"): lambda p: Call(f"/api/v1/tenders/{p.withdraw_target}/bid"),
    ("GET", "tendering.my_bids"): lambda p: Call("/bids"),
    ("GET", "tendering-api.my_bids"): lambda p: Call("/api/v1/my/bids"),
    ("GET", "tendering.bid_page"): lambda p: Call(f"/tenders/{p.tender}/bid"),
    ("GET", "tendering.receipt_json"): lambda p: Call(f"/tenders/{p.tender}/bid/receipts/1.json"),
    ("GET", "tendering.receipt_page"): lambda p: Call(f"/tenders/{p.tender}/bid/receipts/1"),
    ("GET", "tendering.receipt_pdf"): lambda p: Call(f"/tenders/{p.tender}/bid/receipts/1.pdf"),
    ("GET", "tendering.verify_receipt"): lambda p: Call("/receipts/verify"),
    ("POST", "tendering.verify_receipt_post"): lambda p: Call("/receipts/verify", form={"receipt_text": "{}"}),
    ("POST", "tendering.withdraw"): lambda p: Call(f"/tenders/{p.page_withdraw_target}/bid/withdraw", form={}),
    # the agency's pages (app/tendering/agency/)
    ("GET", "tendering.agency_tenders"): lambda p: Call("/agency/tenders"),
    ("GET", "tendering.agency_tender_new"): lambda p: Call("/agency/tenders/new"),
    ("POST", "tendering.agency_tender_new"): lambda p: Call("/agency/tenders/new", form="terms"),
    ("GET", "tendering.agency_tender"): lambda p: Call(f"/agency/tenders/{p.tender}"),
    ("GET", "tendering.agency_tender_edit"): lambda p: Call(f"/agency/tenders/{p.tender}/edit"),
    ("POST", "tendering.agency_tender_edit"): lambda p: Call(f"/agency/tenders/{p.tender}/edit", form="terms"),
    ("POST", "tendering.agency_document_upload"): lambda p: Call(
        f"/agency/tenders/{p.tender}/documents", form={"text": "补充说明", "document": "file"}
    ),
    ("GET", "tendering.agency_tender_publish"): lambda p: Call(f"/agency/tenders/{p.page_publish_target}/publish"),
    ("POST", "tendering.agency_tender_publish"): lambda p: Call(
        f"/agency/tenders/{p.page_publish_target}/publish", form={}
    ),
    ("GET", "tendering.agency_tender_clarify"): lambda p: Call(f"/agency/tenders/{p.tender}/clarify"),
    ("POST", "tendering.agency_tender_clarify"): lambda p: Call(
        f"/agency/tenders/{p.tender}/clarify", form={"text": "第四章技术要求更正。"}
    ),
    ("POST", "tendering.agency_question_answer"): lambda p: Call(
        f"/agency/tenders/{p.tender}/questions/{p.question2}/answer", form={"answer": "需要，时间另行通知。"}
    ),
    ("GET", "tendering.agency_tender_cancel"): lambda p: Call(f"/agency/tenders/{p.page_cancel_target}/cancel"),
    ("POST", "tendering.agency_tender_cancel"): lambda p: Call(
        f"/agency/tenders/{p.page_cancel_target}/cancel", form={"reason": "项目取消"}
    ),
    # custodians' pages: these tenders are in timed custody, so nobody holds a share
    ("GET", "tendering.custody_duties"): lambda p: Call("/custody"),
    ("GET", "tendering-api.my_custody_shares"): lambda p: Call("/api/v1/my/custody-shares"),
    ("GET", "tendering.custody_share_page"): lambda p: Call(f"/tenders/{p.tender}/custody"),
    ("POST", "tendering.custody_share_download"): lambda p: Call(
        f"/tenders/{p.tender}/custody/share", form={"kind": "text"}
    ),
    ("POST", "tendering.custody_share_bring"): lambda p: Call(
        f"/tenders/{p.tender}/custody/bring", form={"share": "custody-share-1-" + "A" * 60}
    ),
    # the remote opening (不见面开标): its page, panels, state, stream and video, and the same actions in the API
    ("GET", "tendering.opening_live"): lambda p: Call(f"/tenders/{p.tender}/opening/live"),
    ("GET", "tendering.opening_live_panel"): lambda p: Call(f"/tenders/{p.tender}/opening/live/panel"),
    ("GET", "tendering.opening_live_json"): lambda p: Call(f"/tenders/{p.tender}/opening/live.json"),
    ("GET", "tendering.opening_live_stream"): lambda p: Call(f"/tenders/{p.tender}/opening/live/stream"),
    ("GET", "tendering.opening_live_playlist"): lambda p: Call(f"/tenders/{p.tender}/opening/live/playlist.m3u8"),
    ("GET", "tendering.opening_live_media"): lambda p: Call(f"/tenders/{p.tender}/opening/live/media/seg-000001.m4s"),
    ("GET", "tendering.opening_answers_json"): lambda p: Call(f"/tenders/{p.tender}/opening/answers/1.json"),
    ("POST", "tendering.opening_raise"): lambda p: Call(
        f"/tenders/{p.tender}/opening/messages", form={"kind": "question", "text": "现场声音听不清。"}
    ),
    ("POST", "tendering.opening_answer"): lambda p: Call(
        f"/tenders/{p.tender}/opening/messages/{p.message}/answer", form={"answer": "已当场重新宣读。"}
    ),
    ("POST", "tendering.opening_answer_record"): lambda p: Call(
        f"/tenders/{p.tender}/opening/answers",
        form={"stage": "1", "verdict": "confirmed", "record_sha256": p.record_sha256, "password": PASSWORD},
    ),
    ("GET", "tendering-api.remote_opening_state"): lambda p: Call(f"/api/v1/tenders/{p.tender}/opening/live"),
    ("GET", "tendering-api.list_remote_opening_messages"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/opening/messages"
    ),
    ("POST", "tendering-api.raise_remote_opening_message"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/opening/messages", json={"kind": "question", "text": "现场声音听不清。"}
    ),
    ("POST", "tendering-api.answer_remote_opening_message"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/opening/messages/{p.message2}/answer", json={"answer": "已当场重新宣读。"}
    ),
    ("GET", "tendering-api.list_opening_record_answers"): lambda p: Call(
        f"/api/v1/tenders/{p.tender}/opening-records/1/answers"
    ),
    ("POST", "tendering-api.answer_opening_record"): lambda p: Call(
        f"/api/v1/tenders/{p.answer_target}/opening-records/1/answers",
        json={"verdict": "confirmed", "record_sha256": p.answer_target_sha256, "password": PASSWORD},
    ),
}


def _terms_form(w: AccessWorld) -> dict[str, Any]:
    """The agency's tender form as a browser fills it in (times in the center's zone)."""
    from zoneinfo import ZoneInfo

    from app.core.time import now_utc

    local = (now_utc() + timedelta(hours=4)).astimezone(ZoneInfo(w.app.config["CENTER_TIMEZONE"]))
    at = local.strftime("%Y-%m-%dT%H:%M")
    # The criteria, price adjustment and bid-form rows as the new-tender page offers them by default.
    defaults = parse(w.roles["agency"].page.get("/agency/tenders/new")).form("tender-form").fields()
    rows = {
        k: v
        for k, v in defaults.items()
        if k.startswith(("criteria", "adjustments", "bid_fields", "outlier_percent", "drop_extremes"))
    }
    return {
        **rows,
        "title": "邯郸市第一中学教学楼改造工程",
        "buyer_id": str(w.buyer_id),
        "category": "construction",
        "description": "教学楼外墙及屋面改造",
        "submission_deadline_at": at,
        "opening_at": at,
        "min_bids": "2",
        "evaluation_method": "comprehensive",
        "envelopes-0-name": "bid",
        **{f"envelopes-{i}-stage": "1" for i in range(4)},
        "form_envelope": "0",
        "custody_mode": "timed",
    }


def tendering_routes(app: Flask) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("tendering.", "tendering-api.")) and not rule.endpoint.endswith(".static"):
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                out.add((method, rule.endpoint))
    return out


def _audit_tail(app: Flask, after: int) -> list[tuple[int, str, str | None, str | None]]:
    from sqlalchemy import select

    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.index, AuditEntry.action, AuditEntry.actor, AuditEntry.subject).where(
                AuditEntry.index > after
            )
        ).all()
        db.session.rollback()
        return [(int(i), str(a), r, s) for i, a, r, s in rows]


def _audit_size(app: Flask) -> int:
    from sqlalchemy import func, select

    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        value = db.session.scalar(select(func.max(AuditEntry.index)))
        db.session.rollback()
        return int(value if value is not None else -1)


def routed_endpoint(app: Flask, method: str, path: str) -> str:
    """The endpoint the app routes `method path` to: a row's "N" must be the route's own 404, not a typo's."""
    endpoint, _args = app.url_map.bind("localhost").match(urlsplit(path).path, method=method)
    return str(endpoint)


def _send(w: AccessWorld, role: Role, method: str, endpoint: str, call: Call) -> Any:
    assert routed_endpoint(w.app, method, call.path) == endpoint, (method, call.path, endpoint)
    if endpoint.startswith("tendering-api."):
        api = role.api
        assert api is not None
        body = call.json
        if body == "draft":
            body = draft_body(_compat(w))
        headers = api._headers(call.headers)
        return api.client.open(call.path, method=method, json=body, data=call.data, headers=headers)
    client = role.page
    if call.form is not None:
        payload: dict[str, Any] = _terms_form(w) if isinstance(call.form, str) else dict(call.form)
        if payload.get("document") == "file":
            payload["document"] = (io.BytesIO(b"%PDF-1.4 amendment"), "补充文件.pdf", "application/pdf")
        if role.user_id is not None:
            payload["csrf_token"] = role.csrf_token
        return client.open(call.path, method=method, data=payload)
    return client.open(call.path, method=method)


def _classify(resp: Any, role: Role, endpoint: str) -> str:
    status = resp.status_code
    if status in (401, 403):
        return "R"
    if status in (301, 302, 303):
        location = resp.headers.get("Location", "")
        if "/login" in location:
            return "R"
        with role.page.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        categories = {category for category, _message in flashes}
        assert "success" in categories or "error" in categories, (endpoint, location, flashes)
        return "F" if "error" in categories else "."
    if status == 404:
        return "N"
    if status == 409:
        return "C"
    if status in (400, 413, 422):
        return "V"
    if 200 <= status < 300:
        return "."
    raise AssertionError(f"{endpoint}: {status} {resp.get_data(as_text=True)[:500]}")


def _body(resp: Any) -> bytes:
    return bytes(resp.get_data())


def run_matrix(w: AccessWorld) -> tuple[dict[tuple[str, str], dict[str, str]], list[str]]:
    """Call every route; returns the observed table and the list of broken promises (logging, leaks)."""
    observed: dict[tuple[str, str], dict[str, str]] = {}
    problems: list[str] = []
    seen = _audit_size(w.app)  # entries up to here are from earlier calls
    for phase_name in PHASES:
        phase = w.phases[phase_name]
        for key, builder in BUILDERS.items():
            method, endpoint = key
            row = observed.setdefault(key, {})
            codes = []
            for role_name in ROLES:
                role = w.roles[role_name]
                resp = _send(w, role, method, endpoint, builder(phase))
                body = _body(resp)
                resp.close()  # a streamed download holds its read transaction until closed
                code = _classify(resp, role, endpoint)
                codes.append(code)
                where = f"{phase_name} {method} {endpoint} as {role_name}"
                logged = None
                if resp.status_code == 403 and role.user_id is not None:
                    logged = "access.denied"
                elif code in "CF" and endpoint in LATE_WRITES and phase_name in ("closed", "opened"):
                    logged = "tendering.bid.refused"  # nothing is received after the deadline, and that is logged
                if logged is not None:
                    tail = _audit_tail(w.app, seen)
                    seen = max([seen, *(i for i, *_rest in tail)])
                    actions = [a for _i, a, actor, _s in tail if actor == f"user:{role.user_id}"]
                    if logged not in actions:
                        problems.append(f"{where}: refused but not logged as {logged} ({actions})")
                if phase_name == "opened" and resp.status_code == 403 and b"before the opening" in body:
                    problems.append(f"{where}: refused after the opening with a text about before it")
                if phase_name != "opened" and 200 <= resp.status_code < 400:
                    for owner in BIDDING:
                        if owner == role_name:
                            continue
                        leaked = sorted(s for s in w.secrets[owner] if s and s.encode() in body)
                        if leaked:
                            problems.append(f"{where}: shows {owner}'s {leaked}")
            row[phase_name] = "".join(codes)
    return observed, problems


@pytest.fixture
def access_world(app: Flask, clock: Any) -> AccessWorld:
    return build_access_world(app, clock)


def test_every_route_has_a_row() -> None:
    """Checked against the app in the matrix test too; this keeps BUILDERS and EXPECTED in step."""
    assert set(BUILDERS) == set(EXPECTED)


def test_every_row_calls_its_own_route(app: Flask) -> None:
    """Each row's request reaches the route it is about (the matrix asserts it on every call, too)."""
    phase = Phase("open", *range(1, 6), "0" * 32, b"", *range(6, 12))
    for (method, endpoint), builder in BUILDERS.items():
        assert routed_endpoint(app, method, builder(phase).path) == endpoint, (method, endpoint)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # access is decided from roles and state
def test_every_tendering_route_for_every_role_in_every_phase(access_world: AccessWorld) -> None:
    w = access_world
    routes = tendering_routes(w.app)
    assert routes == set(BUILDERS), (
        f"routes without a row: {sorted(routes - set(BUILDERS))}; rows without a route: "
        f"{sorted(set(BUILDERS) - routes)}"
    )
    observed, problems = run_matrix(w)
    header = " " * 38 + " ".join(r[:4].ljust(4) for r in ROLES)
    lines = [header]
    for key, row in observed.items():
        for phase in PHASES:
            lines.append(f"{key[0]:6} {key[1]:40} {phase:7} {row[phase]}")
    print("\n".join(lines))
    assert not problems, "\n".join(problems)
    # Nothing counts bids before the opening: every view of the open tender is what it was before its bids.
    assert w.views_before_bids and w.views_before_bids.keys() == w.views_after_bids.keys()
    changed = sorted(k for k, v in w.views_before_bids.items() if w.views_after_bids[k] != v)
    assert not changed, f"views that changed when bids arrived: {changed}"
    # Nor does the evidence log, which admin, auditors and supervisors read: bids add no entries of their own (their
    # receipts' commitments wait for the constant-rate batch), so there is nothing to count.
    first, last = w.log_during_bids
    entries = _audit_tail(w.app, first)
    added = [(a, subject) for i, a, _actor, subject in entries if i <= last]
    assert not added, added
    mismatches = [
        f"{k[0]} {k[1]} [{phase}]: expected {EXPECTED[k][phase]} got {row[phase]}  ({' '.join(ROLES)})"
        for k, row in observed.items()
        for phase in PHASES
        if EXPECTED.get(k, {}).get(phase) != row[phase]
    ]
    assert not mismatches, "\n".join(mismatches)


# --- counting through identifiers and through the evidence log --------------------------------------------------


def _ints(value: Any) -> set[int]:
    """Every integer (not boolean) anywhere in a JSON value."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_ints(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_ints(v) for v in value)) if value else set()
    return set()


def test_a_receipt_reveals_nothing_about_bids_on_other_tenders(app: Flask, clock: Any) -> None:
    """Four bids on one tender, then a new bidder on another: its receipt, answers and page name its bid by 128
    random bits, and carry no integer from a global sequence (bid, version or envelope rows)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.tendering.models import Bid, BidEnvelope, BidVersion
    from tests.tendering.helpers import build_world, create_published, submit, upload

    world = build_world(app, bidders=5)
    busy, quiet = create_published(world), create_published(world)
    ids = []
    for bidder in world.bidders[:4]:
        data = seal(envelope_plaintext(form(1_000_000)), busy["recipient"])
        ids.append(submit(bidder.api, busy["id"], {"bid": upload(bidder.api, busy["id"], "bid", data)}).json)
    newcomer = world.bidders[4]
    data = seal(envelope_plaintext(form(990_000)), quiet["recipient"])
    answers = [submit(newcomer.api, quiet["id"], {"bid": upload(newcomer.api, quiet["id"], "bid", data)}).json]
    answers.append(newcomer.api.get(f"/api/v1/tenders/{quiet['id']}/bid").json)
    receipt = answers[0]["receipt"]["payload"]
    public = [a["receipt"]["payload"]["bid"]["id"] for a in ids] + [receipt["bid"]["id"]]
    assert all(isinstance(p, str) and re.fullmatch(r"[a-z2-7]{26}", p) for p in public)
    assert len(set(public)) == 5 and answers[1]["id"] == receipt["bid"]["id"]
    with app.app_context():
        bid = db.session.scalar(select(Bid).where(Bid.public_id == receipt["bid"]["id"]))
        assert bid is not None
        version = db.session.scalar(select(BidVersion).where(BidVersion.bid_id == bid.id))
        envelope = db.session.scalar(select(BidEnvelope).where(BidEnvelope.version_id == version.id))
        internal = {bid.id, version.id, envelope.id}
        org = bid.organisation_id
    # the only integers: the tender, the bidder's own organisation, version and stage numbers, sizes
    size = receipt["envelopes"][0]["size"]
    allowed = {quiet["id"], org, 1, size}
    for answer in answers:
        assert _ints(answer) <= allowed, (_ints(answer) - allowed, internal)


def _log_shape(export: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What an auditor can compare between two windows of the log, leaving out the values of hashes and times:
    each entry's action, actor, subject, data keys and value lengths, and the time since the previous entry."""
    from datetime import datetime

    shape, previous = [], None
    for e in export["entries"]:
        at = datetime.fromisoformat(e["created_at"].replace("Z", "+00:00"))
        data = {k: (type(v).__name__, len(v) if isinstance(v, str) else v) for k, v in e["data"].items()}
        shape.append(
            (e["action"], e["actor"], e["subject"], sorted(data.items()), (at - previous) if previous else None)
        )
        previous = at
    return shape


def test_the_evidence_log_counts_no_bids_before_the_opening(app: Flask, clock: Any) -> None:
    """An auditor's export of a window with no bid and one with five (and a replacement, a withdrawal and five
    interest registrations) on the single open tender: the same number of entries, actions, actors, subjects, data
    shapes and spacing. Every receipt's two-level proof verifies offline once its batch is logged."""
    from app.core.keys import platform_public_keys
    from crypto.receipt import verify_receipt
    from crypto.signing import load_public_key
    from tests.tendering.helpers import build_world, create_published, run_batch, submit, upload

    world = build_world(app, bidders=5)
    tender = create_published(world)
    tid = tender["id"]
    sealed = [seal(envelope_plaintext(form(1_000_000 + i)), tender["recipient"]) for i in range(6)]
    auditor = world.auditor.api
    run_batch(app, clock)

    def window(activity: Callable[[], None]) -> list[tuple[Any, ...]]:
        start = auditor.get("/api/v1/audit/checkpoints/latest").json["payload"]["tree_size"]
        activity()
        for _ in range(3):
            run_batch(app, clock)
        end = auditor.get("/api/v1/audit/checkpoints/latest").json["payload"]["tree_size"]
        export = auditor.get(f"/api/v1/audit/export?start={start}&end={end}")
        assert export.status_code == 200, export.json
        return _log_shape(export.json)

    receipts: list[dict[str, Any]] = []

    def five_bids() -> None:
        for i, bidder in enumerate(world.bidders):
            assert bidder.api.post(f"/api/v1/tenders/{tid}/interest").status_code in (200, 201)
            resp = submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", sealed[i])})
            assert resp.status_code == 201
            receipts.append(resp.json["receipt"])
            clock.advance(timedelta(seconds=2))
        again = world.bidders[0].api
        receipts.append(submit(again, tid, {"bid": upload(again, tid, "bid", sealed[5])}).json["receipt"])
        receipts.append(world.bidders[1].api.delete(f"/api/v1/tenders/{tid}/bid").json["receipt"])

    quiet = window(lambda: None)
    busy = window(five_bids)
    assert len(quiet) == 3 and quiet == busy, (quiet, busy)
    assert {s[0] for s in busy} == {"tendering.bids.batch"}

    with app.app_context():
        key = load_public_key(platform_public_keys()[0]["public_key"])
    proofs = {}
    for bidder in world.bidders:
        for v in bidder.api.get(f"/api/v1/tenders/{tid}/bid").json["versions"]:
            proofs[v["receipt"]["payload"]["commitment"]] = v["proof"]
    assert len(proofs) == len(receipts) == 7
    for receipt in receipts:
        check = verify_receipt(receipt, key, proof=proofs[receipt["payload"]["commitment"]])
        assert check.inclusion is not None
