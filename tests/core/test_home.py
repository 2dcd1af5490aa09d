"""The home page on the demo data: open for bids (deadlines), opening today, recent results for everyone; signed in,
what needs the caller's action now, by role. Pages parsed as HTML."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.demo import TITLE_AWARDED, TITLE_BIDDING, TITLE_OPENED
from tests.accounts.helpers import login, make_user


class Sections(HTMLParser):
    """The links of every <section data-section=…> of the page: {key: [(text, href)]}, and its headings."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: dict[str, list[tuple[str, str]]] = {}
        self.times: dict[str, int] = {}
        self._section: str | None = None
        self._depth = 0
        self._href: str | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("data-section"):
            self._section, self._depth = a["data-section"], 0
            self.links[self._section] = []
            self.times[self._section] = 0
        elif tag == "section" and self._section:
            self._depth += 1
        if self._section and tag == "a":
            self._href, self._text = a.get("href") or "", []
        if self._section and tag == "time":
            self.times[self._section] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._section and self._href is not None:
            self.links[self._section].append(("".join(self._text).strip(), self._href))
            self._href = None
        if tag == "section" and self._section:
            if self._depth:
                self._depth -= 1
            else:
                self._section = None

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def titles(self, key: str) -> list[str]:
        return [text for text, _href in self.links.get(key, [])]


def page(client: Any) -> Sections:
    resp = client.get("/", headers={"Accept-Language": "en"})
    assert resp.status_code == 200
    return Sections(resp.get_data(as_text=True))


# Seeding the whole demo takes 10–25 s a test; the home queries of every role run on PostgreSQL through the
# anonymous, agency and expert tests; the other roles on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


@pytest.fixture
def demo(app: Flask, clock: Any) -> dict[str, int]:
    """The demo data at 09:00 in the center (the fake clock), and the ids of its tenders."""
    from app.core.reference import seed_demo_data
    from app.extensions import db
    from app.tendering.models import Tender

    with app.app_context():
        lines = seed_demo_data()
        db.session.commit()
        assert any(line.startswith("demo tender") for line in lines), lines
        return {t.title: t.id for t in db.session.scalars(select(Tender))}


def org_of(app: Flask, username: str) -> int:
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None and user.organisation_id is not None
        return user.organisation_id


def signed_in(app: Flask, username: str, role: str, org: int | None = None) -> Any:
    totp = role in {"agency", "admin", "auditor", "supervisor"}
    _uid, secret = make_user(app, username, [role], totp=totp, organisation_id=org)
    client = app.test_client()
    assert login(client, username, totp_secret=secret).status_code == 303
    return client


def test_anonymous_sees_open_tenders_openings_today_and_results(app: Flask, demo: dict[str, int]) -> None:
    sections = page(app.test_client())
    assert sections.links["open-for-bids"] == [(TITLE_BIDDING, f"/tenders/{demo[TITLE_BIDDING]}")]
    assert sections.times["open-for-bids"] == 1  # its deadline
    assert sections.links["opening-today"] == [(TITLE_BIDDING, f"/tenders/{demo[TITLE_BIDDING]}")]
    assert sections.links["recent-results"] == [(TITLE_AWARDED, f"/tenders/{demo[TITLE_AWARDED]}")]
    assert all(TITLE_OPENED not in sections.titles(k) for k in sections.links)
    assert not [k for k in sections.links if k.startswith(("agency-", "bidder-", "expert-", "admin-"))]


def test_empty_platform_says_so(app: Flask) -> None:
    resp = app.test_client().get("/", headers={"Accept-Language": "en"})
    text = resp.get_data(as_text=True)
    assert "No tender is open for bids." in text and "No opening today." in text and "No award yet." in text


def test_agency_sees_drafts_openings_and_committees_to_define(app: Flask, demo: dict[str, int]) -> None:
    from app.accounts.models import User
    from app.extensions import db
    from app.tendering import services_tenders
    from app.tendering.models import Tender

    org = org_of(app, "agency")
    client = signed_in(app, "agent-home", "agency", org)
    with app.app_context():
        source = db.session.get(Tender, demo[TITLE_OPENED])
        assert source is not None
        actor = db.session.scalar(select(User).where(User.username == "agent-home"))
        draft = services_tenders.create_tender(
            actor=actor,
            data={
                "title": "草稿：示范中学围墙工程",
                "buyer_id": source.buyer_id,
                "category": "construction",
                "submission_deadline_at": source.opening_at + timedelta(days=60),
                "opening_at": source.opening_at + timedelta(days=60),
            },
        )
        db.session.commit()
        draft_id = draft.id
    sections = page(client)
    assert sections.links["agency-drafts"] == [("草稿：示范中学围墙工程", f"/agency/tenders/{draft_id}")]
    assert sections.links["agency-openings"] == [(TITLE_BIDDING, f"/agency/tenders/{demo[TITLE_BIDDING]}")]
    assert sections.links["agency-committees"] == [(TITLE_OPENED, f"/agency/tenders/{demo[TITLE_OPENED]}")]
    assert "agency-awards" not in sections.links  # the demo's award is issued
    # another agency sees none of it
    other = signed_in(app, "agent-elsewhere", "agency", org_of(app, "admin"))
    assert not [k for k in page(other).links if k.startswith("agency-")]


@SQLITE_ONLY
def test_bidder_sees_the_bid_it_has_not_sent(app: Flask, demo: dict[str, int]) -> None:
    from app.accounts.models import User
    from app.extensions import db
    from app.tendering import services_bids
    from app.tendering.models import Tender

    org = org_of(app, "bidder")
    client = signed_in(app, "bidder-home", "bidder", org)
    assert "bidder-unsent" not in page(client).links
    with app.app_context():
        actor = db.session.scalar(select(User).where(User.username == "bidder-home"))
        tender = db.session.get(Tender, demo[TITLE_BIDDING])
        services_bids.start_upload(actor=actor, tender=tender, envelope="bid", size=1000)
        db.session.commit()
    sections = page(client)
    assert sections.links["bidder-unsent"] == [(TITLE_BIDDING, f"/tenders/{demo[TITLE_BIDDING]}/bid")]
    assert sections.times["bidder-unsent"] == 1
    # a bidder that already bid on it (bidder2's organisation) has nothing unsent
    other = signed_in(app, "bidder2-home", "bidder", org_of(app, "bidder2"))
    assert "bidder-unsent" not in page(other).links


def test_expert_sees_invitation_then_declaration(app: Flask, demo: dict[str, int]) -> None:
    from app.accounts.models import User
    from app.evaluation.committee import services as services_committee
    from app.evaluation.models import ExpertProfile
    from app.evaluation.pool import services as services_pool
    from app.extensions import db
    from app.tendering.models import Tender

    ids = [make_user(app, f"ex-home{i}", ["expert"])[0] for i in range(5)]
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        agency = db.session.scalar(select(User).where(User.username == "agency"))
        for profile in db.session.scalars(select(ExpertProfile)):  # the demo's experts are busy elsewhere
            services_pool.set_availability(actor=profile.user, available=False)
        for uid in ids:
            services_pool.create_expert(actor=admin, data={"user_id": uid, "specialties": ["civil"]})
        tender = db.session.get(Tender, demo[TITLE_OPENED])
        body = {"size": 5, "expert_seats": 5, "groups": [], "reserves_per_group": 0, "buyer_rep_ids": []}
        services_committee.define_committee(actor=agency, tender=tender, data=body)
        draw = services_committee.commit_draw(actor=agency, tender=tender)
        services_committee.perform_draw(actor=agency, tender=tender, round_no=draw.round)
        db.session.commit()
    client = app.test_client()
    assert login(client, "ex-home0").status_code == 303
    sections = page(client)
    assert sections.links["expert-invitations"] == [(TITLE_OPENED, "/evaluation/")]
    assert "expert-declarations" not in sections.links
    with app.app_context():
        user = db.session.get(User, ids[0])
        services_committee.respond(actor=user, tender=db.session.get(Tender, demo[TITLE_OPENED]), accept=True)
        db.session.commit()
    sections = page(client)
    assert "expert-invitations" not in sections.links
    tid = demo[TITLE_OPENED]
    assert sections.links["expert-declarations"] == [(TITLE_OPENED, f"/evaluation/tenders/{tid}/declaration")]


@SQLITE_ONLY
def test_custodian_sees_the_share_to_bring(app: Flask, demo: dict[str, int], clock: Any) -> None:
    from app.accounts.models import User
    from app.extensions import db
    from app.tendering import services_tenders
    from app.tendering.models import Tender

    custodian_id, secret = make_user(app, "keeper", ["supervisor"], totp=True)
    client = app.test_client()
    assert login(client, "keeper", totp_secret=secret).status_code == 303
    assert "custodian-shares" not in page(client).links
    with app.app_context():
        agency = db.session.scalar(select(User).where(User.username == "agency"))
        source = db.session.get(Tender, demo[TITLE_OPENED])
        assert source is not None
        at = clock.now() + timedelta(days=21)
        tender = services_tenders.create_tender(
            actor=agency,
            data={
                "title": "委员会保管的示范项目",
                "buyer_id": source.buyer_id,
                "category": "construction",
                "submission_deadline_at": at,
                "opening_at": at,
                "custody_mode": "committee",
                "custodian_ids": [custodian_id],
                "custody_threshold": 2,
            },
        )
        db.session.commit()
        import io

        services_tenders.add_document(
            actor=agency,
            tender=tender,
            name="招标文件.pdf",
            stream=io.BytesIO(b"%PDF-1.4"),
            length=8,
            content_type="application/pdf",
        )
        db.session.commit()
        services_tenders.publish_tender(actor=agency, tender=tender)
        db.session.commit()
        tid = tender.id
    assert page(client).links["custodian-shares"] == [("委员会保管的示范项目", f"/tenders/{tid}/custody")]


@SQLITE_ONLY
def test_admin_sees_accounts_without_two_step_verification(app: Flask, demo: dict[str, int]) -> None:
    client = signed_in(app, "root-home", "admin")
    listed = page(client).links["admin-totp"]
    names = {text for text, _href in listed}
    assert any("(Tendering agency / buyer)" in name for name in names)
    assert all(href.startswith("/admin/users/") for _text, href in listed)


@SQLITE_ONLY
def test_auditor_has_nothing_to_act_on_in_the_demo(app: Flask, demo: dict[str, int]) -> None:
    client = signed_in(app, "auditor-home", "auditor")
    resp = client.get("/", headers={"Accept-Language": "en"})
    assert "Nothing needs your action now." in resp.get_data(as_text=True)
    sections = Sections(resp.get_data(as_text=True))
    assert set(sections.links) == {"open-for-bids", "opening-today", "recent-results"}


# Wording only: the same home pages are queried on PostgreSQL by the tests above.
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_home_in_chinese_has_no_english_words(app: Flask, demo: dict[str, int]) -> None:
    from tests.evaluation.test_zh_pages import english_words, user_data, visible_text

    clients = [app.test_client(), signed_in(app, "agent-zh", "agency", org_of(app, "agency"))]
    clients.append(signed_in(app, "root-zh", "admin"))
    data = user_data(app)
    for client in clients:
        resp = client.get("/", headers={"Accept-Language": "zh-CN"})
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert "正在投标" in html and "今日开标" in html and "最新结果" in html
        assert english_words(visible_text(html), data) == set()
