"""The supervision follow-up's pages in headless Chromium, in Chinese at 1280 and 375 px: no serious or critical
axe-core violation, no sideways scroll on a phone, no server error, no English words left on the zh pages' main
content — the letters, a letter and its public verification page, the grading with its calculation, the leader's
page with the rota, escalations and authorisation gaps, the instructions and one instruction with its report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.permits.cases.models import ApplicationChannel
from tests.browser.conftest import ARGS, CHROMIUM, LiveServer, require_chromium, serve
from tests.browser.test_axe_all_pages import NARROW, WIDE, axe, overflow
from tests.browser.test_design import assets  # noqa: F401  (the fixture)
from tests.factories import PASSWORD, user
from tests.permits.calendar_helpers import YEAR_2027
from tests.permits.cases.helpers import DESK_ROLE, submit, who
from tests.tendering.helpers import run_task

pytestmark = pytest.mark.browser
PASSWORD_FIELD = "#password"


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour - 8, 0, tzinfo=UTC)


@pytest.fixture
def server(tmp_path: Path, clock: Any, seal_dir: Path, assets: None) -> Iterator[tuple[LiveServer, dict[str, Any]]]:  # noqa: F811
    clock.set(at(2))
    with serve(tmp_path, SEAL_DIR=str(seal_dir), PERMANENT_SESSION_LIFETIME=timedelta(days=30)) as live:
        app = live.app
        from app.core.storage import get_storage
        from app.extensions import db
        from app.permits.calendar import services as calendar
        from app.permits.catalogue import services
        from app.supervision import duty, grading, letters, tasks
        from app.supervision.models import DepartmentHead, Signal

        with app.app_context():
            get_storage().ensure_buckets()
            services.load_catalogue_file(services.DEMO_CATALOGUE, actor="system:test")
            calendar.seed(2026, 2026)
            calendar.load_year_file(YEAR_2027.encode(), actor="system:test")
            db.session.commit()
            db.session.remove()
        clerk, _ = user(app, "clerk", roles=[DESK_ROLE], totp=False, display_name="窗口王五")
        watcher, watcher_secret = user(app, "watcher", roles=["supervisor"], display_name="监察李四")
        leader, leader_secret = user(app, "leader", roles=["duty_leader"], totp=True, display_name="副市长赵六")
        head, _ = user(app, "head", roles=[DESK_ROLE], totp=False, display_name="部门负责人")
        with app.app_context():
            application = submit(who(clerk), channel=ApplicationChannel.DESK)
            db.session.add(DepartmentHead(user_id=head, department=application.item.department.name))
            db.session.commit()
            db.session.remove()
        clock.set(at(10, 10))
        while (run_task(app, tasks.ingest) or {}).get("read"):
            pass
        run_task(app, tasks.turn_lights_on)
        clock.set(at(18))
        run_task(app, tasks.escalate)
        from app.accounts.models import User

        with app.test_request_context():
            me, boss, chief = db.session.get(User, watcher), db.session.get(User, leader), db.session.get(User, head)
            signal = db.session.scalar(db.select(Signal))
            duty.set_duty(actor=me, day=date(2026, 3, 18), leader_id=leader, title="vice_mayor")
            letter = letters.issue_letter(
                actor=me,
                signal_id=signal.id,
                facts="逾期未作决定。",
                rules_broken="承诺时限制度。",
                recommendation="立即办结。",
                reply_due="2026-03-31",
            )
            row = duty.issue_instruction(
                actor=boss, department=signal.department, text="请尽快办结。", workdays="3", signal_id=signal.id
            )
            duty.report_instruction(actor=chief, instruction=row, text="已办结。")
            grading.compute_quarter(actor=me, year=2026, quarter=1)
            db.session.commit()
            ids = {"signal": signal.id, "letter": letter.id, "token": letter.token, "instruction": row.id}
            db.session.remove()
        yield live, {**ids, "watcher": watcher_secret, "leader": leader_secret}


def _sign_in(page: Any, base: str, username: str, secret: str | None) -> None:
    from tests.accounts.helpers import next_totp

    page.goto(f"{base}/login?next=/")
    page.fill("#username", username)
    page.fill(PASSWORD_FIELD, PASSWORD)
    page.click("#submit")
    if secret is not None:
        page.wait_for_url(f"{base}/login/totp")
        page.fill("#code", next_totp(secret))
        page.click("#submit")
    page.wait_for_url(f"{base}/")


# Words of four letters or more, but for the zone every time names (Asia/Shanghai) and the hash's name.
ENGLISH = re.compile(r"\b(?!SHA\b|PDF\b|Asia\b|Shanghai\b)[A-Za-z]{4,}\b")


@pytest.mark.timeout(300)
def test_the_follow_up_pages_pass_axe_in_chinese(server: tuple[LiveServer, dict[str, Any]]) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    live, ids = server
    pages = {
        "watcher": [
            "/supervision/letters",
            f"/supervision/letters/{ids['letter']}",
            "/supervision/grading?year=2026&quarter=1",
            f"/supervision/signals/{ids['signal']}",
            "/supervision/",
        ],
        "leader": ["/supervision/duty", "/supervision/instructions", f"/supervision/instructions/{ids['instruction']}"],
        None: [f"/supervision/letters/verify/{ids['token']}"],
    }
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for who_, paths in pages.items():
                context = browser.new_context(locale="zh-CN", viewport={"width": WIDE, "height": 900}, bypass_csp=True)
                page = context.new_page()
                if who_ is not None:
                    _sign_in(page, live.url, who_, ids[who_])
                for path in paths:
                    page.set_viewport_size({"width": WIDE, "height": 900})
                    response = page.goto(live.url + path, wait_until="load")
                    if response is None or response.status != 200:
                        problems.append(f"{path}: HTTP {response.status if response else None}")
                        continue
                    main = page.evaluate("() => (document.querySelector('main') || document.body).innerText")
                    english = [w for w in ENGLISH.findall(main) if not w.startswith("http")]
                    if english:
                        problems.append(f"{path}: English on the zh page {english[:5]}")
                    problems.extend(f"{path} @{WIDE}: {issue}" for issue in axe(page))
                    page.set_viewport_size({"width": NARROW, "height": 800})
                    page.wait_for_timeout(50)
                    problems.extend(f"{path} @{NARROW}: {issue}" for issue in axe(page))
                    wide = overflow(page)
                    if wide:
                        problems.append(f"{path}: {wide}")
                context.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
