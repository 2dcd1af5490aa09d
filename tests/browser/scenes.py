"""A platform with data at every stage the pages show, and one signed-in browser context per role.

Shared by the crawler's axe-core test (tests/browser/test_axe_all_pages.py) and `make screenshots`
(tests/browser/screenshots.py). Built through the API on the live server's app (tests/tendering/helpers.py,
tests/evaluation/helpers.py): an open tender with a sealed bid, an opened tender (three bids, its opening record)
whose committee is drawn, seated and scoring in the room, a tender under committee custody and a draft; a second
opened tender whose committee is drawn (an expert with a pending invitation: the role `invitee`), a short real
recording of the opened tender's room (tests/recordings/conftest.py: the replay page), the permits and convenience
floors, and supervision's lights over all of it (the role `supervisor`: the wall, the signals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from tests.accounts.helpers import PASSWORD, make_user, next_totp
from tests.evaluation.helpers import committee_body, draw, opened_tender, put_json, seated, user_field
from tests.tendering.helpers import (
    World,
    build_world,
    create_published,
    draft_body,
    envelope_plaintext,
    form,
    seal,
    submit,
    upload,
)

CATEGORY = "工程施工"
ROLES = (
    "anonymous",
    "bidder",
    "agency",
    "expert",
    "invitee",
    "custodian",
    "auditor",
    "admin",
    "applicant",
    "clerk",
    "window",
    "supervisor",
)


@dataclass
class Scene:
    world: World
    open_tid: int  # published, taking bids; bidder1 has sealed one
    opened_tid: int  # opened (three bids), committee seated, stage-1 room scoring
    custody_tid: int  # committee custody, the custodian holds a share
    draft_tid: int = 0  # a draft of the agency's, not yet published
    session_id: int = 0  # a closed recording session about the opened tender
    logins: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # role -> (username, TOTP secret)
    floor_pages: list[str] = field(default_factory=list)  # a called ticket's page, an application's tracking page
    signal_id: int = 0  # a supervision signal (the demo's lights over the floors' evidence log)
    person_id: int = 0  # the window-staff account (signed on at window 01): the supervision person page
    case_id: int = 0  # a permits application: supervision's read-only page of the case


def build_scene(app: Flask, clock: Any) -> Scene:
    from tests.evaluation.test_pages import scoring_room
    from tests.recordings.conftest import create_room, record

    world = build_world(app, bidders=3)
    tid, _members, _pool, _bids = scoring_room(world, clock, category=CATEGORY)
    opened = tid

    keepers = []
    for i in (1, 2):
        uid, secret = make_user(app, f"keeper{i}", ["supervisor"], totp=True)
        keepers.append((uid, secret))
    custody = create_published(
        world,
        title="邯郸市第一中学操场改造工程",
        category=CATEGORY,
        min_bids=1,
        custody_mode="committee",
        custodian_ids=[uid for uid, _s in keepers],
        custody_threshold=2,
        platform_holds_share=False,
    )["id"]

    tender = create_published(world, title="邯郸市第一中学食堂设备采购", category="货物", min_bids=1)
    bidder = world.bidders[0]
    sealed = seal(envelope_plaintext(form(880_000)), tender["recipient"])
    assert submit(bidder.api, tender["id"], {"bid": upload(bidder.api, tender["id"], "bid", sealed)}).status_code == 201

    draft = world.agency.api.post(
        "/api/v1/tenders", draft_body(world, title="邯郸市第一中学图书馆家具采购", category="货物")
    )
    assert draft.status_code == 201, draft.json

    # a second opened tender whose committee is drawn: its experts are invited, nobody has answered
    invited_tid = opened_tender(world, clock, title="邯郸市第一中学实验室设备采购", category="货物")["id"]
    body = committee_body(world.agency, size=5, expert_seats=5, groups=[], reserves_per_group=0, buyer_rep_ids=[])
    assert put_json(world.agency, f"/api/v1/tenders/{invited_tid}/committee", body).status_code == 200
    draw(world, invited_tid)
    invited = next(s for s in seated(world, invited_tid) if s["kind"] == "expert" and s["status"] == "invited")

    create_room(app, code="a11y-room")
    recorded = record(app, room="a11y-room", seconds=3.0, subject=f"tender:{opened}")

    scene = Scene(
        world=world,
        open_tid=tender["id"],
        opened_tid=opened,
        custody_tid=custody,
        draft_tid=int(draft.json["id"]),
        session_id=recorded.session_id,
    )
    _uid, agent = make_user(app, "a11y-agent", ["agency"], totp=True, organisation_id=world.agency.org_id)
    _uid, auditor = make_user(app, "a11y-auditor", ["auditor"], totp=True)
    _uid, admin = make_user(app, "a11y-admin", ["admin"], totp=True)
    expert_seat = next(s for s in seated(world, opened) if s["kind"] == "expert")
    floor_pages = seed_floors(app)
    _uid, clerk = make_user(app, "a11y-clerk", ["permits_clerk"], totp=True)
    _uid, supervisor = make_user(app, "a11y-supervisor", ["supervisor"], totp=True)
    scene.logins = {
        "bidder": ("bidder1", None),
        "agency": ("a11y-agent", agent),
        "expert": (user_field(world, expert_seat["user_id"], "username"), None),
        "invitee": (user_field(world, invited["user_id"], "username"), None),
        "custodian": ("keeper1", keepers[0][1]),
        "auditor": ("a11y-auditor", auditor),
        "admin": ("a11y-admin", admin),
        "applicant": ("bidder", None),
        "clerk": ("a11y-clerk", clerk),
        "window": ("window_staff", None),
        "supervisor": ("a11y-supervisor", supervisor),
    }
    scene.floor_pages = floor_pages
    scene.signal_id = first_signal(app)
    with app.app_context():
        from app.accounts.models import User
        from app.extensions import db
        from app.permits.cases.models import Application

        scene.person_id = int(db.session.scalar(db.select(User.id).where(User.username == "window_staff")) or 0)
        scene.case_id = int(db.session.scalar(db.select(Application.id).order_by(Application.id)) or 0)
        db.session.remove()
    return scene


def seed_floors(app: Flask) -> list[str]:
    """The permits and convenience floors as `make run` seeds them (app/demo.py's floor seeds): the catalogue, the
    working-day calendar, applications in every state (filed by the applicant `bidder`, decided at the desk by
    `admin`), the convenience floor with the window-staff account at its windows and a ticket called to one.
    Returns the pages only a link in a message reaches: the called ticket's and an application's tracking page."""
    from app.accounts.models import User
    from app.convenience import queue
    from app.convenience.models import Service, Window
    from app.convenience.services import seed_demo_floor, sign_on
    from app.extensions import db
    from app.permits.calendar.services import seed_demo as seed_demo_calendar
    from app.permits.cases.demo import seed_demo_cases
    from app.permits.cases.models import Application
    from app.permits.catalogue.services import seed_demo_catalogue
    from app.supervision.demo import seed_demo_supervision

    make_user(app, "admin", ["admin"])
    make_user(app, "bidder", ["bidder"])
    staff_id, _ = make_user(app, "window_staff", ["window_staff"])
    with app.app_context():
        seed_demo_catalogue()
        seed_demo_calendar()
        assert seed_demo_cases(), "the permits demo seeded no application"
        from app.permits.bundle.demo import seed_demo_bundle
        from app.permits.fees.demo import seed_demo_fees

        assert seed_demo_fees() and seed_demo_bundle(), "the fees and bundle demos seeded nothing"
        seed_demo_floor()
        db.session.commit()
        window = db.session.scalar(db.select(Window).where(Window.number == "01"))
        service = db.session.scalar(db.select(Service).where(Service.group_id == window.group_id))
        staff = db.session.get(User, staff_id)
        ticket = queue.issue_ticket(service_code=service.code, channel="kiosk", surname="王", honorific="ms")
        queue.issue_ticket(service_code=service.code, channel="phone")
        sign_on(actor=staff, window_id=window.id)
        queue.call_next(actor=staff, window_id=window.id)
        db.session.commit()
        seed_demo_supervision()  # the worker's ingest and lights, once: the wall and the signals have data
        db.session.commit()
        application = db.session.scalar(db.select(Application).order_by(Application.id))
        from app.permits.bundle.models import BundleCase
        from app.permits.fees.models import FeeBill

        billed = db.session.scalar(db.select(FeeBill).order_by(FeeBill.id.desc())).application
        joint = db.session.scalar(db.select(BundleCase))
        return [
            f"/convenience/tickets/{ticket.public_id}",
            f"/permits/track/{application.number}/{application.tracking_token}",
            f"/permits/fees/track/{billed.number}/{billed.tracking_token}",
            f"/permits/bundles/track/{joint.number}/{joint.tracking_token}",
        ]


def first_signal(app: Flask) -> int:
    """The id of the first red signal the scene's lights turned on (the supervisor's signal page)."""
    from app.extensions import db
    from app.supervision.models import Signal

    with app.app_context():
        found = db.session.scalar(db.select(Signal.id).where(Signal.colour == "red").order_by(Signal.id))
        assert found is not None, "the scene turned no red light on"
        db.session.remove()
        return int(found)


def sign_in(page: Any, base: str, scene: Scene, role: str) -> None:
    """Sign the role's user in through the form (and the TOTP step where the role needs it); lands on the home page."""
    if role == "anonymous":
        return
    username, secret = scene.logins[role]
    page.goto(f"{base}/login?next=/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    if secret is not None:
        page.wait_for_url(f"{base}/login/totp")
        page.fill("#code", next_totp(secret))
        page.click("#submit")
    page.wait_for_url(f"{base}/")
