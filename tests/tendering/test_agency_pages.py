"""The agency's tendering pages (Flask test client): drafting with errors shown in the form, documents,
publication after a confirmation, clarifications that move the deadline, public answers, cancellation,
the custodian's one-time share download, and other agencies refused."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.accounts.helpers import csrf_from, login, make_user
from tests.html import parse
from tests.tendering.helpers import World, audit_actions

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _html(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def _agency_client(world: World, username: str = "agency-page", org_id: int | None = None) -> Any:
    """A browser session of an agency user (agency roles need TOTP)."""
    _uid, secret = make_user(world.app, username, ["agency"], totp=True, organisation_id=org_id or world.agency.org_id)
    client = world.app.test_client()
    resp = login(client, username, totp_secret=secret)
    assert resp.status_code == 303, _html(resp)
    return client


def _user_client(world: World, username: str, roles: list[str], totp: bool = False) -> tuple[Any, int]:
    uid, secret = make_user(world.app, username, roles, totp=totp)
    client = world.app.test_client()
    assert login(client, username, totp_secret=secret).status_code == 303
    return client, uid


def _form(client: Any, url: str) -> dict[str, Any]:
    """The form's current values as the browser would send them (text inputs, selects, text areas, checkboxes)."""
    page = parse(client.get(url, headers=EN))
    return {"csrf_token": page.csrf_token(), **page.form("tender-form").fields()}


def _draft_form(client: Any, world: World, **overrides: Any) -> dict[str, Any]:
    data = _form(client, "/agency/tenders/new")
    data.update(
        {
            "title": "邯郸市第一中学教学楼改造工程",
            "buyer_id": str(world.buyer_id),
            "category": "construction",
            "description": "教学楼外墙及屋面改造\r\n第二行",
            "budget": "1500000.00",
            "submission_deadline_at": "2026-02-10T09:00",
            "opening_at": "2026-02-10T09:30",
            "min_bids": "3",
        }
    )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _tender_count(world: World) -> int:
    from app.extensions import db
    from app.tendering.models import Tender

    with world.app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Tender)) or 0)


def _tender(world: World, tender_id: int) -> Any:
    from app.extensions import db
    from app.tendering.models import Tender

    with world.app.app_context():
        tender = db.session.get(Tender, tender_id)
        _loaded = (list(tender.documents), list(tender.versions))  # read before leaving the session
        db.session.expunge_all()
        return tender


def _created_id(resp: Any) -> int:
    assert resp.status_code == 303, _html(resp)
    m = re.search(r"/agency/tenders/(\d+)$", resp.headers["Location"])
    assert m, resp.headers["Location"]
    return int(m.group(1))


def _error_near(page: str, field_id: str) -> str:
    """The message shown next to a field (core/ui.html field(), without the hidden "Error:" prefix)."""
    return parse(page).error_message(field_id)


def test_bad_drafts_show_errors_in_the_form_and_store_nothing(world, clock) -> None:
    client = _agency_client(world)
    assert client.get("/agency/tenders/new", headers=EN).status_code == 200

    # the form's own parsing: missing title and unreadable times
    resp = client.post(
        "/agency/tenders/new",
        data=_draft_form(client, world, title="", submission_deadline_at="tomorrow"),
        headers=EN,
    )
    assert resp.status_code == 400
    page = _html(resp)
    assert _error_near(page, "title") and _error_near(page, "submission_deadline_at")
    # text areas keep their content, inputs and selects their values
    kept = parse(page).form("tender-form")
    assert kept.fields()["description"] == "教学楼外墙及屋面改造\r\n第二行"
    assert not any((el.get("value") or "").startswith("教学楼外墙及屋面改造") for el in kept.select("input"))
    assert kept.fields()["category"] == "construction"

    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"budget": "12.345"}, "budget", "at most two decimals"),
        ({"budget": "1.234"}, "budget", "at most two decimals"),
        ({"budget": "-5"}, "budget", "cannot be negative"),
        ({"budget": "1,38,000"}, "budget", "commas between thousands"),
        ({"budget": "1e6"}, "budget", "commas between thousands"),
        ({"budget": "99999999999999999"}, "budget", "cannot exceed 90,071,992,547,409 yuan"),
        ({"criteria-0-weight": "forty"}, "criteria-0-weight", "Not a valid integer"),
        ({"opening_at": "2026-02-10T08:00"}, "opening_at", "the opening cannot come before the deadline"),
        # the criteria and the bid form are rows of controls; the terms' validation lands on the rows
        ({"bid_fields-0-key": "total"}, "bid_fields", "needs a required integer field"),
        ({"bid_fields-2-key": "9days"}, "bid_fields-2-key", "not starting with a digit"),
        ({"bid_fields-2-key": "price"}, "bid_fields-2-key", "already used"),
        ({"bid_fields-0-low": "1.234"}, "bid_fields-0-low", "at most two decimals"),
        ({"bid_fields-1-type": "choice", "bid_fields-1-choices": " , "}, "bid_fields-1-choices", "choices"),
        ({"criteria-0-weight": "50"}, "criteria", "add up to 100"),
        ({"criteria-1-name": "技" * 201, "criteria-2-weight": "15"}, "criteria-1-name", "is too long"),
        ({"criteria-0-category": "technical"}, "criteria", "needs a price item"),
        ({"criteria-2-weight": ""}, "criteria-2-weight", "Give the points"),
        ({"custody_mode": "committee", "custodians": "nobody-here", "custody_threshold": "1"}, "custodians", "nobody"),
        ({"custody_mode": "committee", "custodians": "custodian1", "custody_threshold": "5"}, "custody_threshold", "k"),
        ({"title": "bad\x01title"}, "title", "Control characters"),
        ({"min_bids": "0"}, "min_bids", ""),
        ({"max_bid_size_mib": "0"}, "max_bid_size_mib", ""),
        ({"envelopes-0-name": "Bad Name!"}, "form_envelope", ""),
        ({"buyer_id": "999999"}, "buyer_id", ""),
    ]
    for overrides, field, text in cases:
        resp = client.post("/agency/tenders/new", data=_draft_form(client, world, **overrides), headers=EN)
        assert resp.status_code in (400, 422), (overrides, resp.status_code)
        page = _html(resp)
        if field == "form_envelope":
            assert "an envelope name is 1-32" in page, overrides
            continue
        message = _error_near(page, field)
        assert text in message, (overrides, message)
        assert "教学楼外墙及屋面改造" in page  # the rest of the input is kept

    assert _tender_count(world) == 0
    assert not [a for a in audit_actions(world.app) if a[0].startswith("tendering.tender.")]


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("1380000", 138_000_000),
        ("1,380,000.50", 138_000_050),
        (" 1380000.5 ", 138_000_050),
        ("１，３８０，０００．０５", 138_000_005),  # full-width, as a Chinese input method types it
        ("0.01", 1),
        ("", None),
    ],
)
def test_the_budget_is_typed_in_yuan_and_stored_in_fen(world, typed: str, fen: int | None) -> None:
    client = _agency_client(world)
    resp = client.post("/agency/tenders/new", data=_draft_form(client, world, budget=typed), headers=EN)
    tender = _tender(world, _created_id(resp))
    assert tender.budget_amount == fen
    # the edit form shows it back in yuan; the tender page shows it with separators and in capitals
    edit = _form(client, f"/agency/tenders/{tender.id}/edit")
    assert edit["budget"] == ("" if fen is None else f"{fen // 100}.{fen % 100:02d}")
    page = _html(client.get(f"/agency/tenders/{tender.id}", headers=ZH))
    if fen == 138_000_050:
        assert "1,380,000.50 元" in page and "壹佰叁拾捌万元伍角" in page


# ---------------------------------------------------------------- a tender's life through the agency's pages
# One behaviour a test; the stages (a committee-custody draft, then published with its document) are fixtures.


@dataclass
class Desk:
    """The agency's browser session and a tender of theirs, with its two custodians signed in too."""

    world: World
    clock: Any
    client: Any
    keeper1: Any
    keeper2: Any
    tid: int

    def tender(self) -> Any:
        return _tender(self.world, self.tid)

    def html(self, url: str, who: Any = None) -> str:
        return _html((who or self.client).get(url, headers=EN))

    def logged(self) -> list[tuple[str, str, str | None, dict[str, Any]]]:
        """The evidence about this tender, in order."""
        return [a for a in audit_actions(self.world.app) if a[2] == f"tender:{self.tid}"]


def _upload_document(desk: Desk, content: bytes = b"%PDF-1.4 tender documents") -> Any:
    token = csrf_from(desk.html(f"/agency/tenders/{desk.tid}"))
    return desk.client.post(
        f"/agency/tenders/{desk.tid}/documents",
        data={"csrf_token": token, "document": (io.BytesIO(content), "招标文件.pdf", "application/pdf")},
        content_type="multipart/form-data",
        headers=EN,
    )


@pytest.fixture
def drafted(world: World, clock: Any) -> Desk:
    """A draft by the agency's page: committee custody (keeper1, keeper2), two envelopes, the deadline soon."""
    client = _agency_client(world)
    keeper1, _c1 = _user_client(world, "keeper1", ["supervisor"], totp=True)
    keeper2, _c2 = _user_client(world, "keeper2", ["auditor"], totp=True)
    resp = client.post(
        "/agency/tenders/new",
        data=_draft_form(
            client,
            world,
            submission_deadline_at="2026-01-10T09:00",
            opening_at="2026-01-10T09:30",
            custody_mode="committee",
            custodians="keeper1\r\nkeeper2",
            custody_threshold="2",
            platform_holds_share="y",
            **{"envelopes-0-name": "technical", "envelopes-0-stage": "1"},
            **{"envelopes-1-name": "commercial", "envelopes-1-stage": "2"},
            form_envelope="1",
            budget_secret="y",
        ),
        headers=EN,
    )
    return Desk(world, clock, client, keeper1, keeper2, _created_id(resp))


@pytest.fixture
def published(drafted: Desk) -> Desk:
    """The draft with its document, published through the confirmation page."""
    assert _upload_document(drafted).status_code == 303
    token = csrf_from(drafted.html(f"/agency/tenders/{drafted.tid}/publish"))
    resp = drafted.client.post(f"/agency/tenders/{drafted.tid}/publish", data={"csrf_token": token}, headers=EN)
    assert resp.status_code == 303, _html(resp)
    return drafted


def test_a_draft_is_stored_as_typed_with_times_in_the_centers_zone(drafted: Desk) -> None:
    tender = drafted.tender()
    assert tender.status.value == "draft" and tender.budget_amount == 150_000_000 and tender.budget_secret
    assert tender.description == "教学楼外墙及屋面改造\n第二行"
    # 09:00 in Asia/Shanghai is 01:00 UTC
    assert tender.submission_deadline_at.isoformat() == "2026-01-10T01:00:00+00:00"
    assert tender.envelopes == [
        {"name": "technical", "stage": 1, "form": False},
        {"name": "commercial", "stage": 2, "form": True},
    ]
    assert tender.custody_mode.value == "committee" and tender.custody_threshold == 2
    assert len(tender.custodian_ids) == 2
    assert [a[0] for a in drafted.logged()] == ["tendering.tender.drafted"]


def test_the_agency_list_shows_the_draft_with_its_zone_named(drafted: Desk) -> None:
    listing = parse(drafted.html("/agency/tenders"))
    assert drafted.tender().reference in listing.text
    assert "2026-01-10 09:00:00 (Asia/Shanghai, UTC+08:00)" in listing.text
    assert "/agency/tenders" in listing.links()  # the nav entry
    assert drafted.client.get("/agency/tenders", headers=ZH).status_code == 200


def test_the_edit_form_comes_back_filled_in_and_saves_a_change(drafted: Desk) -> None:
    tid = drafted.tid
    data = _form(drafted.client, f"/agency/tenders/{tid}/edit")
    assert data["submission_deadline_at"] == "2026-01-10T09:00" and data["custodians"] == "keeper1\nkeeper2"
    assert data["budget"] == "1500000.00"
    data["title"] = "邯郸市第一中学教学楼改造工程（二期）"
    resp = drafted.client.post(f"/agency/tenders/{tid}/edit", data=data, headers=EN)
    assert resp.status_code == 303, _html(resp)
    assert drafted.tender().title.endswith("（二期）")
    assert drafted.tender().envelopes[1]["form"] is True
    actions = drafted.logged()
    assert [a[0] for a in actions] == ["tendering.tender.drafted", "tendering.tender.updated"]
    assert actions[0][1] == actions[1][1]  # by the same agency user


def test_an_opening_before_the_deadline_comes_back_in_the_edit_form(drafted: Desk) -> None:
    tid, title = drafted.tid, drafted.tender().title
    data = _form(drafted.client, f"/agency/tenders/{tid}/edit")
    data.update(title="改过的标题", opening_at="2026-01-10T08:00")
    resp = drafted.client.post(f"/agency/tenders/{tid}/edit", data=data, headers=EN)
    assert resp.status_code == 422
    assert "the opening cannot come before the deadline" in _error_near(_html(resp), "opening_at")
    assert drafted.tender().reference in parse(resp).text and drafted.tender().title == title  # nothing stored


def test_publishing_without_documents_shows_the_failed_check_and_is_refused(drafted: Desk) -> None:
    tid = drafted.tid
    page = parse(drafted.html(f"/agency/tenders/{tid}/publish"))
    failed = page.select(data_ok="no")
    assert failed and "Tender documents are attached (0)" in page.text
    resp = drafted.client.post(f"/agency/tenders/{tid}/publish", data={"csrf_token": page.csrf_token()}, headers=EN)
    assert resp.status_code == 422 and "publish the tender documents" in _html(resp)
    assert drafted.tender().status.value == "draft"


def test_a_document_upload_needs_a_file_and_a_drafts_document_is_not_public(drafted: Desk) -> None:
    tid = drafted.tid
    token = csrf_from(drafted.html(f"/agency/tenders/{tid}"))
    resp = drafted.client.post(f"/agency/tenders/{tid}/documents", data={"csrf_token": token}, headers=EN)
    assert resp.status_code == 400 and _error_near(_html(resp), "document")
    resp = _upload_document(drafted)
    assert resp.status_code == 303, _html(resp)
    docs = drafted.tender().documents
    assert [d.name for d in docs] == ["招标文件.pdf"]
    assert drafted.world.app.test_client().get(f"/api/v1/tenders/{tid}/documents/{docs[0].id}").status_code == 404
    assert "tendering.tender.document_added" in [a[0] for a in drafted.logged()]


def test_the_confirmation_shows_frozen_terms_and_publishing_freezes_them(drafted: Desk) -> None:
    tid = drafted.tid
    assert _upload_document(drafted).status_code == 303
    page = drafted.html(f"/agency/tenders/{tid}/publish")
    doc = parse(page)
    assert not doc.select(data_ok="no") and len(doc.select(data_ok="yes")) == 3
    assert "Keeper1 (keeper1)" in doc.text and "招标文件.pdf" in doc.text and "2 of 3" in doc.text
    resp = drafted.client.post(f"/agency/tenders/{tid}/publish", data={"csrf_token": doc.csrf_token()}, headers=EN)
    assert resp.status_code == 303, _html(resp)
    tender = drafted.tender()
    assert tender.status.value == "published" and tender.recipient.startswith("age1")
    shown = drafted.html(f"/agency/tenders/{tid}")
    assert tender.recipient in shown and "not downloaded yet" in shown
    # published terms are frozen: the edit page sends back to the tender
    assert drafted.client.get(f"/agency/tenders/{tid}/edit").status_code == 303
    actions = drafted.logged()
    assert "tendering.tender.published" in [a[0] for a in actions]
    assert len({a[1] for a in actions if a[0].startswith("tendering.tender.")}) == 1  # all by the agency user


def test_a_question_is_answered_publicly_once_and_never_empty(published: Desk) -> None:
    tid, client = published.tid, published.client
    qid = published.world.bidders[0].api.post(f"/api/v1/tenders/{tid}/questions", {"text": "屋面防水等级是多少？"})
    qid = qid.json["id"]
    page = parse(published.html(f"/agency/tenders/{tid}"))
    assert "屋面防水等级是多少？" in page.text
    answer_url = f"/agency/tenders/{tid}/questions/{qid}/answer"
    assert page.select("form", action=answer_url)
    token = page.csrf_token()
    resp = client.post(answer_url, data={"csrf_token": token, "answer": ""})
    assert resp.status_code == 400 and parse(resp).has(f"answer-{qid}-err")
    assert client.post(answer_url, data={"csrf_token": token, "answer": "一级防水，见第三章。"}).status_code == 303
    assert "一级防水，见第三章。" in parse(published.world.app.test_client().get(f"/tenders/{tid}", headers=EN)).text
    resp = client.post(answer_url, data={"csrf_token": token, "answer": "再答"}, headers=EN)
    assert resp.status_code == 409 and "already answered" in _html(resp)
    assert [a[0] for a in published.logged()].count("tendering.question.answered") == 1


def test_a_clarification_moves_the_deadline_and_cannot_shorten_it(published: Desk) -> None:
    from datetime import timedelta

    from app.core.time import format_center_time

    tid, client, clock = published.tid, published.client, published.clock
    pushed = format_center_time(clock.now() + timedelta(days=15), "Asia/Shanghai")
    assert pushed.startswith("2026-01-20 09:0")
    page = parse(published.html(f"/agency/tenders/{tid}/clarify"))
    assert page.has("deadline-warning") and pushed in page.text
    token = page.csrf_token()
    shorter = {"csrf_token": token, "text": "澄清", "submission_deadline_at": "2026-01-09T09:00"}
    resp = client.post(f"/agency/tenders/{tid}/clarify", data=shorter, headers=EN)
    assert resp.status_code == 422 and "extended, not shortened" in _error_near(_html(resp), "submission_deadline_at")
    version = published.tender().version
    clarified = {"csrf_token": token, "text": "澄清：屋面防水等级调整为一级。"}
    resp = client.post(f"/agency/tenders/{tid}/clarify", data=clarified, headers=EN)
    assert resp.status_code == 303, _html(resp)
    shown = parse(client.get(resp.headers["Location"], headers=EN)).text
    assert "The submission deadline moved from 2026-01-10 09:00:00" in shown
    assert pushed in shown and "the deadline was moved" in shown
    tender = published.tender()
    assert tender.version == version + 1 and tender.submission_deadline_at == clock.now() + timedelta(days=15)
    assert "tendering.tender.clarification" in [a[0] for a in published.logged()]


def test_an_amendment_adds_a_document_to_the_published_tender(published: Desk) -> None:
    tid, version = published.tid, published.tender().version
    resp = published.client.post(
        f"/agency/tenders/{tid}/documents",
        data={
            "csrf_token": csrf_from(published.html(f"/agency/tenders/{tid}")),
            "document": (io.BytesIO(b"addendum"), "补遗1.pdf", "application/pdf"),
            "text": "补遗：新增图纸",
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303, _html(resp)
    assert published.tender().version == version + 1
    assert "tendering.tender.amendment" in [a[0] for a in published.logged()]


def test_a_custodian_downloads_the_share_as_text_once(published: Desk) -> None:
    tid, keeper1, reference = published.tid, published.keeper1, published.tender().reference
    assert reference in published.html("/custody", keeper1)
    token1 = csrf_from(published.html(f"/tenders/{tid}/custody", keeper1))
    resp = keeper1.post(f"/tenders/{tid}/custody/share", data={"csrf_token": token1, "kind": "text"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert parse(resp).by_id("share-text").text.startswith("SCP-SHARE-1:")
    # the flash is written in the language of the request that makes it (the message is in the catalogue now)
    resp = keeper1.post(f"/tenders/{tid}/custody/share", data={"csrf_token": token1, "kind": "text"}, headers=EN)
    assert resp.status_code == 303
    assert "already downloaded" in published.html(resp.headers["Location"], keeper1)
    # the same list through the API (session cookie; a token works alike)
    duties = keeper1.get("/api/v1/my/custody-shares").get_json()
    assert [(d["tender_id"], d["reference"]) for d in duties] == [(tid, reference)]
    assert duties[0]["downloaded_at"] is not None and duties[0]["submitted_at"] is None
    assert "downloaded" in published.html(f"/agency/tenders/{tid}")


def test_a_custodian_downloads_the_share_as_a_file(published: Desk) -> None:
    tid, keeper2 = published.tid, published.keeper2
    token = csrf_from(published.html(f"/tenders/{tid}/custody", keeper2))
    resp = keeper2.post(f"/tenders/{tid}/custody/share", data={"csrf_token": token, "kind": "file"})
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert resp.get_data(as_text=True).startswith("SCP-SHARE-1:")
    assert [a[0] for a in published.logged()].count("tendering.custody.share_downloaded") == 1


def test_both_custodians_downloads_are_logged(published: Desk) -> None:
    for keeper, kind in ((published.keeper1, "text"), (published.keeper2, "file")):
        token = csrf_from(published.html(f"/tenders/{published.tid}/custody", keeper))
        resp = keeper.post(f"/tenders/{published.tid}/custody/share", data={"csrf_token": token, "kind": kind})
        assert resp.status_code == 200
    assert [a[0] for a in published.logged()].count("tendering.custody.share_downloaded") == 2


def test_a_stranger_is_not_a_custodian(published: Desk) -> None:
    tid = published.tid
    stranger, _s = _user_client(published.world, "stranger", ["bidder"])
    assert stranger.get(f"/tenders/{tid}/custody").status_code == 403
    token = csrf_from(published.html("/tenders", stranger))
    resp = stranger.post(f"/tenders/{tid}/custody/share", data={"csrf_token": token, "kind": "text"})
    assert resp.status_code == 403
    assert "access.denied" in [a[0] for a in published.logged()]  # the stranger's attempt


def test_cancelling_needs_a_reason(published: Desk) -> None:
    tid, client = published.tid, published.client
    token = csrf_from(published.html(f"/agency/tenders/{tid}/cancel"))
    resp = client.post(f"/agency/tenders/{tid}/cancel", data={"csrf_token": token, "reason": "  "}, headers=EN)
    assert resp.status_code in (400, 422) and _error_near(_html(resp), "reason")
    assert published.tender().status.value == "published"
    resp = client.post(f"/agency/tenders/{tid}/cancel", data={"csrf_token": token, "reason": "项目资金未落实"})
    assert resp.status_code == 303
    tender = published.tender()
    assert tender.status.value == "cancelled" and tender.cancel_reason == "项目资金未落实"
    actions = published.logged()
    assert actions[-1][0] == "tendering.tender.cancelled"
    assert all(a[1] == actions[0][1] for a in actions if a[0].startswith("tendering.tender."))  # the agency user


def test_another_agency_is_refused(world, clock) -> None:
    owner = _agency_client(world)
    intruder = _agency_client(world, "intruder", world.other_agency.org_id)
    tid = _created_id(owner.post("/agency/tenders/new", data=_draft_form(owner, world), headers=EN))

    # a draft of another agency does not exist for the intruder
    for url in (f"/agency/tenders/{tid}", f"/agency/tenders/{tid}/edit", f"/agency/tenders/{tid}/publish"):
        assert intruder.get(url).status_code == 404, url
    assert f"/agency/tenders/{tid}" not in _html(intruder.get("/agency/tenders"))

    page = _html(owner.get(f"/agency/tenders/{tid}"))
    token = csrf_from(page)
    resp = owner.post(
        f"/agency/tenders/{tid}/documents",
        data={"csrf_token": token, "document": (io.BytesIO(b"%PDF"), "招标文件.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    resp = owner.post(f"/agency/tenders/{tid}/publish", data={"csrf_token": token})
    assert resp.status_code == 303

    # a published one is refused, and the refusal is logged
    itoken = csrf_from(_html(intruder.get("/agency/tenders")))
    assert intruder.get(f"/agency/tenders/{tid}").status_code == 403
    assert intruder.get(f"/agency/tenders/{tid}/clarify").status_code == 403
    resp = intruder.post(f"/agency/tenders/{tid}/cancel", data={"csrf_token": itoken, "reason": "捣乱"})
    assert resp.status_code == 403
    resp = intruder.post(f"/agency/tenders/{tid}/clarify", data={"csrf_token": itoken, "text": "捣乱"})
    assert resp.status_code == 403
    assert _tender(world, tid).status.value == "published" and _tender(world, tid).version == 1
    denied = [a for a in audit_actions(world.app) if a[0] == "access.denied" and a[2] == f"tender:{tid}"]
    assert len(denied) == 4

    # a bidder has no agency pages at all
    bidder = world.app.test_client()
    assert login(bidder, "bidder1").status_code == 303
    assert bidder.get("/agency/tenders").status_code == 403
    assert 'href="/agency/tenders"' not in _html(bidder.get("/tenders"))


def test_hostile_input_answers_4xx(world, clock) -> None:
    client = _agency_client(world)
    token = csrf_from(_html(client.get("/agency/tenders")))
    for url in (
        "/agency/tenders/99999999999999999999",
        "/agency/tenders/0/edit",
        "/agency/tenders/999999/publish",
        "/tenders/999999/custody",
    ):
        assert client.get(url).status_code == 404, url
    for overrides in (
        {"buyer_id": "abc"},
        {"min_bids": "99999999999999999999999"},
        {"budget": "1e400"},
        {"budget": "1e999999999"},
        {"budget": "Infinity"},
        {"budget": "NaN"},
        {"budget": "-5"},
        {"max_bid_size_mib": "99999999999999"},
        {"custody_threshold": "-1", "custody_mode": "committee", "custodians": "custodian1"},
        {"evaluation_method": "coin_toss"},
        {"criteria-0-category": "evil"},
        {"criteria-0-weight": "9" * 400},
        {"bid_fields-0-type": "number"},
        {"bid_fields-2-high": "9" * 400},
        {"bid_fields-0-required": ""},
        {"evaluation_method": "lowest_evaluated_price", "adjustments-0-name": "x", "adjustments-0-low": "1e999"},
        {"evaluation_method": "lowest_evaluated_price", "adjustments-0-name": "x", "adjustments-0-kind": "amount"},
        {"envelopes-0-stage": "9"},
        {"submission_deadline_at": "9999-12-31T23:59"},
        {"title": "x" * 400},
    ):
        data = _draft_form(client, world, **overrides)
        resp = client.post("/agency/tenders/new", data=data)
        assert 400 <= resp.status_code < 500, (overrides, resp.status_code)
    assert _tender_count(world) == 0
    resp = client.post("/agency/tenders/new", data={"csrf_token": token, "title": "only a title"})
    assert resp.status_code == 400
    resp = client.post("/agency/tenders/999999/questions/1/answer", data={"csrf_token": token, "answer": "x"})
    assert resp.status_code == 404


def test_every_agency_page_renders_in_both_languages(world, clock) -> None:
    client = _agency_client(world)
    draft = _created_id(client.post("/agency/tenders/new", data=_draft_form(client, world), headers=EN))
    published = _created_id(client.post("/agency/tenders/new", data=_draft_form(client, world), headers=EN))
    token = csrf_from(_html(client.get("/agency/tenders")))
    resp = client.post(
        f"/agency/tenders/{published}/documents",
        data={"csrf_token": token, "document": (io.BytesIO(b"%PDF"), "招标文件.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    assert client.post(f"/agency/tenders/{published}/publish", data={"csrf_token": token}).status_code == 303
    urls = [
        "/agency/tenders",
        "/agency/tenders/new",
        f"/agency/tenders/{draft}",
        f"/agency/tenders/{draft}/edit",
        f"/agency/tenders/{draft}/publish",
        f"/agency/tenders/{draft}/cancel",
        f"/agency/tenders/{published}",
        f"/agency/tenders/{published}/clarify",
        f"/agency/tenders/{published}/cancel",
        "/custody",
    ]
    for headers, lang in ((ZH, 'lang="zh-CN"'), (EN, 'lang="en"')):
        for url in urls:
            resp = client.get(url, headers=headers)
            assert resp.status_code == 200, (url, resp.status_code)
            page = _html(resp)
            assert lang in page and "Asia/Shanghai" in page, url
    # a published tender has no edit or publish page any more; a draft has no clarification
    assert client.get(f"/agency/tenders/{published}/edit").status_code == 303
    assert client.get(f"/agency/tenders/{published}/publish").status_code == 303
    assert client.get(f"/agency/tenders/{draft}/clarify").status_code == 303


def test_after_the_opening_time_changes_are_refused_in_the_page(world, clock) -> None:
    from datetime import timedelta

    client = _agency_client(world)
    tid = _created_id(
        client.post(
            "/agency/tenders/new",
            data=_draft_form(client, world, submission_deadline_at="2026-01-05T10:00", opening_at="2026-01-05T10:00"),
            headers=EN,
        )
    )
    token = csrf_from(_html(client.get("/agency/tenders")))
    doc = {"csrf_token": token, "document": (io.BytesIO(b"%PDF"), "招标文件.pdf", "application/pdf")}
    assert (
        client.post(f"/agency/tenders/{tid}/documents", data=doc, content_type="multipart/form-data").status_code == 303
    )
    assert client.post(f"/agency/tenders/{tid}/publish", data={"csrf_token": token}).status_code == 303
    qid = world.bidders[0].api.post(f"/api/v1/tenders/{tid}/questions", {"text": "问题"}).json["id"]
    clock.advance(timedelta(hours=2))

    assert client.get(f"/agency/tenders/{tid}/clarify").status_code == 303  # not open for bids any more
    resp = client.post(f"/agency/tenders/{tid}/clarify", data={"csrf_token": token, "text": "晚了"}, headers=EN)
    assert resp.status_code == 409 and "open for bids" in _html(resp)
    resp = client.post(f"/agency/tenders/{tid}/cancel", data={"csrf_token": token, "reason": "晚了"}, headers=EN)
    assert resp.status_code == 409 and "only before its opening" in _html(resp)
    doc = {"csrf_token": token, "document": (io.BytesIO(b"%PDF"), "补遗.pdf", "application/pdf")}
    resp = client.post(f"/agency/tenders/{tid}/documents", data=doc, content_type="multipart/form-data", headers=EN)
    assert resp.status_code == 409 and "before its deadline" in _error_near(_html(resp), "document")
    resp = client.post(f"/agency/tenders/{tid}/questions/{qid}/answer", data={"csrf_token": token, "answer": "晚"})
    assert resp.status_code == 409
    page = _html(client.get(f"/agency/tenders/{tid}", headers=EN))
    assert "Cancel the tender" not in page and "Issue a clarification" not in page and 'id="document-form"' not in page
    tender = _tender(world, tid)
    assert tender.status.value == "published" and tender.version == 1 and len(tender.documents) == 1


def test_custodians_download_then_bring_their_shares_through_the_pages(world, clock) -> None:
    """Committee custody in the pages: each custodian downloads its share once, brings it back at the opening
    (as pasted text or as the downloaded file); a wrong share is refused in the page and changes nothing; with
    k shares present the sweep opens the bids."""
    from datetime import timedelta

    from tests.tendering.helpers import create_published, envelope_plaintext, form, iso, seal, submit, upload
    from tests.tendering.test_opening import run_sweep

    keepers = [_user_client(world, f"keeper{i}", ["supervisor"], totp=True) for i in (1, 2)]
    at = clock.now() + timedelta(seconds=5)
    tender = create_published(
        world,
        submission_deadline_at=iso(at),
        opening_at=iso(at),
        min_bids=1,
        custody_mode="committee",
        custodian_ids=[uid for _c, uid in keepers],
        custody_threshold=2,
        platform_holds_share=False,
    )
    tid = tender["id"]
    bidder = world.bidders[0]
    sealed = seal(envelope_plaintext(form(4321)), tender["recipient"])
    submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", sealed)})

    shares = []
    for client, _uid in keepers:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
        page = _html(client.get(f"/tenders/{tid}/custody"))
        assert "bring-share" not in page  # not before the opening
        got = client.post(f"/tenders/{tid}/custody/share", data={"csrf_token": csrf_from(page), "kind": "file"})
        assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
        shares.append(got.get_data(as_text=True).strip())
    first, second = keepers[0][0], keepers[1][0]
    assert "Bring your share here at the opening time" in _html(first.get(f"/tenders/{tid}/custody"))

    clock.advance(timedelta(seconds=5))
    run_sweep(world.app)
    page = _html(first.get(f"/tenders/{tid}/custody"))
    assert 'id="bring-share"' in page
    token = csrf_from(page)
    # someone else's share, an empty form, garbage in a file: refused in the page, nothing stored
    wrong = first.post(f"/tenders/{tid}/custody/bring", data={"csrf_token": token, "share": shares[1]})
    assert wrong.status_code == 422 and "not the share issued to you" in _html(wrong)
    assert first.post(f"/tenders/{tid}/custody/bring", data={"csrf_token": token}).status_code == 422
    junk = {"csrf_token": token, "file": (io.BytesIO(b"\xff\xfe" * 10), "share.txt")}
    bad = first.post(f"/tenders/{tid}/custody/bring", data=junk, content_type="multipart/form-data")
    assert bad.status_code == 422 and "not a key share" in _html(bad)
    huge = {"csrf_token": token, "file": (io.BytesIO(b"A" * (16 * 1024 + 1)), "share.txt")}
    big = first.post(f"/tenders/{tid}/custody/bring", data=huge, content_type="multipart/form-data")
    assert big.status_code == 422 and "too large to be a key share" in _html(big)
    assert first.post(f"/tenders/{tid}/custody/bring", data={"share": shares[0]}).status_code == 400  # no CSRF
    assert "tendering.custody.share_submitted" not in [a[0] for a in audit_actions(world.app)]

    brought = first.post(f"/tenders/{tid}/custody/bring", data={"csrf_token": token, "share": shares[0] + "\r\n"})
    assert brought.status_code == 303
    page = _html(first.get(f"/tenders/{tid}/custody"))
    assert "1 of the 2 needed are present" in page and 'id="share-brought"' in page and "bring-share" not in page
    run_sweep(world.app)
    assert world.agency.api.get(f"/api/v1/tenders/{tid}/opening-records").json == []  # one of two: nothing opened

    token = csrf_from(_html(second.get(f"/tenders/{tid}/custody")))
    as_file = {"csrf_token": token, "file": (io.BytesIO(shares[1].encode() + b"\n"), "share.txt", "text/plain")}
    assert (
        second.post(f"/tenders/{tid}/custody/bring", data=as_file, content_type="multipart/form-data").status_code
        == 303
    )
    run_sweep(world.app)
    record = world.agency.api.get(f"/api/v1/tenders/{tid}/opening-records").json[0]["payload"]
    assert record["bids"][0]["form"]["price"] == 4321 and record["result"] == "opened"
    assert [a[0] for a in audit_actions(world.app)].count("tendering.custody.share_submitted") == 2


def _row_values(page: str, prefix: str) -> list[str]:
    """The values of the text inputs named PREFIX-<i>-<field>, in the page's order (parsed HTML)."""
    return [
        f"{el.get('name')}={el.get('value', '')}"
        for el in parse(page).select("input")
        if el.get("type", "text") == "text" and re.fullmatch(rf"{prefix}-\d+-\w+", el.get("name") or "")
    ]


def test_criteria_and_bid_form_are_edited_as_rows(world, clock) -> None:
    client = _agency_client(world)
    new = _html(client.get("/agency/tenders/new", headers=ZH))
    # the defaults as rows of controls: three criteria, three bid-form fields, no JSON text area
    assert "criteria-2-name=商务及信誉" in _row_values(new, "criteria")
    assert "bid_fields-0-key=price" in _row_values(new, "bid_fields")
    assert "bid_fields-0-label=投标报价" in _row_values(new, "bid_fields")  # typed in 元: the （分） unit dropped
    new_doc = parse(new)
    assert not new_doc.select(name="criteria") and not new_doc.select(name="bid_form_schema")
    assert new_doc.select("textarea")

    # "add a row" is a submit button: the page comes back with one more row and keeps what was typed; no draft
    data = _draft_form(client, world, **{"criteria-0-name": "报价得分", "add_field": "Add a field"})
    resp = client.post("/agency/tenders/new", data=data, headers=EN)
    assert resp.status_code == 200
    rows = _row_values(_html(resp), "bid_fields")
    assert "bid_fields-3-key=" in rows and "criteria-0-name=报价得分" in _row_values(_html(resp), "criteria")
    data = _draft_form(client, world, **{"criteria-1-remove": "Remove"})
    resp = client.post("/agency/tenders/new", data=data, headers=EN)
    assert resp.status_code == 200 and "criteria-1-name=技术方案" not in _row_values(_html(resp), "criteria")
    assert _tender_count(world) == 0

    # saved: the rows become the criteria and the bid form's JSON Schema (money in 分, typed in 元)
    data = _draft_form(
        client,
        world,
        **{
            "criteria-0-weight": "30",
            "criteria-1-weight": "55",
            "criteria-1-description": "施工组织设计",
            "bid_fields-0-high": "2,000,000.50",
            "bid_fields-3-key": "deposit",
            "bid_fields-3-label": "投标保证金",
            "bid_fields-3-type": "money",
            "bid_fields-3-low": "10000",
            "bid_fields-4-key": "warranty",
            "bid_fields-4-label": "质保期（月）",
            "bid_fields-4-type": "integer",
            "bid_fields-4-required": "y",
            "bid_fields-4-low": "12",
        },
    )
    tid = _created_id(client.post("/agency/tenders/new", data=data, headers=EN))
    tender = _tender(world, tid)
    assert tender.criteria == {
        "items": [
            {"name": "投标报价", "category": "price", "weight": 30},
            {"name": "技术方案", "category": "technical", "weight": 55, "description": "施工组织设计"},
            {"name": "商务及信誉", "category": "commercial", "weight": 15},
        ],
        "outlier_percent": 30,
        "drop_extremes": False,
    }
    props = tender.bid_form_schema["properties"]
    assert props["price"] == {
        "type": "integer",
        "format": "money",
        "minimum": 0,
        "maximum": 200_000_050,
        "title": "投标报价",
    }
    assert props["deposit"] == {"type": "integer", "format": "money", "minimum": 1_000_000, "title": "投标保证金"}
    assert props["warranty"] == {"type": "integer", "minimum": 12, "title": "质保期（月）"}
    assert props["currency"] == {"type": "string", "enum": ["CNY"], "title": "币种"}
    assert tender.bid_form_schema["required"] == ["price", "currency", "duration_days", "warranty"]

    # the edit page shows the stored terms as rows again (amounts in 元)
    edit = _row_values(_html(client.get(f"/agency/tenders/{tid}/edit", headers=EN)), "bid_fields")
    assert "bid_fields-0-high=2000000.50" in edit and "bid_fields-3-low=10000.00" in edit


def test_price_adjustments_are_rows_in_yuan(world, clock) -> None:
    client = _agency_client(world)
    data = _draft_form(
        client,
        world,
        **{
            "evaluation_method": "lowest_evaluated_price",
            "criteria-0-name": "资格审查",
            "criteria-1-name": "",
            "criteria-2-name": "",
            "adjustments-0-name": "缺项补价",
            "adjustments-0-kind": "amount",
            "adjustments-0-low": "-1,000.50",
            "adjustments-0-high": "2000",
            "add_adjustment": "Add",
        },
    )
    resp = client.post("/agency/tenders/new", data=data, headers=EN)
    assert resp.status_code == 200 and "adjustments-1-name=" in _row_values(_html(resp), "adjustments")
    del data["add_adjustment"]
    data.update({"adjustments-1-name": "工期偏差", "adjustments-1-kind": "percent", "adjustments-1-low": "-5"})
    resp = client.post("/agency/tenders/new", data=data, headers=EN)
    assert resp.status_code == 422 and _error_near(_html(resp), "adjustments-1-high") == "Required."
    data["adjustments-1-high"] = "10"
    tid = _created_id(client.post("/agency/tenders/new", data=data, headers=EN))
    assert _tender(world, tid).criteria == {
        "items": [{"name": "资格审查"}],
        "adjustments": [
            {"name": "缺项补价", "kind": "amount", "min": -100_050, "max": 200_000},
            {"name": "工期偏差", "kind": "percent", "min": -5, "max": 10},
        ],
    }
    edit = _row_values(_html(client.get(f"/agency/tenders/{tid}/edit", headers=EN)), "adjustments")
    assert "adjustments-0-low=-1000.50" in edit and "adjustments-1-high=10" in edit
