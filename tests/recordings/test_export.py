"""Export a time range as one faststart MP4 with its signed EXPORT.json, and verify it offline with
`python -m crypto verify-recording` (the auditor's tool, which knows nothing of the platform)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.recordings.conftest import Recorded, csrf_of

ROOT = Path(__file__).resolve().parents[2]


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crypto", "verify-recording", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _verify_document(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crypto", "verify-document", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_export_range_to_mp4_and_verify_offline(app: Flask, auditor: Any, recorded: Recorded, tmp_path: Path) -> None:
    from app.audit.models import AuditEntry
    from app.core.keys import platform_public_keys
    from app.extensions import db
    from app.recordings import exports
    from app.recordings.models import RecordingSegment
    from recording.fmp4 import iter_boxes

    sid = recorded.session_id
    with app.app_context():
        rows = db.session.scalars(
            select(RecordingSegment).where(RecordingSegment.session_id == sid).order_by(RecordingSegment.sequence)
        ).all()
        start_us = rows[1].wall_start_us + 200_000
        end_us = rows[3].wall_end_us - 200_000
        public_pem = platform_public_keys()[0]["public_key_pem"]
    start = datetime.fromtimestamp(start_us / 1e6, UTC).isoformat()
    end = datetime.fromtimestamp(end_us / 1e6, UTC).isoformat()
    resp = auditor.post(
        f"/api/v1/recordings/sessions/{sid}/exports",
        json={"start": start, "end": end},
        headers={"X-CSRFToken": csrf_of(auditor)},
    )
    assert resp.status_code == 202, resp.get_json()
    export_id = resp.get_json()["id"]
    assert resp.get_json()["status"] == "pending"
    with app.app_context():
        assert exports.run_export(export_id) == "done"  # what the worker runs
        db.session.commit()
    info = auditor.get(f"/api/v1/recordings/exports/{export_id}").get_json()
    assert info["status"] == "done" and (info["first_sequence"], info["last_sequence"]) == (1, 3)

    mp4 = auditor.get(info["mp4_url"])
    assert mp4.status_code == 200 and mp4.mimetype == "video/mp4"
    assert "attachment" in mp4.headers["Content-Disposition"]
    mp4_path = tmp_path / "export.mp4"
    mp4_path.write_bytes(mp4.data)
    assert len(mp4.data) == info["size"]
    top = [kind for kind, _s, _e in iter_boxes(mp4.data)]
    assert top.index("moov") < top.index("mdat"), "not faststart"
    probe = _ffprobe(mp4_path)
    assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
    expected = (rows[3].wall_end_us - rows[1].wall_start_us) / 1e6
    assert abs(float(probe["format"]["duration"]) - expected) < 0.15
    part = auditor.get(info["mp4_url"], headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.data == mp4.data[:8]

    doc = auditor.get(info["json_url"])
    assert doc.status_code == 200
    export_json = tmp_path / "EXPORT.json"
    export_json.write_bytes(doc.data)
    key_file = tmp_path / "platform.pub.pem"
    key_file.write_text(public_pem)

    ok = _verify(str(export_json), "--key", str(key_file), "--mp4", str(mp4_path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK export verified") and "segments 1-3" in ok.stdout and "MP4" in ok.stdout

    # `verify-document` recognises the export and the session's stored manifest, and names a changed byte in either
    from app.core.storage import get_storage
    from app.recordings.models import RecordingSession

    with app.app_context():
        session = db.session.get(RecordingSession, sid)
        with get_storage().open(session.bucket, session.manifest_key) as fh:
            (tmp_path / "manifest.json").write_bytes(fh.read())
    (tmp_path / "EXPORT.mp4").write_bytes(mp4.data)  # beside the export under its name: checked too
    both = [str(export_json), str(tmp_path / "manifest.json")]
    done = _verify_document(*both, "--key", str(key_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recording export" in done.stdout and "MP4" in done.stdout and "matches" in done.stdout
    assert "recording manifest" in done.stdout and "chain intact" in done.stdout
    for name, what in ((str(export_json), "recording export"), (both[1], "the manifest:")):
        text = Path(name).read_text()
        found = re.search(r'"sha256": ?"', text)
        assert found is not None
        at = found.end() + 5
        Path(name).write_text(text[:at] + ("1" if text[at] == "0" else "0") + text[at + 1 :])
        done = _verify_document(name, "--key", str(key_file))
        assert done.returncode == 1 and done.stdout.startswith("FAIL") and what in done.stdout, done.stdout
        Path(name).write_text(text)

    # a single flipped byte in the MP4, an edited excerpt, another key: each fails, saying why
    bad_mp4 = tmp_path / "bad.mp4"
    data = bytearray(mp4.data)
    data[len(data) // 2] ^= 1
    bad_mp4.write_bytes(bytes(data))
    failed = _verify(str(export_json), "--key", str(key_file), "--mp4", str(bad_mp4))
    assert failed.returncode == 1 and "is not the signed MP4" in failed.stdout

    edited = json.loads(doc.data)
    edited["excerpt"]["segments"][0]["wall_start_us"] += 1_000_000
    edited_path = tmp_path / "edited.json"
    edited_path.write_text(json.dumps(edited))
    failed = _verify(str(edited_path), "--key", str(key_file))
    assert failed.returncode == 1 and "excerpt segment 1 differs" in failed.stdout

    edited = json.loads(doc.data)
    edited["manifest"]["manifest"]["segments"][2]["sha256"] = "00" * 32
    edited_path.write_text(json.dumps(edited))
    failed = _verify(str(edited_path), "--key", str(key_file))
    assert failed.returncode == 1 and "manifest's signature does not verify" in failed.stdout

    from crypto.signing import generate_private_key, public_key_to_pem

    other = tmp_path / "other.pem"
    other.write_bytes(public_key_to_pem(generate_private_key().public_key()))
    failed = _verify(str(export_json), "--key", str(other))
    assert failed.returncode == 1
    assert _verify(str(tmp_path / "missing.json"), "--key", str(key_file)).returncode == 2

    with app.app_context():
        actions = [
            e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.subject == f"recording:{sid}"))
        ]
    assert {"recording.export_requested", "recording.exported", "recording.export_downloaded"} <= set(actions)


def test_export_needs_a_closed_session_and_the_permission(app: Flask, bidder: Any, recorded: Recorded) -> None:
    resp = bidder.post(
        f"/api/v1/recordings/sessions/{recorded.session_id}/exports",
        json={"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T00:00:05Z"},
        headers={"X-CSRFToken": csrf_of(bidder)},
    )
    assert resp.status_code == 403
