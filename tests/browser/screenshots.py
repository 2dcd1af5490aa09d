"""`make screenshots`: the main pages of each role in zh-CN at 1280 and 375 px, into docs/screenshots/.

Run from the repository root: `python -m tests.browser.screenshots [--out DIR] [--only PREFIX]`. The platform is a
live server on a temporary SQLite instance with the scene of tests/browser/scenes.py (an open tender with a sealed
bid, an opened tender whose committee scores in the room, a tender under committee custody, the demo's permit
catalogue and working-day calendar) on a fake clock; then a second server where a tender goes from its aggregated
scores to the award (award_scene below: the chair's draw-up form, the publicity with a bidder's objection, the
award). Files are named <role>-<page>-<width>.png; each is the whole page (full_page), cut at MAX_HEIGHT px, and the
list of files written is printed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.browser.scenes import Scene

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (1280, 375)
MAX_HEIGHT = 3000  # a long page (the evidence log) is cut here: the top of a page is what a screenshot shows

Shots = dict[str, list[tuple[str, str]]]  # role -> [(page name, path)]


def first_id(app: Any, model: Any, **where: Any) -> int:
    from sqlalchemy import select

    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(model.id).filter_by(**where).order_by(model.id).limit(1)))


def first_code(app: Any) -> str:
    from sqlalchemy import select

    from app.extensions import db
    from app.permits.catalogue.models import Item

    with app.app_context():
        return str(db.session.scalar(select(Item.code).order_by(Item.id).limit(1)))


def pages(scene: Scene) -> Shots:
    """role -> [(page name, path)]."""
    from app.evaluation.models import ExpertProfile

    opened, open_ = scene.opened_tid, scene.open_tid
    ev = f"/agency/tenders/{opened}/evaluation"
    app = scene.world.app
    expert_id = first_id(app, ExpertProfile)
    return {
        "anonymous": [
            ("home", "/"),
            ("tenders", "/tenders"),
            ("tender", f"/tenders/{open_}"),
            ("receipt-verify", "/receipts/verify"),
            ("permits", "/permits/"),
            ("permits-item", f"/permits/items/{first_code(app)}"),
            ("convenience", "/convenience/"),
            ("hall-display", "/convenience/display"),
            ("ticket", scene.floor_pages[0]),
            ("permits-tracking", scene.floor_pages[1]),
        ],
        "applicant": [("home", "/"), ("my-applications", "/permits/my-applications")],
        "clerk": [("home", "/"), ("desk", "/permits/desk"), ("desk-application", "/permits/desk/applications/1")],
        "window": [("home", "/"), ("windows", "/convenience/windows"), ("window", "/convenience/windows/1")],
        "bidder": [
            ("home", "/"),
            ("bids", "/bids"),
            ("bid", f"/tenders/{open_}/bid"),
            ("receipt", f"/tenders/{open_}/bid/receipts/1"),
        ],
        "agency": [
            ("home", "/"),
            ("tenders", "/agency/tenders"),
            ("tender", f"/agency/tenders/{opened}"),
            ("tender-new", "/agency/tenders/new"),
            ("opening-record", f"/tenders/{opened}/opening"),
            ("evaluation-hub", ev),
            ("committee", f"{ev}/committee"),
            ("draw", f"{ev}/draw"),
            ("seats", f"{ev}/seats"),
            ("rooms", f"{ev}/rooms"),
        ],
        "expert": [
            ("home", "/"),
            ("evaluations", "/evaluation/"),
            ("declaration", f"/evaluation/tenders/{opened}/declaration"),
            ("room", f"/evaluation/tenders/{opened}/rooms/1"),
        ],
        "invitee": [("home", "/")],
        "custodian": [("home", "/"), ("duties", "/custody"), ("share", f"/tenders/{scene.custody_tid}/custody")],
        "auditor": [("home", "/"), ("evidence-log", "/audit/")],
        "admin": [
            ("home", "/"),
            ("users", "/admin/users"),
            ("experts", "/admin/experts"),
            ("expert", f"/admin/experts/{expert_id}"),
            ("expert-new", "/admin/experts/new"),
            ("specialties", "/admin/specialties"),
            ("calendar", "/admin/calendar"),
        ],
    }


def award_scene(app: Any, clock: Any) -> Iterator[tuple[Scene, Shots]]:
    """A tender from its aggregated scores to the award, in three steps; yields the scene and the pages to take at
    each: the chair's draw-up form; the publicity open with a bidder's objection; the award issued."""
    from tests.accounts.helpers import PASSWORD, make_user
    from tests.evaluation.helpers import user_field
    from tests.evaluation.test_pages_award import aggregated
    from tests.tendering.helpers import build_world

    world = build_world(app, bidders=2)
    tid, members, _bids = aggregated(world, clock)
    _uid, agent = make_user(app, "shot-agent", ["agency"], totp=True, organisation_id=world.agency.org_id)
    scene = Scene(world=world, open_tid=0, opened_tid=tid, custody_tid=0)
    scene.logins = {
        "agency": ("shot-agent", agent),
        "chair": (user_field(world, members[1].user_id, "username"), None),
        "bidder": (user_field(world, world.bidders[1].user_id, "username"), None),
    }
    ev = f"/agency/tenders/{tid}/evaluation"
    api = f"/api/v1/tenders/{tid}/evaluation"
    yield (
        scene,
        {
            "chair": [("room-draw-up", f"/evaluation/tenders/{tid}/rooms/1")],
            "agency": [("result", f"{ev}/rooms/1/result")],
        },
    )

    drawn = members[1].api.post(f"{api}/report", json_body={"recommended": 2})
    assert drawn.status_code == 201, drawn.json
    for party in members.values():
        body = {"report_sha256": drawn.json["report_sha256"], "password": PASSWORD}
        assert party.api.post(f"{api}/report/signatures", json_body=body).status_code == 201
    assert world.agency.api.post(f"{api}/publicity", json_body={}).status_code in (200, 201)
    filed = world.bidders[1].api.post(f"{api}/objections", json_body={"text": "第一中标候选人业绩不实"})
    assert filed.status_code == 201, filed.json
    yield (
        scene,
        {
            "agency": [("publicity-open", f"{ev}/publicity"), ("report", f"{ev}/report")],
            "bidder": [("objections", f"/tenders/{tid}/objections")],
        },
    )

    answer = {"answer": "经核查，业绩属实"}
    assert world.agency.api.post(f"{api}/objections/{filed.json['id']}/answer", json_body=answer).status_code == 200
    clock.advance(timedelta(days=3, seconds=1))
    assert world.agency.api.post(f"{api}/award").status_code in (200, 201)
    yield (
        scene,
        {
            "agency": [
                ("home-award", "/"),
                ("award", f"{ev}/award"),
                ("publicity", f"{ev}/publicity"),
                ("report-signed", f"{ev}/report"),
                ("evaluation-hub-awarded", ev),
                ("seats-awarded", f"{ev}/seats"),
            ],
            "bidder": [("objections-answered", f"/tenders/{tid}/objections")],
        },
    )


def shrink(path: Path) -> None:
    """128 colours without dithering: the pages are flat colours and text, a third of the size, still sharp."""
    from PIL import Image

    with Image.open(path) as image:
        flat = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    flat.save(path, optimize=True)


@contextmanager
def fake_clock() -> Iterator[Any]:
    from app.core import time as clock_mod

    clock = clock_mod.FakeClock()
    previous = clock_mod.set_clock(clock)
    try:
        yield clock
    finally:
        clock_mod.set_clock(previous)


def shoot(browser: Any, base: str, scene: Scene, shots: Shots, out: Path, only: str) -> list[Path]:
    from tests.browser.scenes import sign_in

    written: list[Path] = []
    for role, listed in shots.items():
        wanted = [(name, path) for name, path in listed if f"{role}-{name}".startswith(only)]
        if not wanted:
            continue
        context = browser.new_context(
            locale="zh-CN", viewport={"width": WIDTHS[0], "height": 900}, device_scale_factor=1
        )
        page = context.new_page()
        sign_in(page, base, scene, role)
        for name, path in wanted:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900 if width > 600 else 800})
                response = page.goto(base + path, wait_until="load")
                assert response is not None and response.status < 400, (role, path, response and response.status)
                page.evaluate("document.fonts.ready")
                target = out / f"{role}-{name}-{width}.png"
                height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
                page.screenshot(
                    path=str(target),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": height},
                    animations="disabled",
                )
                shrink(target)
                written.append(target)
        context.close()
    return written


def take(out: Path, only: str = "") -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.accounts.helpers import compile_translations
    from tests.browser.conftest import ARGS, CHROMIUM, chinese_browser_env, serve
    from tests.tendering.conftest import TENDERING_CONFIG

    compile_translations()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=chinese_browser_env())
        try:
            scenes: list[Callable[[Any, Any], Iterator[tuple[Scene, Shots]]]] = [main_scene, award_scene]
            for make in scenes:
                tmp = Path(tempfile.mkdtemp(prefix="screenshots-"))
                try:
                    with fake_clock() as clock, serve(tmp, **TENDERING_CONFIG) as live:
                        for scene, shots in make(live.app, clock):
                            written += shoot(browser, live.url, scene, shots, out, only)
                finally:
                    # after the server: its worker threads may still touch the instance
                    shutil.rmtree(tmp, ignore_errors=True)
        finally:
            browser.close()
    return written


def main_scene(app: Any, clock: Any) -> Iterator[tuple[Scene, Shots]]:
    from tests.browser.scenes import build_scene

    scene = build_scene(app, clock)
    yield scene, pages(scene)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", default="", help="only the files whose name starts so (e.g. agency-award)")
    args = parser.parse_args()
    for path in take(args.out, args.only):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
