"""Retention of the windows' recordings: past the period they are deleted and logged; tendering recordings never,
and nothing in the write-once bucket is ever named in a delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.storage import RECORDINGS, WINDOW_RECORDINGS, get_storage
from app.extensions import db
from app.recordings import services as rec
from app.recordings.models import RecordingSegment, RecordingSession, SessionStatus

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def _session(room: Any, key: str, ended: datetime, bucket: str) -> int:
    session = RecordingSession(
        key=key,
        room_id=room.id,
        status=SessionStatus.CLOSED,
        requested_by="system:test",
        started_at=ended - timedelta(hours=8),
        ended_at=ended,
        manifest_key=f"{key}/manifest.json",
        manifest_sha256="0" * 64,
        bucket=bucket,
    )
    db.session.add(session)
    db.session.flush()
    storage = get_storage()
    storage.put(bucket, f"{key}/init-0.mp4", b"init")
    storage.put(bucket, f"{key}/seg-0.m4s", b"media")
    storage.put(bucket, f"{key}/manifest.json", b"{}")
    us = int(ended.timestamp() * 1e6)
    db.session.add(
        RecordingSegment(
            session_id=session.id,
            sequence=0,
            period=0,
            object_key=f"{key}/seg-0.m4s",
            size=5,
            sha256="0" * 64,
            init_key=f"{key}/init-0.mp4",
            init_sha256="0" * 64,
            prev_chain_hash="0" * 64,
            chain_hash="1" * 64,
            wall_start_us=us - 4_000_000,
            wall_end_us=us,
            wall_start_at=ended - timedelta(seconds=4),
            wall_end_at=ended,
            mono_start_ns=0,
            mono_end_ns=4_000_000_000,
            video_duration_us=4_000_000,
            audio_duration_us=0,
        )
    )
    db.session.flush()
    return int(session.id)


def test_old_window_recordings_go_logged_and_tendering_recordings_stay(app: Flask, clock: Any) -> None:
    from app.supervision.presence.retention import SealedRecording, delete_recording, sweep_retention

    clock.set(NOW)
    with app.app_context():
        window = rec.create_room(actor="system:test", code="window-01", name="01号窗口", kind="window")
        opening = rec.create_room(actor="system:test", code="opening-hall", name="开标室", kind="opening")
        evaluation = rec.create_room(actor="system:test", code="eval-room", name="评标室", kind="evaluation")
        old = _session(window, "window-01-old", NOW - timedelta(days=31), WINDOW_RECORDINGS)
        recent = _session(window, "window-01-recent", NOW - timedelta(days=29), WINDOW_RECORDINGS)
        sealed = _session(opening, "opening-old", NOW - timedelta(days=400), RECORDINGS)
        sealed2 = _session(evaluation, "eval-old", NOW - timedelta(days=400), RECORDINGS)
        db.session.commit()

        assert sweep_retention() == {"deleted": 1, "refused": 0}
        db.session.commit()
        assert {s.id for s in db.session.scalars(select(RecordingSession))} == {recent, sealed, sealed2}
        storage = get_storage()
        assert not storage.exists(WINDOW_RECORDINGS, "window-01-old/seg-0.m4s")
        assert not storage.exists(WINDOW_RECORDINGS, "window-01-old/manifest.json")
        assert storage.exists(WINDOW_RECORDINGS, "window-01-recent/seg-0.m4s")
        assert storage.exists(RECORDINGS, "opening-old/seg-0.m4s") and storage.exists(RECORDINGS, "eval-old/seg-0.m4s")
        assert db.session.scalar(select(func.count()).where(RecordingSegment.session_id == old)) == 0
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "supervision.presence.recording_deleted")
        ).all()
        assert entry.subject == f"recording:{old}"
        assert (entry.data["key"], entry.data["room"], entry.data["segments"], entry.data["bytes"]) == (
            "window-01-old",
            "window-01",
            1,
            5,
        )
        assert sweep_retention() == {"deleted": 0, "refused": 0}  # idempotent

        # Even asked directly, a tendering recording is refused.
        for sid in (sealed, sealed2):
            with pytest.raises(SealedRecording):
                delete_recording(db.session.get(RecordingSession, sid), reason="test")
        db.session.rollback()

        # The period is a setting.
        app.config["SUPERVISION_WINDOW_RETENTION_DAYS"] = 7
        assert sweep_retention() == {"deleted": 1, "refused": 0}
        db.session.commit()
        assert {s.id for s in db.session.scalars(select(RecordingSession))} == {sealed, sealed2}


def test_a_window_recording_in_the_write_once_bucket_is_refused_not_half_deleted(app: Flask, clock: Any) -> None:
    from app.supervision.presence.retention import sweep_retention

    clock.set(NOW)
    with app.app_context():
        window = rec.create_room(actor="system:test", code="window-02", name="02号窗口", kind="window")
        sid = _session(window, "window-02-old", NOW - timedelta(days=60), RECORDINGS)
        db.session.commit()
        assert sweep_retention() == {"deleted": 0, "refused": 1}
        db.session.commit()
        assert db.session.get(RecordingSession, sid) is not None
        assert get_storage().exists(RECORDINGS, "window-02-old/seg-0.m4s")


def test_the_sweep_never_deletes_from_the_write_once_bucket(
    app: Flask, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every delete the sweep sends names the windows' bucket (or exports); a row that claims otherwise is refused."""
    from app.core.storage import WriteOnceViolation
    from app.supervision.presence.retention import NotDeletable, SealedRecording, delete_recording, sweep_retention

    clock.set(NOW)
    with app.app_context():
        storage = get_storage()
        deletes: list[tuple[str, str]] = []
        real_delete = storage.delete

        def spy(bucket: str, key: str) -> None:
            deletes.append((bucket, key))
            real_delete(bucket, key)

        monkeypatch.setattr(storage, "delete", spy)
        window = rec.create_room(actor="system:test", code="window-03", name="03号窗口", kind="window")
        opening = rec.create_room(actor="system:test", code="opening-3", name="开标室", kind="opening")
        for n in range(3):
            _session(window, f"window-03-{n}", NOW - timedelta(days=40 + n), WINDOW_RECORDINGS)
        legacy = _session(window, "window-03-legacy", NOW - timedelta(days=90), RECORDINGS)
        sealed = _session(opening, "opening-3-old", NOW - timedelta(days=900), RECORDINGS)
        # A tendering session whose row was made to name the windows' bucket: the room's kind still protects it.
        forged = _session(opening, "opening-3-forged", NOW - timedelta(days=900), WINDOW_RECORDINGS)
        db.session.commit()

        assert sweep_retention() == {"deleted": 3, "refused": 1}
        db.session.commit()
        assert deletes, "the sweep deleted nothing"
        assert {bucket for bucket, _key in deletes} == {WINDOW_RECORDINGS}
        assert sorted({key.split("/")[0] for _bucket, key in deletes}) == [f"window-03-{n}" for n in range(3)]
        assert {s.id for s in db.session.scalars(select(RecordingSession))} == {legacy, sealed, forged}
        for key in ("window-03-legacy", "opening-3-old"):
            assert storage.exists(RECORDINGS, f"{key}/seg-0.m4s") and storage.exists(RECORDINGS, f"{key}/manifest.json")
        assert storage.exists(WINDOW_RECORDINGS, "opening-3-forged/seg-0.m4s")

        deletes.clear()
        with pytest.raises(NotDeletable):
            delete_recording(db.session.get(RecordingSession, legacy), reason="test")
        for sid in (sealed, forged):
            with pytest.raises(SealedRecording):
                delete_recording(db.session.get(RecordingSession, sid), reason="test")
        db.session.rollback()
        assert deletes == []
        # And below the sweep, the store itself refuses: the write-once bucket cannot lose an object.
        with pytest.raises(WriteOnceViolation):
            real_delete(RECORDINGS, "opening-3-old/seg-0.m4s")
        assert storage.exists(RECORDINGS, "opening-3-old/seg-0.m4s")
