"""The platform's pages in a real browser (Debian's Chromium): with the demo data, each page of the citizen, the
provider and the center passes axe-core (WCAG 2.1 A/AA and best practice: no serious or critical violation) in
zh-CN at 1280 px and at 375 px, and does not scroll sideways on a phone; a form sent empty shows its errors
accessibly too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, require_chromium, serve, submit_login
from tests.browser.test_axe_all_pages import NARROW, WIDE, axe, overflow
from tests.browser.test_design import assets  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
BASE = "/convenience/household"


def _seed(app: Any) -> dict[str, list[str]]:
    from sqlalchemy import select

    from app.convenience.household.demo import seed_demo_household
    from app.convenience.household.models import Order, Provider
    from app.extensions import db
    from tests.factories import user as make_user

    make_user(app, "household_provider", roles=["household_provider"])
    make_user(app, "household_admin", roles=["household_admin"])
    with app.app_context():
        seed_demo_household()
        db.session.commit()
        orders = list(db.session.scalars(select(Order)))
        mine = [o.reference for o in orders if o.provider is not None and o.provider.account_id is not None]
        first_provider = db.session.scalar(select(Provider.id).order_by(Provider.id))
        return {
            "anonymous": [f"{BASE}/request", *[f"{BASE}/track/{o.reference}/{o.token}" for o in orders[:3]]],
            "household_provider": [f"{BASE}/portal", *[f"{BASE}/portal/{r}" for r in mine]],
            "household_admin": [
                f"{BASE}/admin/orders",
                f"{BASE}/admin/providers",
                f"{BASE}/admin/providers/new",
                f"{BASE}/admin/providers/{first_provider}",
                *[f"{BASE}/admin/orders/{o.reference}" for o in orders],
            ],
        }


@pytest.mark.usefixtures("assets")
def test_the_platforms_pages_pass_axe_and_fit_a_phone(tmp_path: Path) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    failures: list[str] = []
    with serve(tmp_path) as server, sync_playwright() as pw:
        pages = _seed(server.app)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for role, paths in pages.items():
                context = browser.new_context(locale="zh-CN", viewport={"width": WIDE, "height": 900}, bypass_csp=True)
                page = context.new_page()
                if role != "anonymous":
                    submit_login(page, server.url, role, "/")
                    page.wait_for_url(f"{server.url}/")
                checked = list(paths)
                if role == "anonymous":  # the request form sent empty: the error summary and messages
                    page.goto(f"{server.url}{BASE}/request")
                    page.click("#submit")
                    page.wait_for_selector(".govuk-error-summary")
                    failures += [f"{role} request (errors) {v}" for v in axe(page)]
                for path in checked:
                    for width, height in ((WIDE, 900), (NARROW, 800)):
                        page.set_viewport_size({"width": width, "height": height})
                        resp = page.goto(f"{server.url}{path}")
                        assert resp is not None and resp.status == 200, (role, path)
                        failures += [f"{role} {path} @{width} {v}" for v in axe(page)]
                        if width == NARROW and (wide := overflow(page)):
                            failures.append(f"{role} {path}: {wide}")
                context.close()
        finally:
            browser.close()
    assert failures == [], "\n".join(failures)
