"""Every page a role can reach passes axe-core and fits a phone: a crawler, so that new pages are covered too.

For each role (anonymous, bidder, agency, expert, custodian, auditor, admin) the test signs in on a platform with
data at every stage (tests/browser/scenes.py), starts from the home page and follows every same-site GET link it
finds (downloads, exports, media, logout and links with a query string are skipped; at most PER_SHAPE pages of one
URL shape, e.g. /tenders/<n>, PER_FOLDER of one folder below the top and MAX_PAGES per role). Each page is checked
in zh-CN at 1280 and at 375 px: no serious or critical axe-core violation (WCAG 2.1 A/AA and best practice), no
server error, and at 375 px the page does not scroll sideways. One browser serves every role; the failures are
listed together, page + rule + target. A page whose main content an earlier role already had checked is crawled
for its links but not checked again (the public pages, the problem pages).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, LiveServer, chinese_browser_env, require_chromium, serve
from tests.browser.scenes import ROLES, Scene, build_scene, sign_in
from tests.browser.test_design import AXE, BLOCKING, assets  # noqa: F401  (the fixture)
from tests.tendering.conftest import TENDERING_CONFIG

pytestmark = pytest.mark.browser

MAX_PAGES = 40
# A role whose other pages another role already covers: only its seeds (the invitee: an expert's pages but for
# the pending invitation on /evaluation/).
ROLE_MAX_PAGES = {"invitee": 4, "applicant": 12, "clerk": 16, "window": 12, "supervisor": 12}
PER_SHAPE = 2  # pages of one shape (/tenders/<n>)
PER_FOLDER = 3  # pages of one folder (/problems/<name>: one page per problem type)
WIDE, NARROW = 1280, 375
SKIP_PATH = re.compile(
    r"(^/(logout|login|api|static|healthz)\b)|(\.(pdf|json|m3u8|mp4|ts|txt|csv|zip|age|tar)$)"
    r"|/(media|exports?|download|documents|files|share|playlist)(/|$)"
)
AXE_RUN = (
    "async () => { const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
    "'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']}); "
    "return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
    ".map(v => ({id: v.id, impact: v.impact, targets: v.nodes.slice(0, 4).map(n => n.target.join(' '))})); }"
)
LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
# The page's own content, without its form tokens: a page another role already saw the same is not checked again.
CONTENT = (
    "() => { const m = document.querySelector('main') || document.body; const c = m.cloneNode(true); "
    "c.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove()); return c.innerHTML; }"
)


def shape(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/<n>", re.sub(r"/[0-9a-f]{16,}(?=/|$)", "/<id>", path))


def wanted(url: str, origin: str) -> str | None:
    """The path to visit for a link, or None when the crawler leaves it alone."""
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin or parts.query or SKIP_PATH.search(parts.path):
        return None
    return parts.path or "/"


def axe(page: Any) -> list[str]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return [f"{v['id']} ({v['impact']}) {v['targets']}" for v in page.evaluate(AXE_RUN)]


def overflow(page: Any) -> str | None:
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= NARROW + 1:
        return None
    culprits = page.evaluate(
        "() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > "
        f"{NARROW + 1} && getComputedStyle(e).position !== 'fixed').slice(0, 3).map(e => e.tagName.toLowerCase() + "
        "(e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + "
        "e.className.trim().split(/\\s+/).join('.') : ''))"
    )
    return f"{width}px wide at {NARROW}px: {culprits}"


def seeds(scene: Scene, role: str) -> list[str]:
    """Where the crawl starts: the home page, then the pages of the scene's later stages (the listings show the
    newest first, and PER_SHAPE would otherwise stop the crawler before it reaches the opened tender)."""
    opened = scene.opened_tid
    evaluation = f"/agency/tenders/{opened}/evaluation"
    extra = {
        "agency": [
            f"/agency/tenders/{opened}",
            f"/agency/tenders/{scene.open_tid}",
            f"/agency/tenders/{scene.draft_tid}/publish",
            f"{evaluation}/report",
            f"{evaluation}/award",
        ],
        "expert": [f"/evaluation/tenders/{opened}/declaration", f"/evaluation/tenders/{opened}/report"],
        "invitee": ["/evaluation/"],  # the pending invitation, with its confirm and decline buttons
        "custodian": [f"/tenders/{scene.custody_tid}/custody"],
        "auditor": [f"/recordings/sessions/{scene.session_id}"],
        # PER_FOLDER would stop the admin at the first three of its /admin/ pages
        "admin": ["/admin/experts", "/admin/specialties", "/admin/calendar", "/admin/catalogue"],
        "anonymous": [
            "/receipts/verify",
            "/permits/",
            "/convenience/",
            *scene.floor_pages,
            "/portal/",
            f"/portal/tenders/{opened}",
            f"/portal/tenders/{scene.open_tid}",
        ],
        "applicant": ["/permits/my-applications"],
        "clerk": ["/permits/desk"],
        "window": ["/convenience/windows"],
        "supervisor": [
            "/supervision/",
            "/supervision/signals",
            f"/supervision/signals/{scene.signal_id}",
            f"/supervision/people/{scene.person_id}",
            f"/supervision/cases/permits/{scene.case_id}",
        ],
    }
    return ["/", f"/tenders/{opened}", f"/tenders/{opened}/opening", *extra.get(role, [])]


def crawl(browser: Any, base: str, scene: Scene, role: str, problems: list[str], checked: set[str]) -> list[str]:
    """Visit the role's pages; append what fails to `problems`; return the paths visited.

    `checked` holds the main contents already checked (for any role): such a page is crawled for its links, but
    axe runs again only on its home page (the shell of the role: header, navigation)."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": WIDE, "height": 900}, bypass_csp=True, device_scale_factor=1
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    try:
        sign_in(page, base, scene, role)
        queue, shapes, visited = seeds(scene, role), dict[str, int](), list[str]()
        seeded = set(queue)  # the seeds are visited whatever their shape, and do not count towards it
        seen = set(seeded)
        while queue and len(visited) < ROLE_MAX_PAGES.get(role, MAX_PAGES):
            path = queue.pop(0)
            key = shape(path)
            bare = key.rstrip("/")  # "/audit/" is a top-level page like "/custody", not a page of the folder "/"
            folder = bare.rsplit("/", 1)[0] + "/*" if bare.count("/") > 1 else key
            if path not in seeded:
                if shapes.get(key, 0) >= PER_SHAPE or shapes.get(folder, 0) >= PER_FOLDER:
                    continue
                shapes[key] = shapes.get(key, 0) + 1
                shapes[folder] = shapes.get(folder, 0) + 1
            page.set_viewport_size({"width": WIDE, "height": 900})
            try:
                response = page.goto(base + path, wait_until="load")
            except Exception as exc:  # a download, or a stream that never ends loading
                if "Download is starting" not in str(exc):
                    problems.append(f"[{role}] {path}: {exc}")
                continue
            if response is None or "text/html" not in (response.headers.get("content-type") or ""):
                continue
            if urlsplit(page.url).path != path and wanted(page.url, base) in seen:
                continue  # redirected to a page already checked
            visited.append(path)
            if response.status >= 500:
                problems.append(f"[{role}] {path}: HTTP {response.status}")
            for link in page.evaluate(LINKS):
                target = wanted(link, base)
                if target is not None and target not in seen:
                    seen.add(target)
                    queue.append(target)
            content = page.evaluate(CONTENT)
            if content in checked and path != "/":
                continue
            checked.add(content)
            for issue in axe(page):
                problems.append(f"[{role}] {path} @{WIDE}: {issue}")
            page.set_viewport_size({"width": NARROW, "height": 800})
            page.wait_for_timeout(50)
            for issue in axe(page):
                problems.append(f"[{role}] {path} @{NARROW}: {issue}")
            wide = overflow(page)
            if wide:
                problems.append(f"[{role}] {path}: {wide}")
        return visited
    finally:
        context.close()


@pytest.fixture
def scene_server(tmp_path: Path, clock: Any, assets: None) -> Iterator[tuple[LiveServer, Scene]]:  # noqa: F811
    with serve(tmp_path, **TENDERING_CONFIG, EVALUATION_SSE_MAX_SECONDS=2) as server:
        started = time.monotonic()
        scene = build_scene(server.app, clock)
        print(f"\nscene built in {time.monotonic() - started:.0f}s")
        yield server, scene


@pytest.mark.timeout(600)  # about 2 minutes on an idle machine; a loaded one (parallel suites) may need more
def test_every_reachable_page_passes_axe_and_fits_a_phone(scene_server: tuple[LiveServer, Scene]) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    server, scene = scene_server
    problems: list[str] = []
    checked: set[str] = set()
    covered: dict[str, list[str]] = {}
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=chinese_browser_env())
        try:
            for role in ROLES:
                covered[role] = crawl(browser, server.url, scene, role, problems, checked)
        finally:
            browser.close()
    took = time.monotonic() - started
    report = "\n".join(f"{role}: {len(paths)} pages {paths}" for role, paths in covered.items())
    print(f"\ncrawled in {took:.0f}s\n{report}")
    assert all(covered[role] for role in ROLES), report
    # the pages every stage of the scene must reach (a crawler that stops early covers nothing)
    for role, path in [
        ("bidder", f"/tenders/{scene.open_tid}/bid"),
        ("agency", f"/agency/tenders/{scene.opened_tid}"),
        ("agency", f"/agency/tenders/{scene.open_tid}/clarify"),
        ("expert", f"/evaluation/tenders/{scene.opened_tid}/rooms/1"),
        ("custodian", f"/tenders/{scene.custody_tid}/custody"),
        ("auditor", "/audit/"),
        ("auditor", f"/recordings/sessions/{scene.session_id}"),
        ("agency", f"/agency/tenders/{scene.draft_tid}/publish"),
        ("invitee", "/evaluation/"),
        ("supervisor", "/supervision/"),
        ("supervisor", f"/supervision/signals/{scene.signal_id}"),
        ("supervisor", f"/supervision/people/{scene.person_id}"),
        ("supervisor", f"/supervision/cases/permits/{scene.case_id}"),
        ("anonymous", "/portal/"),
        ("anonymous", f"/portal/tenders/{scene.opened_tid}"),
    ]:
        assert any(shape(p) == shape(path) for p in covered[role]), f"{role} never reached {path}\n{report}"
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems) + f"\n\n{report}"
