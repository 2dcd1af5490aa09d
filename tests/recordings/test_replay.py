"""Replay: the page, the HLS playlist and the media proxy for an auditor; refusals for a bidder; integrity that
names a tampered segment; events on the wall-clock timeline; grants; hostile input answered with 4xx."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.recordings.conftest import Recorded, csrf_of, user_client


def _actions(app: Flask, action: str) -> list[Any]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _rows(app: Flask, session_id: int) -> list[Any]:
    from app.extensions import db
    from app.recordings.models import RecordingSegment

    with app.app_context():
        rows = db.session.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.session_id == session_id)
            .order_by(RecordingSegment.sequence)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_auditor_replays_page_playlist_and_ranged_media(app: Flask, auditor: Any, recorded: Recorded) -> None:
    sid = recorded.session_id
    page = auditor.get(f"/recordings/sessions/{sid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-intact="true"' in html and "The recording is intact." in html
    # the events written during the recording are on the timeline, with their place in the player
    for index, _at in recorded.events:
        assert f'data-index="{index}"' in html
    rows = _rows(app, sid)

    playlist = auditor.get(f"/recordings/sessions/{sid}/playlist.m3u8")
    assert playlist.status_code == 200 and playlist.mimetype == "application/vnd.apple.mpegurl"
    text = playlist.get_data(as_text=True)
    assert text.startswith("#EXTM3U") and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == len(rows)
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris == [f"/recordings/sessions/{sid}/media/{r.object_key}" for r in rows]
    init_uri = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text).group(1)
    assert auditor.get(init_uri).status_code == 200

    whole = auditor.get(uris[1])
    assert whole.status_code == 200 and len(whole.data) == rows[1].size
    part = auditor.get(uris[1], headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.data == whole.data[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{rows[1].size}"
    assert auditor.get(uris[1], headers={"Range": f"bytes={rows[1].size + 10}-"}).status_code == 416

    replays = _actions(app, "recording.replayed")
    assert len(replays) == 1 and replays[0].subject == f"recording:{sid}" and replays[0].data["intact"] is True

    api = auditor.get(f"/api/v1/recordings/sessions/{sid}/events")
    assert api.status_code == 200
    events = {e["index"]: e for e in api.get_json()}
    for index, at in recorded.events:
        event = events[index]
        first = rows[0].wall_start_us / 1e6
        # no gaps: the player's time is the event's instant minus the first program date-time
        assert abs(event["media_time"] - (at - first)) < 0.01


def test_bidder_is_refused_and_the_refusal_is_logged(app: Flask, bidder: Any, recorded: Recorded) -> None:
    sid = recorded.session_id
    key = _rows(app, sid)[0].object_key
    for url in (
        f"/recordings/sessions/{sid}",
        f"/recordings/sessions/{sid}/playlist.m3u8",
        f"/recordings/sessions/{sid}/media/{key}",
        f"/api/v1/recordings/sessions/{sid}/integrity",
    ):
        assert bidder.get(url).status_code == 403, url
    denied = _actions(app, "recording.access_denied")
    assert {e.data["what"] for e in denied} == {"replay", "playlist", "media", "integrity"}
    assert bidder.get("/api/v1/recordings/sessions").get_json() == []
    anonymous = app.test_client()
    assert anonymous.get(f"/api/v1/recordings/sessions/{sid}").status_code == 401
    assert anonymous.get(f"/recordings/sessions/{sid}").status_code in (302, 303)


def test_integrity_names_a_segment_altered_in_place(app: Flask, auditor: Any, recorded: Recorded) -> None:
    sid = recorded.session_id
    rows = _rows(app, sid)
    victim = rows[2]
    path = Path(app.config["STORAGE_URL"].removeprefix("file://")) / "recordings" / victim.object_key
    os.chmod(path, 0o600)  # write-once files are read-only; an attacker with the disk does not care
    with open(path, "r+b") as fh:  # same inode, same size: the store's own checksum cannot notice
        fh.seek(victim.size // 2)
        byte = fh.read(1)
        fh.seek(victim.size // 2)
        fh.write(bytes([byte[0] ^ 0x01]))
    report = auditor.get(f"/api/v1/recordings/sessions/{sid}/integrity").get_json()
    assert report["intact"] is False
    assert report["bad_sequences"] == [victim.sequence]
    assert report["manifest"] == "verified"  # the signed manifest itself is fine; the bytes are not
    assert report["problems"][0]["kind"] == "hash_mismatch" and report["problems"][0]["key"] == victim.object_key
    html = auditor.get(f"/recordings/sessions/{sid}").get_data(as_text=True)
    assert 'data-intact="false"' in html and "The recording is NOT intact." in html
    assert f'data-sequence="{victim.sequence}"' in html
    assert _actions(app, "recording.replayed")[-1].data["intact"] is False


def test_a_row_altered_in_the_database_breaks_chain_and_manifest(app: Flask, auditor: Any, recorded: Recorded) -> None:
    from app.extensions import db
    from app.recordings.models import RecordingSegment

    sid = recorded.session_id
    with app.app_context():
        row = db.session.scalar(
            select(RecordingSegment).where(RecordingSegment.session_id == sid, RecordingSegment.sequence == 1)
        )
        row.wall_start_us += 5_000_000  # somebody re-times a segment
        db.session.commit()
    report = auditor.get(f"/api/v1/recordings/sessions/{sid}/integrity").get_json()
    assert report["intact"] is False and report["bad_sequences"] == [1]
    assert {p["kind"] for p in report["problems"]} == {"chain_break", "row_mismatch"}


def test_grant_lets_another_user_replay_until_revoked(app: Flask, auditor: Any, recorded: Recorded) -> None:
    sid = recorded.session_id
    expert = user_client(app, "expert1", ["expert"])
    assert expert.get(f"/recordings/sessions/{sid}").status_code == 403
    resp = auditor.post(
        f"/api/v1/recordings/sessions/{sid}/grants",
        json={"username": "expert1", "reason": "objection review"},
        headers={"X-CSRFToken": csrf_of(auditor)},
    )
    assert resp.status_code == 201, resp.get_json()
    grant_id = resp.get_json()["id"]
    assert expert.get(f"/recordings/sessions/{sid}").status_code == 200
    assert [s["id"] for s in expert.get("/api/v1/recordings/sessions").get_json()] == [sid]
    # a grant to replay is not a grant to export
    assert (
        expert.post(
            f"/api/v1/recordings/sessions/{sid}/exports",
            json={"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T00:00:05Z"},
            headers={"X-CSRFToken": csrf_of(expert)},
        ).status_code
        == 403
    )
    # only auditors grant
    assert (
        expert.post(
            f"/api/v1/recordings/sessions/{sid}/grants",
            json={"username": "expert1"},
            headers={"X-CSRFToken": csrf_of(expert)},
        ).status_code
        == 403
    )
    resp = auditor.delete(f"/api/v1/recordings/grants/{grant_id}", headers={"X-CSRFToken": csrf_of(auditor)})
    assert resp.status_code == 200 and resp.get_json()["revoked_at"]
    assert expert.get(f"/recordings/sessions/{sid}").status_code == 403
    assert {e.action for e in _actions(app, "recording.replay_granted")} == {"recording.replay_granted"}


def test_hostile_input_gets_4xx_problems(app: Flask, auditor: Any, recorded: Recorded) -> None:
    sid = recorded.session_id
    token = {"X-CSRFToken": csrf_of(auditor)}
    for url in (
        f"/recordings/sessions/{sid}/media/../../secret_key",
        f"/recordings/sessions/{sid}/media/recordings/other-session/seg-000000.m4s",
        f"/recordings/sessions/{sid}/media/" + "a/" * 300,
        "/recordings/sessions/99999999999999/playlist.m3u8",
        "/api/v1/recordings/sessions/2147483648/integrity",
        "/recordings/exports/5/exe",
    ):
        assert auditor.get(url).status_code == 404, url
    bad_exports = [
        {"start": "yesterday", "end": "2020-01-01T00:00:05Z"},
        {"start": "2020-01-01T00:00:05", "end": "2020-01-01T00:00:09"},  # naive
        {"start": "2020-01-01T00:00:05Z", "end": "2020-01-01T00:00:01Z"},  # backwards
        {"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T00:00:05Z"},  # nothing recorded then
        {"start": "2020-01-01T00:00:00Z", "end": "2030-01-01T00:00:05Z"},  # too long
        {"start": None},
    ]
    for body in bad_exports:
        resp = auditor.post(f"/api/v1/recordings/sessions/{sid}/exports", json=body, headers=token)
        assert resp.status_code == 422, (body, resp.get_json())
        assert resp.mimetype == "application/problem+json"
    resp = auditor.post(f"/api/v1/recordings/sessions/{sid}/grants", json={"username": "nobody-here"}, headers=token)
    assert resp.status_code == 404
    resp = auditor.post(
        f"/api/v1/recordings/sessions/{sid}/grants",
        json={"username": "auditor1", "expires_at": "2001-01-01T00:00:00Z"},
        headers=token,
    )
    assert resp.status_code == 422
