"""Replay through the media URLs leaves evidence: one `recording.media.accessed` entry per viewer, recording and
window (not one per segment), and anonymous attempts on a recording are logged as refused access."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.recordings.conftest import Recorded, user_client


def _entries(app: Flask, action: str) -> list[Any]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        rows = list(
            db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.index))
        )
        db.session.expunge_all()
        return rows


def _fetch_everything(client: Any, sid: int) -> int:
    """What a player (or a script) does without the replay page: the playlist, the init sections, every segment."""
    playlist = client.get(f"/recordings/sessions/{sid}/playlist.m3u8")
    assert playlist.status_code == 200
    text = playlist.get_data(as_text=True)
    uris = set(re.findall(r'#EXT-X-MAP:URI="([^"]+)"', text))
    uris |= {line for line in text.splitlines() if line and not line.startswith("#")}
    for uri in sorted(uris):
        assert client.get(uri).status_code == 200, uri
    return len(uris)


def test_media_fetched_without_the_page_is_logged_once_per_viewer_and_window(
    app: Flask, auditor: Any, recorded: Recorded
) -> None:
    from app.extensions import db
    from app.recordings.models import RecordingMediaAccess

    sid = recorded.session_id
    assert _fetch_everything(auditor, sid) > 3
    assert _entries(app, "recording.replayed") == []  # no page was opened
    accessed = _entries(app, "recording.media.accessed")
    assert len(accessed) == 1, [e.data for e in accessed]
    entry = accessed[0]
    assert entry.subject == f"recording:{sid}" and entry.actor.startswith("user:")
    assert entry.data["first"] == "playlist" and entry.data["window_s"] == 3600

    # Fetching it all again in the same window adds nothing; another viewer gets an entry of their own.
    _fetch_everything(auditor, sid)
    assert len(_entries(app, "recording.media.accessed")) == 1
    other = user_client(app, "auditor2", ["auditor"])
    text = other.get(f"/recordings/sessions/{sid}/playlist.m3u8").get_data(as_text=True)
    segment = next(line for line in text.splitlines() if line and not line.startswith("#"))
    accessed = _entries(app, "recording.media.accessed")
    assert len(accessed) == 2 and accessed[1].actor != accessed[0].actor

    # The next window: the first media request (here a segment, not the playlist) writes a new entry.
    with app.app_context():
        for row in db.session.scalars(select(RecordingMediaAccess)):
            row.window_start -= timedelta(hours=1)
        db.session.commit()
    assert auditor.get(segment).status_code == 200
    accessed = _entries(app, "recording.media.accessed")
    assert len(accessed) == 3 and accessed[2].actor == accessed[0].actor and accessed[2].data["first"] == "media"


def test_anonymous_attempts_on_a_recording_are_logged_as_refused(app: Flask, auditor: Any, recorded: Recorded) -> None:
    sid = recorded.session_id
    playlist = auditor.get(f"/recordings/sessions/{sid}/playlist.m3u8").get_data(as_text=True)
    segment = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
    anonymous = app.test_client()
    assert anonymous.get(segment).status_code in (302, 303, 401)
    assert anonymous.get(f"/recordings/sessions/{sid}/playlist.m3u8").status_code in (302, 303, 401)
    assert anonymous.get(f"/api/v1/recordings/sessions/{sid}").status_code == 401
    assert anonymous.get("/api/v1/recordings/sessions/999999/integrity").status_code == 401  # no such recording
    refused = _entries(app, "recording.access_denied")
    # One entry for the address, recording and window, however many requests it sent (a flood cannot grow the log).
    assert len(refused) == 1, [e.data for e in refused]
    entry = refused[0]
    assert entry.actor == "anonymous" and entry.subject == f"recording:{sid}"
    assert entry.data["anonymous"] is True and entry.data["what"] == "media"
    assert entry.data["address"] == "127.0.0.1"
    # Media seen by nobody but the auditor.
    assert [e.actor for e in _entries(app, "recording.media.accessed")] == [
        _entries(app, "recording.media.accessed")[0].actor
    ]
