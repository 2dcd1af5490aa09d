"""§3 end to end in pages, in one headless Chromium with one browser context per person, under the CSP.

Set up through the helpers (what precedes the opening): a published tender with two sealed bids, opened by the
sweep on the fake clock, and an expert pool. From there on everything is done in pages:
the agency opens the evaluation hub, defines a committee of five experts, commits and performs the draw; the five
experts each confirm their seat and sign the no-conflict declaration; the agency opens the room with the chair
left to an election; each expert enters the room, votes for the chair and submits the compliance review; the
elected chair closes the review; each expert scores both bids (submits the sheets); the chair aggregates and draws
up the report (plain form); every member signs it, re-entering the password; the agency starts the publicity; a
bidder files an objection from the tender page; the agency answers it; the publicity ends (fake clock + sweep);
the agency awards; an auditor opens the evidence-log explorer, finds the award's entry and the page verifies its
inclusion proof. No page may report a CSP violation or a script error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import PASSWORD, make_user, next_totp
from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    LiveServer,
    csp_violations,
    require_chromium,
    serve,
    submit_login,
    watch_csp,
)
from tests.browser.test_axe_all_pages import axe, overflow
from tests.evaluation.helpers import build_pool, opened_tender
from tests.evaluation.test_pages import COMM, TECH
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world, run_task

pytestmark = pytest.mark.browser

SCORES = {0: ("40", "12"), 1: ("30", "12")}  # (technical, commercial) by bid, the same from every member
BUDGET_SECONDS = 180


@pytest.fixture
def flow_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    with serve(tmp_path, **TENDERING_CONFIG, EVALUATION_SSE_MAX_SECONDS=5) as server:
        yield server


class Person:
    """One person: a browser context of their own, its page, the CSP violations and script errors it met."""

    def __init__(self, browser: Any, base: str, name: str) -> None:
        self.name = name
        self.base = base
        self.context = browser.new_context(locale="en-US")
        self.csp = watch_csp(self.context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", self._accept)

    def _accept(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def goto(self, path: str) -> None:
        self.check()
        self.page.goto(f"{self.base}{path}")

    def sign_in(self, username: str, path: str, secret: str | None = None) -> None:
        submit_login(self.page, self.base, username, path)
        if secret is not None:
            self.page.wait_for_url(f"{self.base}/login/totp")
            self.page.fill("#code", next_totp(secret))
            self.page.click("#submit")
        self.page.wait_for_url(f"{self.base}{path}")

    def check(self) -> None:
        """No CSP violation on the page shown (nor any reported before), no script error."""
        here = csp_violations(self.page) if self.page.url.startswith(self.base) else []
        assert here == [] and self.csp == [] and self.errors == [], (self.name, here, self.csp, self.errors)


def seats_of(app: Any, tid: int) -> dict[int, str]:
    """The drawn seats and the username of who holds each (who was drawn is random: read, not decided, here)."""
    from sqlalchemy import select

    from app.evaluation.models import Committee, CommitteeMember
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(
            select(CommitteeMember)
            .join(Committee, Committee.id == CommitteeMember.committee_id)
            .where(Committee.tender_id == tid, CommitteeMember.seat.is_not(None))
        )
        out = {m.seat: m.user.username for m in rows}
        db.session.remove()
        return out


def test_tendering_flow_from_the_committee_to_the_verified_award(flow_server: LiveServer, clock: Any) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    from app.audit.tasks import checkpoint_sweep
    from app.evaluation.tasks import publicity_due

    started = time.monotonic()
    app = flow_server.app
    world = build_world(app, bidders=2)
    tid = opened_tender(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)["id"]
    build_pool(world, plain=8)
    _uid, agency_secret = make_user(app, "agentflow", ["agency"], totp=True, organisation_id=world.agency.org_id)
    _uid, audit_secret = make_user(app, "auditflow", ["auditor"], totp=True)
    assert agency_secret is not None and audit_secret is not None
    base = flow_server.url
    hub = f"/agency/tenders/{tid}/evaluation"
    room = f"/evaluation/tenders/{tid}/rooms/1"
    report = f"/evaluation/tenders/{tid}/report"
    timings: dict[str, float] = {"setup": time.monotonic() - started}

    def lap(name: str) -> None:
        timings[name] = time.monotonic() - started - sum(timings.values())

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        people: list[Person] = []
        try:
            # --- the agency: hub → committee → draw ---------------------------------------------------------
            agency = Person(browser, base, "agency")
            people.append(agency)
            agency.sign_in("agentflow", f"/agency/tenders/{tid}", agency_secret)
            a = agency.page
            a.click("#evaluation-link")
            a.wait_for_url(f"{base}{hub}")
            a.click(f"#step-committee a[href='{hub}/committee']")
            a.wait_for_selector("#committee-form")
            a.fill("#size", "5")
            a.fill("#expert_seats", "5")  # five experts drawn from the pool, no buyer representative
            a.select_option("#groups-0-specialty", value="civil")
            a.fill("#groups-0-count", "2")
            a.click("#save-committee")
            a.wait_for_url(f"{base}{hub}")
            a.click("#step-draw a")
            a.click("#commit-draw")
            a.wait_for_selector("#commitment-1")
            a.click("#perform-draw")
            a.wait_for_selector("#seed-1")
            assert "matches the commitment" in a.locator("#check-1").inner_text()
            expect(a.locator("#seats tr[data-seat]")).to_have_count(5)
            agency.check()
            lap("committee and draw")

            # --- five experts: confirm the seat, sign the declaration ----------------------------------------
            seats = seats_of(app, tid)
            assert sorted(seats) == [1, 2, 3, 4, 5]
            experts: dict[int, Person] = {}
            for seat, username in sorted(seats.items()):
                person = Person(browser, base, f"seat {seat}")
                people.append(person)
                experts[seat] = person
                person.sign_in(username, "/evaluation/")
                p = person.page
                p.click(f"#tender-{tid} button[data-action=confirm]")
                p.wait_for_url(f"{base}/evaluation/tenders/{tid}/declaration")
                expect(p.locator("#bidders tbody tr")).to_have_count(2)
                p.check("#agree")
                p.click("#sign-declaration")
                p.wait_for_url(f"{base}/evaluation/")
                expect(p.locator(f"#tender-{tid} [data-status]")).to_have_attribute("data-status", "confirmed")
                person.check()
            lap("confirm and declare")

            # --- the agency opens the room; the members elect the chair --------------------------------------
            agency.goto(hub)
            a.click("#hub-step-rooms a")
            a.wait_for_url(f"{base}{hub}/rooms")
            a.select_option("#s1-chair_seat", value="")  # the members elect the chair
            a.click("#open-room-1 [type=submit]")
            expect(a.locator("#stage-1 [data-phase]").first).to_have_attribute("data-phase", "review")
            agency.check()

            for seat, person in experts.items():
                p = person.page
                person.goto("/evaluation/")
                p.click(f"#tender-{tid} a[href='{room}']")
                p.wait_for_url(f"{base}{room}")
                election = p.locator("#chair-election")
                if seat <= 3:  # three votes of five elect seat 1; the last two find the election decided
                    expect(election).to_have_attribute("data-status", "open")
                    p.check("#chair-election input[name=seat][value='1']")
                    p.click("#chair-election button[type=submit]")
                    p.wait_for_url(f"{base}{room}#chair-election")
                expect(election).to_have_attribute("data-status", "elected" if seat >= 3 else "open")
                # the compliance review: every bid passes every requirement
                review = p.locator("#review")
                for row in review.locator("tr[data-verdict]").all():
                    row.locator("input[value=pass]").check()
                expect(review.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=15_000)
                review.locator("[data-submit-review]").click()
                expect(review.locator("[data-save-state]")).to_have_attribute("data-state", "submitted", timeout=15_000)
                person.check()
            chair = experts[1]
            c = chair.page
            chair.goto(room)
            expect(c.locator("#chair-election")).to_have_attribute("data-status", "elected")
            expect(c.locator("#my-seat")).to_contain_text("chair of the committee")
            c.locator('[data-chair-step="close-review"]').click()
            expect(c.locator("#phase")).to_have_attribute("data-phase", "scoring", timeout=15_000)
            lap("room: election and review")

            # --- every member scores both bids ---------------------------------------------------------------
            for person in experts.values():
                p = person.page
                person.goto(room)
                sheets = p.locator("[data-sheet]")
                expect(sheets).to_have_count(2)
                for i in range(2):
                    sheet = sheets.nth(i)
                    tech, comm = SCORES[i]
                    sheet.locator(f'input[data-criterion="{TECH}"]').fill(tech)
                    sheet.locator(f'input[data-criterion="{COMM}"]').fill(comm)
                    expect(sheet.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=15_000)
                    sheet.locator("[data-submit-sheet]").click()
                    expect(sheet).to_have_attribute("data-status", "submitted", timeout=15_000)
                person.check()
            lap("scoring")

            # --- the chair aggregates (a plain form) and draws up the report (a plain form) ------------
            chair.goto(room)
            c.locator('[data-chair-step="aggregate"]').click()
            expect(c.locator("#phase")).to_have_attribute("data-phase", "finished", timeout=15_000)
            expect(c.locator("#result tbody tr")).to_have_count(2)
            c.fill("#recommended", "2")
            c.click("#draw-up-report")
            c.wait_for_url(f"{base}{report}")
            assert any("cannot be changed afterwards" in d for d in chair.dialogs)
            expect(c.locator("#report-status")).to_have_attribute("data-status", "signing")
            sha = c.locator("#report-sha256").inner_text().strip()
            assert len(sha) == 64
            chair.check()

            # --- every member signs, re-entering the password --------------------------------------------------
            for person in experts.values():
                p = person.page
                person.goto("/evaluation/")  # my evaluations lead to the report once it is drawn up
                p.click(f"#report-link-{tid}")
                p.wait_for_url(f"{base}{report}")
                expect(p.locator("#report-sha256")).to_have_text(sha)
                p.fill("#password", PASSWORD)
                p.click("#sign-report")
                p.wait_for_url(f"{base}{report}")
                expect(p.locator("#signed")).to_be_visible()
                person.check()
            expect(p.locator("#report-status")).to_have_attribute("data-status", "final")
            lap("report drawn up and signed")

            # --- the agency starts the publicity --------------------------------------------------------------
            agency.goto(hub)
            expect(a.locator("#hub-step-report")).to_contain_text("Signed by every member")
            a.click("#hub-step-publicity a")
            a.wait_for_url(f"{base}{hub}/publicity")
            a.click("#publish-form [type=submit]")
            expect(a.locator("#publicity-window")).to_have_attribute("data-state", "open")
            agency.check()

            # --- a bidder objects, from the tender's page -----------------------------------------------------
            bidder = Person(browser, base, "bidder")
            people.append(bidder)
            bidder.sign_in("bidder2", f"/tenders/{tid}")
            b = bidder.page
            b.click("#objections-link")
            b.wait_for_url(f"{base}/tenders/{tid}/objections")
            expect(b.locator("#publicity-window")).to_have_attribute("data-state", "open")
            b.fill("#text", "第一名的技术方案得分明显偏高，请复核。")
            b.click("#objection-form [type=submit]")
            b.wait_for_url(f"{base}/tenders/{tid}/objections")
            objection = b.locator("section[id^=objection-]")
            expect(objection).to_have_attribute("data-status", "open")
            objection_id = (objection.get_attribute("id") or "").removeprefix("objection-")
            bidder.check()

            # --- the agency answers it -------------------------------------------------------------------------
            agency.goto(f"{hub}/publicity")
            expect(a.locator("#suspended")).to_be_visible()
            box = a.locator(f"#objection-{objection_id}")
            box.locator("textarea").fill("经复核，评分符合评标办法，维持评审结果。")
            box.locator("[type=submit]").click()
            expect(a.locator(f"#objection-{objection_id}")).to_have_attribute("data-status", "answered")
            agency.check()
            bidder.goto(f"/tenders/{tid}/objections")
            expect(b.locator(f"#objection-{objection_id}")).to_have_attribute("data-status", "answered")
            bidder.check()
            lap("publicity and objection")

            # --- the publicity ends (three days on the fake clock, the sweep), the agency awards -----------------
            clock.advance(timedelta(days=3, minutes=1))
            assert run_task(app, publicity_due)["publicity_ended"] == 1
            agency.context.clear_cookies()  # the session has expired meanwhile: sign in again
            agency.sign_in("agentflow", hub, agency_secret)
            expect(a.locator("#hub-step-award")).to_contain_text("Ready to award")
            a.click("#hub-step-award a")
            a.wait_for_url(f"{base}{hub}/award")
            a.check("#confirm")
            a.click("#award-form [type=submit]")
            expect(a.locator("#award-notice")).to_be_visible()
            expect(a.locator("#winner")).to_contain_text("投标人1建设有限公司")
            winner = a.locator("#award-notice").get_attribute("data-winner")
            assert winner
            assert any("closes the tender" in d for d in agency.dialogs)
            agency.check()
            lap("award")

            # --- an auditor finds the award's evidence entry and the page verifies its inclusion proof --------
            assert run_task(app, checkpoint_sweep) is not None
            auditor = Person(browser, base, "auditor")
            people.append(auditor)
            auditor.sign_in("auditflow", "/audit/", audit_secret)
            u = auditor.page
            u.select_option("#action", "evaluation.award.issued")
            u.fill("#subject", f"tender:{tid}")
            u.check("#subject_prefix")  # everything under the tender (the evaluation's entries are tender:<id>/…)
            u.get_by_role("button", name="Apply filters").click()
            u.wait_for_url(f"{base}/audit/?**")
            links = u.locator("table a[href^='/audit/entries/']")
            expect(links).to_have_count(1)
            links.first.click()
            u.wait_for_url(f"{base}/audit/entries/**")
            expect(u.locator("#browser-verdict")).to_have_attribute("data-state", "verified", timeout=10_000)
            assert u.locator("#server-verdict").get_attribute("data-ok") == "true"
            canonical = u.locator("#canonical").inner_text()
            assert '"evaluation.award.issued"' in canonical and winner in canonical
            lap("auditor")

            # --- the awarded tender's pages, which the crawler's data never reaches, in Chinese: axe and a phone ---
            # (a context of each person's session that lets axe in: the pages' own policy refuses injected scripts)
            problems: list[str] = []
            bidder.context.clear_cookies()  # the bidder's session expired with the publicity's three days
            bidder.sign_in("bidder2", f"/tenders/{tid}")
            for person, paths in (
                (agency, [hub, f"{hub}/rooms", f"{hub}/report", f"{hub}/publicity", f"{hub}/award"]),
                (bidder, [f"/tenders/{tid}", f"/tenders/{tid}/objections"]),
            ):
                session = person.context.storage_state()
                checker = browser.new_context(storage_state=session, locale="zh-CN", bypass_csp=True)
                page = checker.new_page()
                for width in (1280, 375):
                    page.set_viewport_size({"width": width, "height": 900})
                    for path in paths:
                        page.goto(f"{base}{path}")
                        assert page.url == f"{base}{path}", (path, page.url)  # still signed in, not redirected
                        problems += [f"{path} at {width}: {v}" for v in axe(page)]
                        wide = overflow(page) if width == 375 else None
                        problems += [f"{path}: {wide}"] if wide else []
                checker.close()
            assert problems == [], problems
            lap("awarded pages checked")

            for person in people:
                person.check()
        finally:
            browser.close()

    total = time.monotonic() - started
    print("tendering flow timings (s):", {k: round(v, 1) for k, v in timings.items()}, "total", round(total, 1))
    assert total < BUDGET_SECONDS, timings
