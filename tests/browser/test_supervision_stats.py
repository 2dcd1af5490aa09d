"""The supervision statistics in headless Chromium: under the real CSP the five charts render from the page's JSON
block (Chart.js, bundled by the asset build) with no CSP violation or script error; then, in Chinese at 1280 and
375 px, the statistics page and the live wall pass axe-core (no serious or critical violation) with no sideways
scroll. Data: the hand-computed fixture of tests/supervision/stats_fixtures.py, history stored by the nightly sweep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, LiveServer, csp_violations, require_chromium, watch_csp
from tests.browser.test_axe_all_pages import NARROW, WIDE, axe, overflow
from tests.browser.test_design import assets  # noqa: F401  (the fixture)
from tests.browser.test_supervision_flow import desk_server  # noqa: F401  (the fixture: catalogue and calendar)
from tests.factories import user
from tests.permits.cases.helpers import DESK_ROLE
from tests.supervision.stats_fixtures import NOW, seed
from tests.supervision.test_pages_axe import _sign_in as sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def server(desk_server: LiveServer, clock: Any, assets: None) -> Iterator[tuple[LiveServer, str | None]]:  # noqa: F811
    from app.extensions import db
    from app.supervision.stats import aggregate

    app = desk_server.app
    clerk, _ = user(app, "clerk", roles=[DESK_ROLE], totp=False)
    _w, secret = user(app, "watcher", roles=["supervisor"], display_name="监察李四")
    seed(app, clerk)
    clock.set(NOW)
    with app.app_context():
        aggregate.sweep_days()
        db.session.commit()
        db.session.remove()
    yield desk_server, secret


def _sign_in(page: Any, base: str, secret: str | None) -> None:
    sign_in(page, base, "watcher", secret)


CHART_STATE = """() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
  const ctx = c.getContext('2d');
  const data = ctx.getImageData(0, 0, c.width, c.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
  return {chart: c.dataset.chart, rendered: c.dataset.rendered === 'true', width: c.width, height: c.height, inked};
})"""


@pytest.mark.timeout(300)
def test_the_charts_render_under_the_csp_and_the_pages_pass_axe(server: tuple[LiveServer, str | None]) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    live, secret = server
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # 1. The real CSP: the charts draw, nothing is blocked, no script error.
            context = browser.new_context(locale="zh-CN", viewport={"width": WIDE, "height": 900})
            console = watch_csp(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, live.url, secret)
            for unit in ("day", "week", "month", "quarter", "year"):
                response = page.goto(f"{live.url}/supervision/statistics/?unit={unit}", wait_until="load")
                assert response is not None and response.status == 200
                page.wait_for_selector("html[data-charts-ready='true']", timeout=10_000)
                charts = page.evaluate(CHART_STATE)
                assert [c["chart"] for c in charts] == ["intake", "on_time", "time", "deemed", "ratings"]
                for c in charts:
                    assert c["rendered"] and c["width"] > 200 and c["height"] > 100, (unit, c)
                    assert c["inked"] > 500, (unit, c)  # axes, labels and bars drawn, not a blank canvas
            assert csp_violations(page) == [] and console == [] and errors == [], (
                csp_violations(page),
                console,
                errors,
            )
            context.close()
            # 2. axe-core (injected: the CSP bypassed for its script only) at both widths, statistics and wall.
            context = browser.new_context(locale="zh-CN", viewport={"width": WIDE, "height": 900}, bypass_csp=True)
            page = context.new_page()
            _sign_in(page, live.url, secret)
            for path in ("/supervision/statistics/", "/supervision/statistics/?unit=week", "/supervision/"):
                page.set_viewport_size({"width": WIDE, "height": 900})
                response = page.goto(live.url + path, wait_until="load")
                if response is None or response.status != 200:
                    problems.append(f"{path}: HTTP {response.status if response else None}")
                    continue
                problems.extend(f"{path} @{WIDE}: {issue}" for issue in axe(page))
                page.set_viewport_size({"width": NARROW, "height": 800})
                page.wait_for_timeout(100)
                problems.extend(f"{path} @{NARROW}: {issue}" for issue in axe(page))
                wide = overflow(page)
                if wide:
                    problems.append(f"{path}: {wide}")
            context.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
