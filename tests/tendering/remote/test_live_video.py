"""The opening room, live, in the remote opening page: the room recorder (synthetic camera, real time) films the
tender's opening; the tender's bidders read the growing (EVENT) HLS playlist and its segments through the opening
page's routes, everyone else is refused; once the recording stops the live playlist is gone (the replay stays with
the recordings). Also measures how long after capture a segment is listed (what a viewer waits on top of the
player's buffer)."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.accounts.helpers import login
from tests.factories import published_tender, submitted_bid
from tests.recordings.conftest import create_room
from tests.tendering.helpers import World

SEGMENT_SECONDS = 1.0


def _client(world: World, username: str) -> Any:
    client = world.app.test_client()
    assert login(client, username).status_code == 303
    return client


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # real-time recording: once is enough
def test_bidders_watch_the_live_playlist_while_the_room_is_filmed(world: World, clock: Any) -> None:
    from app.extensions import db
    from app.recordings.models import RecordingSegment, RecordingSession
    from app.recordings.recorder import Options, RoomRecorder

    at = clock.now() + timedelta(seconds=5)
    tender = published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), min_bids=1)
    tid = tender["id"]
    submitted_bid(world, world.bidders[0], tender)
    bidder, outsider = _client(world, "bidder1"), _client(world, "bidder2")
    playlist_url = f"/tenders/{tid}/opening/live/playlist.m3u8"
    assert bidder.get(playlist_url).status_code == 404  # nothing filmed yet
    assert 'id="live-video" aria-labelledby="video-heading" hidden' in bidder.get(f"/tenders/{tid}/opening/live").text
    assert bidder.get(f"/tenders/{tid}/opening/live.json").get_json()["filming"] is False

    create_room(world.app)
    options = Options(room="room-a", segment_seconds=SEGMENT_SECONDS, preset="ultrafast", subject=f"tender:{tid}")
    with world.app.app_context():
        from app.recordings import services

        services.request_start("room-a", actor="test", subject=f"tender:{tid}")
        db.session.commit()
    recorder = RoomRecorder(world.app, options, echo=lambda _line: None)
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    lags: list[float] = []
    seen: set[str] = set()
    sizes: list[int] = []
    try:
        deadline = time.monotonic() + 20
        while len(seen) < 4 and time.monotonic() < deadline:
            resp = bidder.get(playlist_url)
            if resp.status_code == 200:
                text = resp.get_data(as_text=True)
                assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text  # growing
                uris = re.findall(r"^(/tenders/\d+/opening/live/media/\S+)$", text, re.M)
                sizes.append(len(uris))
                now = time.time()
                with world.app.app_context():
                    ends = {
                        r.object_key: r.wall_end_us
                        for r in db.session.scalars(
                            select(RecordingSegment).where(RecordingSegment.uploaded_at.is_not(None))
                        )
                    }
                for uri in uris:
                    key = uri.split("/media/", 1)[1]
                    if key in ends and key not in seen and not key.endswith("init.mp4"):
                        seen.add(key)
                        lags.append(now - ends[key] / 1e6)
            time.sleep(0.1)
        assert len(seen) >= 3, sizes
        assert sizes == sorted(sizes)  # it only grows
        page = bidder.get(f"/tenders/{tid}/opening/live").get_data(as_text=True)
        assert f'data-playlist="{playlist_url}"' in page and "dist/replay.js" in page
        assert 'aria-labelledby="video-heading">' in page  # shown (not hidden) while filmed
        assert bidder.get(f"/tenders/{tid}/opening/live.json").get_json()["filming"] is True
        segment = bidder.get(uris[-1])
        assert segment.status_code == 200 and segment.mimetype == "video/mp4" and len(segment.data) > 100
        assert outsider.get(playlist_url).status_code == 403 and outsider.get(uris[-1]).status_code == 403
        assert bidder.get(f"/tenders/{tid}/opening/live/media/not-a-key").status_code == 404
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    with world.app.app_context():
        ended = db.session.scalars(select(RecordingSession)).one().ended_at
    assert ended is not None and bidder.get(playlist_url).status_code == 404  # the live view ends with the filming
    # How long after a segment's last frame it is listed (1-second segments here; the default is 4 seconds).
    print(f"\nlive HLS: segment listed {min(lags):.2f}-{max(lags):.2f} s after its last frame ({len(lags)} segments)")
    assert max(lags) < 5.0
