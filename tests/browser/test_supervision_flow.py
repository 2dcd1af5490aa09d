"""Supervision end to end in pages, in headless Chromium under the CSP, on the fake clock.

A permits application waits at the desk (promised: 5 working days from Monday 2026-03-02). The worker's two tasks
(ingest the evidence log, sweep the lights) run between clock moves. The supervisor watches the live wall: the
department's tile is green, turns yellow on Friday (one working day left), red on Tuesday (overdue) — live: the
wall's script fetches its figures again (every second here, 30 s by default) and the page is never reloaded. The clerk
the signal names signs in, finds it on the home page and explains; the supervisor accepts; the signal page shows
each state. No page may report a CSP violation or a script error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, require_chromium, serve
from tests.browser.test_tendering_flow import Person
from tests.factories import user
from tests.permits.calendar_helpers import YEAR_2027
from tests.permits.cases.helpers import DESK_ROLE, submit, who
from tests.tendering.helpers import run_task

pytestmark = pytest.mark.browser

BUDGET_SECONDS = 60


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """March 2026, at `hour`:`minute` in Beijing."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def desk_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    """A live server with the demo catalogue and the working-day calendar (as tests/permits/cases `desk_app`)."""
    clock.set(at(2))
    # sessions outlive the fake clock's jumps of days (the wall stays open from Monday to Tuesday week)
    with serve(tmp_path, SUPERVISION_WALL_REFRESH_SECONDS=1, PERMANENT_SESSION_LIFETIME=timedelta(days=30)) as server:
        from app.core.storage import get_storage
        from app.extensions import db
        from app.permits.calendar import services as calendar
        from app.permits.catalogue import services

        with server.app.app_context():
            get_storage().ensure_buckets()
            services.load_catalogue_file(services.DEMO_CATALOGUE, actor="system:test")
            calendar.seed(2026, 2026)
            calendar.load_year_file(YEAR_2027.encode(), actor="system:test")
            db.session.commit()
            db.session.remove()
        yield server


def worker(app: Any) -> dict[str, int]:
    """What the beat does, each task run as the worker runs it: the ingest until the log is read, then the lights."""
    from app.supervision import tasks

    while (run_task(app, tasks.ingest) or {}).get("read"):
        pass
    result: dict[str, int] = run_task(app, tasks.turn_lights_on)
    return result


class Watcher(Person):
    """A person whose session may lapse while the clock jumps days ahead: signs in again when sent to sign in."""

    username = ""
    secret: str | None = None

    def visit(self, path: str) -> None:
        self.goto(path)
        if "/login" in self.page.url:
            self.sign_in(self.username, path, self.secret)


def tile_light(person: Watcher, department: str) -> str:
    person.visit("/supervision/")
    tile = person.page.locator(f"#wall-tiles li[data-department='{department}']")
    light = tile.get_attribute("data-light")
    person.check()
    return str(light)


def test_the_wall_turns_yellow_then_red_and_the_signal_is_explained_and_accepted(
    desk_server: LiveServer, clock: Any
) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    from app.extensions import db
    from app.permits.cases.models import ApplicationChannel

    started = time.monotonic()
    app = desk_server.app
    clerk, _ = user(app, "clerk", roles=[DESK_ROLE], totp=False, display_name="窗口王五")
    _id, secret = user(app, "watcher", roles=["supervisor"], display_name="监察李四")
    with app.app_context():
        application = submit(who(clerk), channel=ApplicationChannel.DESK)
        department = application.item.department.name
        db.session.commit()
        db.session.remove()
    assert worker(app)["signals"] == 0
    base = desk_server.url

    with sync_playwright() as pw:
        from tests.browser.conftest import ARGS, CHROMIUM

        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            sup = Watcher(browser, base, "supervisor")
            sup.username, sup.secret = "watcher", secret
            sup.sign_in("watcher", "/supervision/", secret)
            w = sup.page
            tile = w.locator(f"#wall-tiles li[data-department='{department}']")
            expect(tile).to_have_attribute("data-light", "green")
            expect(w.locator("[data-total=green]")).to_have_text("1")
            w.evaluate("window.__notReloaded = true")

            clock.set(at(6))  # Friday: one working day left → yellow, on the open wall
            assert worker(app)["yellow"] == 1
            expect(tile).to_have_attribute("data-light", "yellow", timeout=10_000)
            expect(tile.locator("[data-count=yellow]")).to_have_text("1")
            expect(w.locator("[data-total=red]")).to_have_text("0")

            clock.set(at(10, 0, 1))  # Tuesday 00:01: the desk's five working days are over → red
            assert worker(app)["red"] == 1
            expect(tile).to_have_attribute("data-light", "red", timeout=10_000)
            assert w.evaluate("window.__notReloaded === true")  # the figures came in place: no reload
            assert w.locator("#wall-stale").is_hidden()
            sup.check()
            tile = sup.page.locator(f"li[data-department='{department}']")
            expect(tile.locator("[data-count=red]")).to_have_text("1")
            expect(tile.locator("[data-count=signals]")).to_have_text("1")  # today's (Tuesday's) red

            # drill down: the red count → the list of red signals → the signal
            tile.locator("[data-count=red] a").click()
            sup.page.wait_for_url("**/supervision/signals?colour=red&department=*")
            sup.page.locator("main a[href*='/supervision/signals/']").first.click()
            sup.page.wait_for_url("**/supervision/signals/*")
            signal_path = sup.page.url[len(base) :]
            expect(sup.page.locator("h1")).to_have_text("Past the promised time")
            expect(sup.page.locator("main")).to_contain_text("Waiting for the explanation")
            expect(sup.page.locator("main")).to_contain_text("窗口王五")
            assert sup.page.locator("#review-form").count() == 0  # nothing to review yet
            sup.check()

            # the clerk the signal names: from the home page to the signal, explains
            clerk_p = Watcher(browser, base, "clerk")
            clerk_p.username = "clerk"
            clerk_p.sign_in("clerk", "/")
            c = clerk_p.page
            c.locator(f"a[href='{signal_path}']").first.click()
            c.wait_for_url(f"{base}{signal_path}")
            c.fill("#text", "申请人补正材料延误，已电话催办，今日办结。")
            c.click("#answer-form [type=submit]")
            c.wait_for_url(f"{base}{signal_path}")
            expect(c.locator("main")).to_contain_text("Explained: waiting for review")
            expect(c.locator("#answers [data-answer=explanation]")).to_contain_text("今日办结")
            assert c.locator("#answer-form").count() == 0  # one explanation waits: no second
            clerk_p.check()

            # the supervisor accepts
            sup.visit(signal_path)
            p = sup.page
            expect(p.locator("main")).to_contain_text("Explained: waiting for review")
            p.check("#review-form input[name=decision][value=accept]")
            p.click("#review-form [type=submit]")
            p.wait_for_url(f"{base}{signal_path}")
            expect(p.locator("main")).to_contain_text("Explanation accepted")
            expect(p.locator("#answers [data-answer]")).to_have_count(2)
            assert p.locator("#review-form").count() == 0
            sup.check()

            clerk_p.visit(signal_path)
            expect(clerk_p.page.locator("main")).to_contain_text("Explanation accepted")
            clerk_p.check()

            # the light stays red: the item is still overdue; the signal itself never changed
            assert tile_light(sup, department) == "red"
        finally:
            browser.close()
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS, elapsed
