"""The `since` cursor never skips a release while others are being published (PostgreSQL, parallel writers that
hold their transaction open after taking a sequence number, a reader paging all the while)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from tests import factories

WRITERS = 8
PER_WRITER = 6


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_reader_paging_during_parallel_publication_sees_every_release_once(world, clock, monkeypatch) -> None:
    from app.core.time import now_utc
    from app.extensions import db
    from app.publication.ocds import hooks
    from app.publication.ocds.build import Event
    from app.publication.ocds.models import OcdsRelease

    app = world.app
    tender = factories.published_tender(world)
    real_allocate = hooks.allocate_seq

    def slow_allocate(session: Any) -> int:
        seq = real_allocate(session)
        time.sleep(random.uniform(0, 0.02))  # the transaction stays open after taking its number
        return seq

    monkeypatch.setattr(hooks, "allocate_seq", slow_allocate)
    done = threading.Event()
    barrier = threading.Barrier(WRITERS + 1)

    def write(w: int) -> None:
        barrier.wait()
        for i in range(PER_WRITER):
            with app.app_context():
                index = 1_000_000 + w * 100 + i  # release ids are named after the log index: any unique number
                ev = Event(index, "tendering.tender.clarification", tender["id"], now_utc(), {})
                hooks.write_releases(db.session(), [ev])
                time.sleep(random.uniform(0, 0.01))
                db.session.commit()
                db.session.remove()

    def read() -> list[str]:
        client = app.test_client()
        seen: list[str] = []
        since = 0
        barrier.wait()
        while True:
            finished = done.is_set()  # read once more after the writers are done
            resp = client.get(f"/api/v1/ocds/releases?since={since}&limit=3")
            assert resp.status_code == 200
            seen += [r["id"] for r in resp.json["releases"]]
            since = resp.json["links"]["since"]
            if finished and not resp.json["releases"]:
                return seen

    with ThreadPoolExecutor(WRITERS + 1) as pool:
        reader = pool.submit(read)
        writers = [pool.submit(write, w) for w in range(WRITERS)]
        for f in writers:
            f.result()
        done.set()
        seen = reader.result()
    with app.app_context():
        stored = list(db.session.scalars(select(OcdsRelease.release_id).order_by(OcdsRelease.seq)))
    assert len(stored) == 1 + WRITERS * PER_WRITER
    assert seen == stored  # every release, once, in sequence order: none skipped behind the cursor
