"""Every 政民互动 page passes axe-core and fits a phone, in Chinese: the citizen's form and tracking page, the
operator's console and call-back list, the department's inbox, the dispatcher's view and the request page of each
role (headless Chromium on a live server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import PASSWORD, make_user
from tests.browser.conftest import ARGS, CHROMIUM, require_chromium, serve
from tests.browser.test_axe_all_pages import NARROW, WIDE, axe, overflow
from tests.browser.test_design import assets  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def _seed(app: Any) -> dict[str, str]:
    """The cast and four requests: new, dispatched to the handler's department, replied, closed."""
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Channel
    from app.extensions import db
    from app.permits.calendar import services as calendar
    from app.permits.cases.processing_models import DepartmentStaff
    from app.permits.catalogue.models import Department

    ids = {
        name: make_user(app, name, [role])[0]
        for name, role in (
            ("operator", "hotline_operator"),
            ("handler", "department_handler"),
            ("dispatcher", "dispatcher"),
        )
    }
    refs: dict[str, str] = {}
    with app.app_context():
        from app.accounts.models import User

        calendar.seed(2026, 2026)
        env = Department(code="ENV", name="市生态环境局", name_en="Ecology and Environment Bureau")
        db.session.add(env)
        db.session.flush()
        db.session.add(DepartmentStaff(department_id=env.id, user_id=ids["handler"]))
        handler, dispatcher = db.session.get(User, ids["handler"]), db.session.get(User, ids["dispatcher"])

        def new(body: str) -> Any:
            return services.submit(
                channel=Channel.WEB,
                kind="complaint",
                category="environment",
                body=body,
                phone="13800138000",
                name="张三",
            ).request

        refs["new"] = new("新诉求").reference
        for name in ("dispatched", "replied", "closed"):
            r = new(f"诉求{name}")
            services.dispatch(actor=dispatcher, reference=r.reference, department="ENV")
            if name != "dispatched":
                services.reply(actor=handler, reference=r.reference, text="已处理完毕。")
            if name == "closed":
                services.close(actor=dispatcher, reference=r.reference)
                refs["token"] = r.tracking_token
            refs[name] = r.reference
        db.session.commit()
    return refs


@pytest.mark.timeout(300)
def test_interaction_pages_pass_axe_and_fit_a_phone(tmp_path: Path, assets: None) -> None:  # noqa: F811
    require_chromium()
    from playwright.sync_api import sync_playwright

    with serve(tmp_path) as server:
        refs = _seed(server.app)
        base = server.url
        pages = {
            None: [
                "/convenience/interaction/new",
                "/convenience/interaction/track",
                f"/convenience/interaction/track/{refs['closed']}/{refs['token']}",
            ],
            "operator": [
                "/convenience/interaction/hotline",
                "/convenience/interaction/callbacks",
                f"/convenience/interaction/requests/{refs['closed']}",
            ],
            "handler": ["/convenience/interaction/inbox", f"/convenience/interaction/requests/{refs['dispatched']}"],
            "dispatcher": [
                "/convenience/interaction/dispatch",
                f"/convenience/interaction/requests/{refs['new']}",
                f"/convenience/interaction/requests/{refs['replied']}",
            ],
        }
        problems: list[str] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for who, paths in pages.items():
                    # bypass_csp: axe is injected as a script the page's policy would (rightly) refuse.
                    context = browser.new_context(
                        locale="zh-CN", bypass_csp=True, extra_http_headers={"Accept-Language": "zh-CN"}
                    )
                    page = context.new_page()
                    if who is not None:
                        page.goto(f"{base}/login?next=/")
                        page.fill("#username", who)
                        page.fill("#password", PASSWORD)
                        page.click("#submit")
                        page.wait_for_url(f"{base}/")
                    for path in paths:
                        for width in (WIDE, NARROW):
                            page.set_viewport_size({"width": width, "height": 900})
                            resp = page.goto(f"{base}{path}")
                            assert resp is not None and resp.status == 200, (path, resp and resp.status)
                            problems += [f"{who} {path} @{width}: {v}" for v in axe(page)]
                            if width == NARROW and (wide := overflow(page)):
                                problems.append(f"{who} {path}: {wide}")
                    context.close()
            finally:
                browser.close()
        assert problems == []
