"""Where a room's media goes: a convenience window's recording into its own `window-recordings` bucket (not
write-once, so the retention sweep may delete it), an opening or evaluation room's into the write-once `recordings`
bucket. Recorder, signed manifest, integrity check, replay (page, playlist, media), export and API all follow the
session's bucket."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.recordings.conftest import create_room, record


def _root(app: Flask) -> Path:
    return Path(app.config["STORAGE_URL"].removeprefix("file://"))


def _keys(app: Flask, session_id: int) -> tuple[str, list[str]]:
    """(bucket, every object key) of a closed session: segments, init sections, manifest."""
    from app.extensions import db
    from app.recordings.models import RecordingSession

    with app.app_context():
        session = db.session.get(RecordingSession, session_id)
        assert session is not None and session.is_closed and session.manifest_key
        keys = sorted({r.object_key for r in session.segments} | {r.init_key for r in session.segments})
        return session.bucket, [*keys, session.manifest_key]


def test_a_window_recording_lands_in_the_window_bucket_and_replays_from_there(
    app: Flask, auditor: Any, tmp_path: Path
) -> None:
    from app.core.storage import RECORDINGS, WINDOW_RECORDINGS, get_storage
    from app.extensions import db
    from app.recordings import exports
    from app.recordings import replay as rp
    from app.recordings.models import RecordingSession

    create_room(app, "window-01", name="01号窗口", kind="window", source="footage")  # the demo window's camera
    sid = record(app, room="window-01", seconds=4.5, subject=None).session_id
    bucket, keys = _keys(app, sid)
    assert bucket == WINDOW_RECORDINGS
    root = _root(app)
    for key in keys:
        assert (root / WINDOW_RECORDINGS / key).is_file(), key
        assert not (root / RECORDINGS / key).exists(), f"{key} was written to the write-once bucket"
    manifest = json.loads((root / WINDOW_RECORDINGS / keys[-1]).read_bytes())
    assert manifest["manifest"]["bucket"] == WINDOW_RECORDINGS  # signed: the manifest says where its media lies

    with app.app_context():
        session = db.session.get(RecordingSession, sid)
        assert not session.is_write_once
        report = rp.verify_session(session)
        assert report.intact and report.manifest == "verified", report.as_dict()
        assert report.checked_segments == len(session.segments) >= 3
        seg = session.segments[1]
        seg_key, seg_sha = seg.object_key, seg.sha256

    app.config["SUPERVISION_WINDOW_RETENTION_DAYS"] = 7  # the page says what the retention sweep deletes by
    page = auditor.get(f"/recordings/sessions/{sid}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-intact="true"' in html
    assert 'data-bucket="window-recordings"' in html and "7 days after it ends, then deleted" in html
    playlist = auditor.get(f"/recordings/sessions/{sid}/playlist.m3u8").get_data(as_text=True)
    assert f"/recordings/sessions/{sid}/media/{seg_key}" in playlist
    media = auditor.get(f"/recordings/sessions/{sid}/media/{seg_key}")
    assert media.status_code == 200 and hashlib.sha256(media.data).hexdigest() == seg_sha
    api = auditor.get(f"/api/v1/recordings/sessions/{sid}").get_json()
    assert (api["bucket"], api["write_once"]) == (WINDOW_RECORDINGS, False)

    # An export reads the segments from the window's bucket.
    with app.app_context():
        session = db.session.get(RecordingSession, sid)
        spans = rp.media_spans(session)
        from recording.clock import from_epoch_us

        export = exports.request_export(
            session, from_epoch_us(spans[0].wall_start_us), from_epoch_us(spans[-1].wall_end_us), actor="user:1"
        )
        db.session.commit()
        assert exports.run_export(export.id) == "done", exports.get_export(export.id).error
        db.session.commit()
        export = exports.get_export(export.id)
        assert export.first_sequence == 0 and export.last_sequence == len(session.segments) - 1

    # Verification reads the window's bucket too: an object altered there is named.
    tampered = root / WINDOW_RECORDINGS / seg_key
    tampered.write_bytes(tampered.read_bytes()[:-16] + bytes(16))
    with app.app_context():
        report = rp.verify_session(db.session.get(RecordingSession, sid))
        assert not report.intact and report.bad_sequences == [1], report.as_dict()
        # Not write-once: the retention sweep can delete the window's objects.
        get_storage().delete(WINDOW_RECORDINGS, keys[0])
        assert not get_storage().exists(WINDOW_RECORDINGS, keys[0])


def test_an_opening_recording_still_lands_in_the_write_once_bucket(app: Flask, auditor: Any) -> None:
    from app.audit.models import AuditEntry
    from app.core.storage import RECORDINGS, WINDOW_RECORDINGS, WriteOnceViolation, get_storage
    from app.extensions import db
    from app.recordings import replay as rp
    from app.recordings.models import RecordingSession

    create_room(app, "opening-1", kind="opening")
    sid = record(app, room="opening-1", seconds=4.0).session_id
    bucket, keys = _keys(app, sid)
    assert bucket == RECORDINGS
    root = _root(app)
    for key in keys:
        assert (root / RECORDINGS / key).is_file(), key
        assert not (root / WINDOW_RECORDINGS / key).exists()
    with app.app_context():
        session = db.session.get(RecordingSession, sid)
        assert session.is_write_once
        assert rp.verify_session(session).intact
        requested = db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "recording.session_requested", AuditEntry.subject == f"recording:{sid}"
            )
        )
        assert requested.data["bucket"] == RECORDINGS
        with pytest.raises(WriteOnceViolation):
            get_storage().delete(RECORDINGS, keys[0])
    assert auditor.get(f"/api/v1/recordings/sessions/{sid}").get_json()["write_once"] is True
    page = auditor.get(f"/recordings/sessions/{sid}").get_data(as_text=True)
    assert 'data-bucket="recordings"' in page and "For good" in page


@pytest.mark.parametrize(("kind", "bucket"), [("window", "window-recordings"), ("evaluation", "recordings")])
def test_the_room_kind_chooses_the_bucket_of_each_new_session(app: Flask, kind: str, bucket: str) -> None:
    from app.extensions import db
    from app.recordings import services

    result = app.test_cli_runner().invoke(
        args=["recording", "add-room", "--code", "r-1", "--name", "Room", "--kind", kind]
    )
    assert result.exit_code == 0 and f"the {bucket} bucket" in result.output, result.output
    with app.app_context():
        session = services.request_start("r-1", actor="user:1")
        db.session.commit()
        assert session.bucket == bucket
