"""`make run`'s demo data: three tenders driven through the services (open for bids, opened, awarded); idempotent."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, or_, select

from app.core.time import now_utc
from recording.clock import to_epoch_us


def seed(app: Flask) -> tuple[list[str], tuple[float, float]]:
    """Seed and commit; returns the printed lines and (wall, CPU) seconds."""
    from app.core.reference import seed_demo_data
    from app.extensions import db

    with app.app_context():
        started, cpu = time.monotonic(), time.process_time()
        lines = seed_demo_data()
        db.session.commit()
        return lines, (time.monotonic() - started, time.process_time() - cpu)


def counts(app: Flask) -> dict[str, int]:
    from app.accounts.models import Organisation, User
    from app.audit.models import AuditEntry
    from app.evaluation.models import Award, ExpertProfile
    from app.extensions import db
    from app.recordings.models import RecordingSchedule
    from app.tendering.models import Bid, OpeningRecord, Tender

    with app.app_context():
        return {
            model.__name__: int(db.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (
                User,
                Organisation,
                Tender,
                Bid,
                OpeningRecord,
                ExpertProfile,
                Award,
                RecordingSchedule,
                AuditEntry,
            )
        }


def check_opening_recorded(opened: Any) -> None:
    """The opened tender's opening was filmed: a closed session about it, intact, its window over the opening."""
    from app.audit.models import AuditEntry
    from app.extensions import db
    from app.recordings import replay
    from app.recordings.services import sessions_for_subject

    sessions = list(sessions_for_subject(opened.audit_ref))
    assert len(sessions) == 1
    session = sessions[0]
    assert session.is_closed and session.segments
    report = replay.verify_session(session)
    assert report.intact and report.manifest == "verified", report.as_dict()
    decrypted = list(  # the opening sweep's entries: started, each bid's decryption, record published
        db.session.scalars(
            select(AuditEntry).where(
                or_(AuditEntry.subject == opened.audit_ref, AuditEntry.subject.like(opened.audit_ref + "/%")),
                AuditEntry.action.like("tendering.%"),
                AuditEntry.created_at >= opened.opening_at,
            )
        )
    )
    actions = {e.action for e in decrypted}
    assert {"tendering.opening.started", "tendering.opening.record_published"} <= actions, actions
    spans = replay.media_spans(session)
    for entry in decrypted:
        position, in_gap = replay.media_time(spans, to_epoch_us(entry.created_at))
        assert position is not None and not in_gap, (entry.action, entry.created_at, spans[0], spans[-1])
    shown = {e["index"] for e in replay.timeline_events(session)}
    assert {e.index for e in decrypted} <= shown
    # the evidence log's checkpoints signed into the manifest bracket the opening
    start, end = session.checkpoint_start["payload"]["tree_size"], session.checkpoint_end["payload"]["tree_size"]
    assert all(start <= e.index < end for e in decrypted), (start, end, [e.index for e in decrypted])


def check_remote_opening(opened: Any) -> None:
    """The opened tender's remote opening: an objection and a question answered by the host, the record confirmed
    by bidder2 and disputed (with reasons) by bidder3, signed; all while the room was filmed, so on its replay."""
    from app.audit.models import AuditEntry
    from app.core.keys import platform_public_keys
    from app.extensions import db
    from app.recordings.models import RecordingSession
    from app.recordings.replay import timeline_events
    from app.tendering import remote_opening as ro
    from app.tendering.models import OpeningConfirmation
    from crypto.signing import load_public_key, verify_document

    messages = ro.list_messages(opened)
    assert [(m.kind, m.organisation.name, m.answer is not None) for m in messages] == [
        ("objection", "邯郸示范建设工程有限公司", True),
        ("question", "邯郸示范装饰工程有限公司", True),
    ]
    answers = list(db.session.scalars(select(OpeningConfirmation).order_by(OpeningConfirmation.id)))
    assert [(a.organisation.name, a.verdict, bool(a.reason)) for a in answers] == [
        ("邯郸示范路桥工程有限公司", "confirmed", False),
        ("邯郸示范装饰工程有限公司", "disputed", True),
    ]
    keys = {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}
    rec = ro.get_record(opened, 1)
    assert all(verify_document(a.signed, keys)["record_sha256"] == ro.sha256_of(rec) for a in answers)
    watched = db.session.scalars(
        select(AuditEntry.data).where(
            AuditEntry.action == "tendering.opening.watched", AuditEntry.subject == ro.subject(opened)
        )
    )
    assert sorted(d["role"] for d in watched) == ["bidder", "bidder", "bidder", "host"]
    session = db.session.scalar(select(RecordingSession).where(RecordingSession.subject == opened.audit_ref))
    if session is not None:  # filmed: the objection and its answer are on the replay's timeline
        actions = {e["action"] for e in timeline_events(session)}
        assert {"tendering.opening.objection_raised", "tendering.opening.record_disputed"} <= actions, actions


def test_demo_seed_makes_three_tenders_once(app: Flask) -> None:
    from app.demo import TITLE_AWARDED, TITLE_BIDDING, TITLE_OPENED
    from app.evaluation.models import Award, EvaluationReport, ReportStatus
    from app.extensions import db
    from app.recordings.models import RecordingSchedule
    from app.tendering import services_tenders
    from app.tendering.models import Bid, OpeningRecord, Tender, TenderStatus

    before = now_utc()
    lines, (wall, cpu) = seed(app)
    print(f"demo seeding took {wall:.1f} s ({cpu:.1f} s CPU)")
    # Under 20 s of this process's work; the wall clock (which catches waiting, not work) gets slack for a machine
    # shared with other test workers and scenario jobs (72 s seen at load 15).
    assert cpu < 20 and wall < 120, (wall, cpu)
    assert any(line.startswith("agency ") for line in lines)
    assert any(line.startswith("expert2 ") for line in lines)
    with app.app_context():
        tenders = {t.title: t for t in db.session.scalars(select(Tender))}
        bidding, opened, awarded = tenders[TITLE_BIDDING], tenders[TITLE_OPENED], tenders[TITLE_AWARDED]

        assert bidding.status is TenderStatus.PUBLISHED
        assert services_tenders.is_open_for_bids(bidding)
        opening_in = bidding.opening_at - before
        assert timedelta(minutes=4) < opening_in < timedelta(minutes=6)  # DEMO_OPENING_MINUTES default 5
        sealed = list(db.session.scalars(select(Bid).where(Bid.tender_id == bidding.id)))
        assert len(sealed) == 2
        schedule = db.session.scalar(select(RecordingSchedule).where(RecordingSchedule.subject == bidding.audit_ref))
        assert schedule is not None and schedule.starts_at == bidding.opening_at

        assert opened.status is TenderStatus.OPENED
        records = list(db.session.scalars(select(OpeningRecord).where(OpeningRecord.tender_id == opened.id)))
        assert len(records) == 1
        assert len(list(db.session.scalars(select(Bid).where(Bid.tender_id == opened.id)))) == 3
        check_opening_recorded(opened)
        check_remote_opening(opened)

        assert awarded.status is TenderStatus.AWARDED
        report = db.session.scalar(select(EvaluationReport).where(EvaluationReport.tender_id == awarded.id))
        assert report is not None and report.status is ReportStatus.FINAL
        assert len(report.signatures) == 5 and report.publicity_ended_at is not None
        assert db.session.scalar(select(Award).where(Award.tender_id == awarded.id)) is not None
        # the history lies in the past: the present is the real clock again
        assert all(t.published_at < before for t in tenders.values())

    first = counts(app)
    again, _ = seed(app)
    assert not [line for line in again if "password=" in line or "demo tender" in line]  # nothing new
    assert counts(app) == first
