"""Demo tenders for `make run`: one open for bids, one opened, one evaluated and awarded.

Everything goes through the services the API and the pages use, so the rows, the evidence log, the receipts, the
opening record, the report and the award are real: the bids are sealed with age for each tender's own recipient
and decrypted by the opening sweep. A fake clock is installed while seeding, starting DEMO_HISTORY_DAYS in the
past, so the legal periods (20 days from publication to the deadline, the publicity window) really elapse; the
real clock is put back at the end. The opening of the tender already opened is filmed in the demo recording room
(when it exists) by the room recorder itself: for that span the fake clock gives way to the real one moved back to
the opening's instant, so the recorder runs in real time (a few seconds) while the worker's sweep opens the bids,
and the session's segments, manifest and checkpoints bracket the opening's events.
The tender open for bids opens DEMO_OPENING_MINUTES (default 5) after the seeding, live: the worker's opening sweep
opens it and, when the demo recording room exists, the recorder films it (a recording window is scheduled for its
opening, linked to the tender).

Idempotent: nothing is seeded when a demo tender already exists, or when the demo accounts are missing (an
installation with its own users).
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.accounts.models import Organisation, OrganisationKind, User
from app.accounts.services_organisations import create_organisation
from app.accounts.services_passwords import generate_password
from app.accounts.services_users import create_user
from app.accounts.uscc import make_uscc
from app.core import time as clock_mod
from app.core.db import db
from app.core.reference import demo
from app.permits.catalogue.services import seed_demo_catalogue
from crypto.age import X25519Recipient, encrypt_bytes
from crypto.envelope import write_envelope

TITLE_BIDDING = "邯郸市示范中学操场改造工程（示范：投标中）"
TITLE_OPENED = "邯郸市示范中学食堂设备采购（示范：已开标）"
TITLE_AWARDED = "邯郸市示范中学教学楼外墙改造工程（示范：已定标）"
TITLES = (TITLE_BIDDING, TITLE_OPENED, TITLE_AWARDED)

BUYER = ("邯郸市示范中学", make_uscc("1", "2", "130400", "MB1A0002"))
BIDDERS = [  # username, organisation, USCC; the first is the demo account `bidder` (its organisation exists)
    ("bidder2", "邯郸示范路桥工程有限公司", make_uscc("9", "1", "130400", "MA0DEM03")),
    ("bidder3", "邯郸示范装饰工程有限公司", make_uscc("9", "1", "130400", "MA0DEM04")),
]
EXPERT_EMPLOYER = ("邯郸市示范工程咨询研究院", make_uscc("1", "2", "130400", "MB1A0003"))
EXPERTS = ["expert2", "expert3", "expert4", "expert5", "expert6"]  # the awarded tender's committee
TECH, COMM = "技术方案", "商务及信誉"
# (price in 分, technical, commercial) per bidder of the awarded tender, in the order bidder, bidder2, bidder3
AWARDED_BIDS = [(95_000_000, 40, 12), (88_000_000, 36, 11), (91_000_000, 42, 14)]
OPENED_PRICES = [31_500_000, 29_800_000, 33_000_000]


def opening_minutes() -> float:
    """Minutes from the seeding to the opening of the tender open for bids (DEMO_OPENING_MINUTES, default 5)."""
    raw = current_app.config.get("DEMO_OPENING_MINUTES") or os.environ.get("DEMO_OPENING_MINUTES") or 5
    return float(raw)


def history_days() -> int:
    return int(current_app.config.get("DEMO_HISTORY_DAYS", 40))


@contextmanager
def _fake_clock(start: datetime) -> Iterator[clock_mod.FakeClock]:
    fake = clock_mod.FakeClock(start)
    previous = clock_mod.set_clock(fake)
    try:
        yield fake
    finally:
        clock_mod.set_clock(previous)


class _MovedClock:
    """The real clock moved to `at` when made: it runs in real time, for the platform (now) and the recording
    library (wall, the machine's monotonic clock) alike."""

    def __init__(self, at: datetime) -> None:
        self.offset = at - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def wall(self) -> datetime:
        return self.now()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


def _recorded_opening(clock: clock_mod.FakeClock, subject: str, during: Callable[[], None] | None = None) -> None:
    """The worker's opening sweep, filmed by the demo room's recorder (as `flask recording run` does) when that
    room exists: the recording starts first, the sweep runs, then `during` (what happens in the room after the
    record is published), the recording closes ~2 s later. Leaves the fake clock where the moved clock stopped."""
    from app.recordings import services as recordings
    from app.recordings.models import RecordingRoom
    from app.recordings.recorder import Options, RoomRecorder
    from app.tendering.tasks import open_due

    room = db.session.scalar(select(RecordingRoom).where(RecordingRoom.code == recordings.DEMO_ROOM))
    if room is None or room.source != "synthetic":
        open_due()
        if during is not None:
            during()
        return
    db.session.commit()  # no transaction of ours while the recorder writes its rows (SQLite's one writer)
    moved = _MovedClock(clock.now())
    previous = clock_mod.set_clock(moved)
    started = threading.Event()
    stop = threading.Event()

    def echo(line: str) -> None:
        if "recording session" in line:
            started.set()

    options = Options(
        room=recordings.DEMO_ROOM,
        subject=subject,
        clock=moved,
        segment_seconds=1.0,
        preset="ultrafast",
        poll_s=0.2,
    )
    recorder = RoomRecorder(current_app._get_current_object(), options, echo=echo)  # type: ignore[attr-defined]
    thread = threading.Thread(target=recorder.run, args=(stop,), name="demo-recorder", daemon=True)
    try:
        thread.start()
        if not started.wait(30):
            raise RuntimeError("the demo recorder did not start")
        time.sleep(1.0)  # a second of the room before the sweep
        open_due()  # decrypts the bids of the tenders due and publishes their opening records (commits)
        if during is not None:
            during()  # commits step by step: the recorder writes its rows meanwhile
        time.sleep(2.0)
    finally:
        stop.set()
        thread.join(60)
        clock.set(moved.now())
        clock_mod.set_clock(previous)
    if thread.is_alive() or not recorder.sessions_closed:
        raise RuntimeError("the demo recorder did not close its session")


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def _organisation(name: str, kind: OrganisationKind, uscc: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.name == name))
    return org or create_organisation(actor="system", name=name, kind=kind.value, uscc=uscc)


def _account(username: str, display: str, role: str, org_id: int | None, printed: list[str]) -> tuple[User, str]:
    password = generate_password()
    user = create_user(
        actor="system",
        username=username,
        display_name=display,
        password=password,
        roles=[role],
        organisation_id=org_id,
    )
    printed.append(f"{username:<12} role={role:<11} password={password}")
    return user, password


def sealed_bid(recipient: str, price: int, note: str) -> bytes:
    """A bid envelope (form + one file) encrypted with age for the tender's recipient, as a bidder's client does."""
    buf = io.BytesIO()
    files = [("技术方案.txt", io.BytesIO(note.encode()), len(note.encode()))]
    write_envelope(buf, {"price": price, "currency": "CNY", "duration_days": 120}, files)
    return encrypt_bytes(buf.getvalue(), [X25519Recipient.parse(recipient)])


def _submit(bidder: User, tender: Any, data: bytes) -> None:
    from app.tendering import services_bids

    upload = services_bids.start_upload(actor=bidder, tender=tender, envelope="bid", size=len(data))
    upload_id = str(upload.id)
    db.session.commit()
    with services_bids.upload_writer(upload_id):
        services_bids.receive_chunk(
            actor=bidder, upload_id=upload_id, start=0, end=len(data) - 1, total=len(data), stream=io.BytesIO(data)
        )
        db.session.commit()
    with services_bids.upload_writer(upload_id):
        services_bids.complete_upload(actor=bidder, upload_id=upload_id)
        db.session.commit()
    services_bids.submit_bid(actor=bidder, tender=tender, uploads={"bid": upload_id})
    db.session.commit()


def _published(agency: User, buyer_id: int, title: str, *, deadline: datetime, budget: int, description: str) -> Any:
    from app.tendering import services_tenders

    tender = services_tenders.create_tender(
        actor=agency,
        data={
            "title": title,
            "buyer_id": buyer_id,
            "category": "construction",
            "description": description,
            "budget_amount": budget,
            "submission_deadline_at": deadline,
            "opening_at": deadline,
            "min_bids": 2,
        },
    )
    db.session.commit()  # a document streams to storage outside any transaction, as in the API: commit first
    document = f"%PDF-1.4\n% {title} 招标文件（示范）\n".encode()
    services_tenders.add_document(
        actor=agency,
        tender=tender,
        name="招标文件.pdf",
        stream=io.BytesIO(document),
        length=len(document),
        content_type="application/pdf",
    )
    db.session.commit()
    tender = services_tenders.publish_tender(actor=agency, tender=tender)
    db.session.commit()
    return tender


def _evaluate_and_award(clock: clock_mod.FakeClock, tender: Any, agency: User, experts: list[tuple[User, str]]) -> None:
    """Committee drawn from the pool, every member confirms and declares, reviews, scores, report signed, publicity,
    award: as the agency and the experts do it through the API."""
    from app.evaluation.committee import services as services_committee
    from app.evaluation.report import services as services_report
    from app.evaluation.room import services as services_room
    from app.evaluation.room import sheets as services_sheets

    body = {"size": 5, "expert_seats": 5, "groups": [], "reserves_per_group": 0, "buyer_rep_ids": []}
    services_committee.define_committee(actor=agency, tender=tender, data=body)
    draw = services_committee.commit_draw(actor=agency, tender=tender)
    services_committee.perform_draw(actor=agency, tender=tender, round_no=draw.round)
    clock.advance(timedelta(hours=1))
    for user, _password in experts:
        services_committee.respond(actor=user, tender=tender, accept=True)
        services_committee.declare(actor=user, tender=tender, no_conflict=True)
    clock.advance(timedelta(hours=1))
    committee = services_committee.get_committee(tender)
    by_user = {m.user_id: m.seat for m in committee.members if m.seat is not None}
    chair = min(by_user.values())
    room = services_room.open_room(actor=agency, tender=tender, stage=1, chair_seat=chair, objective=[COMM])
    bid_ids = services_room.room_public_ids(room)
    requirements = list(room.requirements)
    for user, _password in experts:
        verdicts = [
            {"bid_id": b, "requirement": r, "passed": True, "reason": ""} for b in bid_ids for r in requirements
        ]
        services_room.save_review(actor=user, tender=tender, room=room, verdicts=verdicts)
        services_room.submit_review(actor=user, tender=tender, room=room)
    chair_user = next(u for u, _p in experts if by_user[u.id] == chair)
    services_room.close_review(actor=chair_user, tender=tender, room=room)
    scores = dict(zip(bid_ids, AWARDED_BIDS, strict=True))
    for offset, (user, _password) in enumerate(experts):
        for bid_id in bid_ids:
            clock.advance(timedelta(minutes=3))
            _price, tech, comm = scores[bid_id]
            items = {TECH: tech + (offset % 3) - 1, COMM: comm}
            services_sheets.save_draft(actor=user, tender=tender, room=room, bid_id=bid_id, items=items, reasons={})
            services_sheets.submit_sheet(actor=user, tender=tender, room=room, bid_id=bid_id)
    services_sheets.aggregate(actor=chair_user, tender=tender, room=room)
    clock.advance(timedelta(minutes=30))
    report = services_report.draw_up(actor=chair_user, tender=tender)
    for user, password in experts:
        services_report.sign(actor=user, tender=tender, report_sha256=report.report_sha256, password=password)
    clock.advance(timedelta(hours=2))
    services_report.publish(actor=agency, tender=tender)
    db.session.commit()  # each step its own transaction, as through the API (one OCDS release per public event)
    clock.advance(services_report.publicity_period() + timedelta(minutes=1))
    services_report.publicity_due()
    db.session.commit()
    services_report.issue_award(actor=agency, tender=tender)


def already_seeded() -> bool:
    from app.tendering.models import Tender

    return db.session.scalar(select(Tender.id).where(Tender.title.in_(TITLES)).limit(1)) is not None


def seed_demo_tenders() -> list[str]:
    """The three demo tenders (and the few accounts they need); [] when already there. Commits step by step
    like the API's requests and the worker's sweeps (a document or a bid streams outside any transaction)."""
    if "evaluation" not in current_app.extensions or already_seeded():
        return []
    agency, bidder, expert = _user("agency"), _user("bidder"), _user("expert")
    if agency is None or bidder is None or expert is None or bidder.organisation_id is None:
        return []
    db.session.commit()  # the accounts seeded before: the steps below commit as the API's requests do
    real_now = clock_mod.now_utc()
    opening_at = real_now + timedelta(minutes=opening_minutes())
    printed: list[str] = []
    with _fake_clock(real_now - timedelta(days=history_days())) as clock:
        _seed(
            clock,
            real_now=real_now,
            opening_at=opening_at,
            agency=agency,
            bidder=bidder,
            expert=expert,
            printed=printed,
        )
    _schedule_recording(opening_at)
    db.session.flush()
    return [*printed, *_summary(opening_at)]


def _seed(
    clock: clock_mod.FakeClock,
    *,
    real_now: datetime,
    opening_at: datetime,
    agency: User,
    bidder: User,
    expert: User,
    printed: list[str],
) -> None:
    from app.evaluation.pool import services as services_pool

    admin = _user("admin") or agency
    buyer = _organisation(BUYER[0], OrganisationKind.BUYER, BUYER[1])
    bidders = [bidder]
    passwords: dict[int, str] = {}  # of the bidders made here, who re-authenticate to answer the opening record
    for username, name, uscc in BIDDERS:
        org = _organisation(name, OrganisationKind.BIDDER, uscc)
        found = _user(username)
        if found is None:
            found, passwords[len(bidders)] = _account(username, f"{name} 投标专员", "bidder", org.id, printed)
        bidders.append(found)
    employer = _organisation(EXPERT_EMPLOYER[0], OrganisationKind.OTHER, EXPERT_EMPLOYER[1])
    experts: list[tuple[User, str]] = []
    for i, username in enumerate(EXPERTS, start=2):
        user, password = _account(username, f"评标专家{i} (Expert {i})", "expert", None, printed)
        services_pool.create_expert(
            actor=admin,
            data={"user_id": user.id, "specialties": ["civil"], "employer_id": employer.id, "region": "邯郸"},
        )
        experts.append((user, password))

    start = clock.now()
    past_deadline = start + timedelta(days=21)
    awarded = _published(
        agency,
        buyer.id,
        TITLE_AWARDED,
        deadline=past_deadline,
        budget=100_000_000,
        description="教学楼外墙保温及屋面防水改造，工期120日历天。",
    )
    opened = _published(
        agency,
        buyer.id,
        TITLE_OPENED,
        deadline=past_deadline,
        budget=35_000_000,
        description="食堂厨房设备采购。",
    )
    bidding = _published(
        agency, buyer.id, TITLE_BIDDING, deadline=opening_at, budget=60_000_000, description="塑胶跑道及人造草坪改造。"
    )
    clock.advance(timedelta(days=2))
    for who, (price, _tech, _comm) in zip(bidders, AWARDED_BIDS, strict=True):
        _submit(who, awarded, sealed_bid(awarded.recipient, price, f"{who.display_name} 的施工组织设计"))
    for who, price in zip(bidders, OPENED_PRICES, strict=True):
        _submit(who, opened, sealed_bid(opened.recipient, price, f"{who.display_name} 的供货方案"))
    for who, price in zip(bidders[1:], (58_000_000, 56_500_000), strict=True):
        _submit(who, bidding, sealed_bid(bidding.recipient, price, f"{who.display_name} 的施工方案"))
    clock.set(past_deadline + timedelta(seconds=1))
    # the worker's sweep decrypts both tenders' bids and publishes their opening records, filmed in the demo room
    # and, while the room is still filmed, the remote opening: an objection answered, the record confirmed or disputed
    _recorded_opening(clock, opened.audit_ref, lambda: _remote_opening(opened, agency, bidders, passwords))
    clock.advance(timedelta(days=1))
    _evaluate_and_award(clock, awarded, agency, experts)
    # The demo expert joins the pool afterwards: free for the committee of the opened tender.
    services_pool.create_expert(
        actor=admin,
        data={"user_id": expert.id, "specialties": ["civil", "cost"], "employer_id": None, "region": "邯郸"},
    )
    if clock.now() >= real_now:  # the history must end before the present; DEMO_HISTORY_DAYS is too short
        raise RuntimeError("DEMO_HISTORY_DAYS leaves no room for the demo's history")
    db.session.flush()


def _remote_opening(tender: Any, agency: User, bidders: list[User], passwords: dict[int, str]) -> None:
    """The opened tender's remote opening (不见面开标), through its services as the live page calls them: the
    bidders and the host follow it, `bidder` objects to the record and the host answers, a question is answered,
    bidder2 confirms the record and bidder3 disputes it (each re-authenticating with its password); `bidder`, whose
    password the demo does not know, leaves it unanswered. Commits after each step, as each request would."""
    from app.tendering import remote_opening as ro

    for who in (agency, *bidders):
        ro.watch(who, tender)
        db.session.commit()
    objection = ro.raise_message(
        actor=bidders[0],
        tender=tender,
        kind="objection",
        text="开标记录中我公司的工期应为120日历天，请主持人核对投标文件后当场说明。",
    )
    db.session.commit()
    question = ro.raise_message(actor=bidders[2], tender=tender, kind="question", text="评标结果将在何时、何处公示？")
    db.session.commit()
    for message, answer in (
        (objection, "已核对：贵公司投标文件载明工期为120日历天，开标记录与之一致，已当场重新宣读。"),
        (question, "评标结束后三日内在本平台公示中标候选人，公示期不少于三日。"),
    ):
        ro.answer_message(actor=agency, tender=tender, message_id=message.id, text=answer)
        db.session.commit()
    digest = ro.sha256_of(ro.get_record(tender, 1))
    answers = {
        1: ("confirmed", None),
        2: ("disputed", "我公司投标文件的解密时间晚于其他投标人，开标记录未载明原因，请予说明。"),
    }
    for index, (verdict, reason) in answers.items():
        if index not in passwords:  # a bidder account that existed before the demo: its password is its own
            continue
        ro.answer_record(
            actor=bidders[index],
            tender=tender,
            stage=1,
            verdict=verdict,
            record_sha256=digest,
            reason=reason,
            password=passwords[index],
        )
        db.session.commit()


def _schedule_recording(opening_at: datetime) -> None:
    """A recording window over the live opening, in the demo room when it exists (the recorder follows it)."""
    from app.recordings import services as recordings
    from app.recordings.models import RecordingRoom
    from app.tendering.models import Tender

    if db.session.scalar(select(RecordingRoom.id).where(RecordingRoom.code == recordings.DEMO_ROOM)) is None:
        return
    tender = db.session.scalar(select(Tender).where(Tender.title == TITLE_BIDDING))
    if tender is None:
        return
    recordings.schedule_recording(
        recordings.DEMO_ROOM,
        tender.audit_ref,
        opening_at,
        opening_at + timedelta(minutes=10),
        margin_before=timedelta(minutes=1),
        margin_after=timedelta(minutes=1),
    )


def _summary(opening_at: datetime) -> list[str]:
    from app.core.time import format_center_time

    zone = current_app.config["CENTER_TIMEZONE"]
    return [
        f"demo tender open for bids (2 sealed bids in), opens at {format_center_time(opening_at, zone)}",
        "demo tender opened (bids decrypted, opening record published, an objection answered, the record confirmed by "
        "one bidder and disputed by another); its committee is still to define",
        "demo tender evaluated and awarded (committee drawn, scored, report signed, publicity ended, award issued)",
    ]


def init_app() -> None:
    """Register the demo tenders after every module's own demo data (the accounts they need come first)."""
    from app.convenience.interaction.demo import seed_demo_interaction
    from app.convenience.rating.demo import seed_demo_ratings
    from app.convenience.services import seed_demo_floor
    from app.permits.calendar.services import seed_demo as seed_demo_calendar
    from app.permits.cases.demo import seed_demo_cases

    demo("demo.permits.catalogue")(seed_demo_catalogue)
    demo("demo.calendar")(seed_demo_calendar)
    demo("demo.permits.cases")(seed_demo_cases)
    from app.permits.bundle.demo import seed_demo_bundle
    from app.permits.fees.demo import seed_demo_fees

    demo("demo.permits.fees")(seed_demo_fees)
    demo("demo.permits.bundle")(seed_demo_bundle)
    demo("demo.convenience")(seed_demo_floor)
    demo("demo.convenience.ratings")(seed_demo_ratings)
    demo("demo.convenience.interaction")(seed_demo_interaction)
    demo("demo.tenders")(seed_demo_tenders)
    from app.publication.portal.services import seed_demo_regions

    demo("demo.portal")(seed_demo_regions)  # the demo buyer's region, for the portal's region filter
    from app.supervision.presence.demo import seed_demo_window_camera

    demo("demo.presence")(seed_demo_window_camera)  # window 01's camera (the floor's windows exist by now)
    from app.supervision.demo import seed_demo_supervision

    demo("demo.supervision")(seed_demo_supervision)  # last: it reads what the others wrote to the evidence log
