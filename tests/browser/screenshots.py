"""`make screenshots`: the main pages of each role in zh-CN at 1280 and 375 px, into docs/screenshots/.

Run from the repository root: `python -m tests.browser.screenshots [--out DIR]`. The platform is a live server on
a temporary SQLite instance with the scene of tests/browser/scenes.py (an open tender with a sealed bid, an opened
tender whose committee scores in the room, a tender under committee custody) on a fake clock. Files are named
<role>-<page>-<width>.png; each is the whole page (full_page), cut at MAX_HEIGHT px, and the list of files written
is printed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from tests.browser.scenes import Scene

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (1280, 375)
MAX_HEIGHT = 3000  # a long page (the evidence log) is cut here: the top of a page is what a screenshot shows


def pages(scene: Scene) -> dict[str, list[tuple[str, str]]]:
    """role -> [(page name, path)]."""
    opened, open_ = scene.opened_tid, scene.open_tid
    return {
        "anonymous": [
            ("home", "/"),
            ("tenders", "/tenders"),
            ("tender", f"/tenders/{open_}"),
            ("receipt-verify", "/receipts/verify"),
        ],
        "bidder": [
            ("bids", "/bids"),
            ("bid", f"/tenders/{open_}/bid"),
            ("receipt", f"/tenders/{open_}/bid/receipts/1"),
        ],
        "agency": [
            ("tenders", "/agency/tenders"),
            ("tender", f"/agency/tenders/{opened}"),
            ("opening-record", f"/tenders/{opened}/opening"),
        ],
        "expert": [
            ("evaluations", "/evaluation/"),
            ("declaration", f"/evaluation/tenders/{opened}/declaration"),
            ("room", f"/evaluation/tenders/{opened}/rooms/1"),
        ],
        "custodian": [("duties", "/custody"), ("share", f"/tenders/{scene.custody_tid}/custody")],
        "auditor": [("evidence-log", "/audit/")],
        "admin": [("users", "/admin/users")],
    }


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from app.core import time as clock_mod
    from tests.accounts.helpers import compile_translations
    from tests.browser.conftest import ARGS, CHROMIUM, serve
    from tests.browser.scenes import build_scene, sign_in
    from tests.tendering.conftest import TENDERING_CONFIG

    compile_translations()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tmp = Path(tempfile.mkdtemp(prefix="screenshots-"))
    clock = clock_mod.FakeClock()
    previous = clock_mod.set_clock(clock)
    try:
        with serve(tmp, **TENDERING_CONFIG) as live:
            scene = build_scene(live.app, clock)
            with sync_playwright() as pw:
                # the browser's own words (a file input's button, a date input's placeholder) stay in English:
                # Debian's Chromium ships only the en-US locale
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    for role, shots in pages(scene).items():
                        context = browser.new_context(
                            locale="zh-CN", viewport={"width": WIDTHS[0], "height": 900}, device_scale_factor=1
                        )
                        page = context.new_page()
                        sign_in(page, live.url, scene, role)
                        for name, path in shots:
                            for width in WIDTHS:
                                page.set_viewport_size({"width": width, "height": 900 if width > 600 else 800})
                                page.goto(live.url + path, wait_until="load")
                                page.evaluate("document.fonts.ready")
                                target = out / f"{role}-{name}-{width}.png"
                                height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
                                page.screenshot(
                                    path=str(target),
                                    full_page=True,
                                    clip={"x": 0, "y": 0, "width": width, "height": height},
                                    animations="disabled",
                                )
                                written.append(target)
                        context.close()
                finally:
                    browser.close()
    finally:
        clock_mod.set_clock(previous)
        shutil.rmtree(tmp, ignore_errors=True)  # after the server: its worker threads may still touch the instance
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    for path in take(args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
