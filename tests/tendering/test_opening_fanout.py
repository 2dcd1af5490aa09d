"""The opening spread over worker processes: one `tendering.open_envelope` task per envelope beside the sweep.

Each task is idempotent (an envelope recorded or claimed elsewhere is skipped, a killed one leaves the envelope
sealed for the retry), and the stage's record is signed exactly once, by whichever records the last outcome.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from tests.tendering.helpers import audit_actions, run_task
from tests.tendering.test_opening import (
    _assert_opened_exactly_as_sealed,
    _envelope_rows,
    _three_bids,
    records,
    run_sweep,
)


def _sweep_leaving_envelopes_to_tasks(world, monkeypatch) -> list[int]:
    """Run the sweep as if other workers had claimed every envelope; returns the envelope ids it enqueued."""
    from app.tendering import tasks

    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(tasks, "enqueue_after_commit", lambda name, *args, **kw: sent.append((name, args)))
    monkeypatch.setattr(tasks, "_open_one", lambda job, plan, by: False)
    assert run_sweep(world.app) == {"started": 1, "records": 0}
    monkeypatch.undo()
    return [args[0] for name, args in sent if name == "tendering.open_envelope"]


def open_envelope(app, envelope_id: int) -> str:
    from app.tendering.tasks import open_envelope as task

    return str(run_task(app, lambda: task(envelope_id)))


def test_the_sweep_enqueues_one_task_per_envelope_and_the_last_task_signs_the_record(world, clock, monkeypatch):
    from app.tendering import opening

    tid, plaintexts = _three_bids(world, clock)
    envelopes = _sweep_leaving_envelopes_to_tasks(world, monkeypatch)
    assert len(envelopes) == 3 and len(set(envelopes)) == 3
    assert sorted(o for o, _a, _s in _envelope_rows(world.app, tid).values()) == ["sealed"] * 3

    decrypted: list[str] = []
    real = opening.decrypt_into_storage
    monkeypatch.setattr(
        opening, "decrypt_into_storage", lambda run, src, b, key: decrypted.append(key) or real(run, src, b, key)
    )
    assert [open_envelope(world.app, e) for e in envelopes] == ["opened", "opened", "published"]
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)
    before = _envelope_rows(world.app, tid)

    # Redelivered tasks and the next sweep change nothing: no second decryption, record or evidence entry.
    assert [open_envelope(world.app, e) for e in envelopes] == ["skipped"] * 3
    clock.advance(timedelta(seconds=15))
    assert run_sweep(world.app) == {"started": 0, "records": 0}
    assert len(decrypted) == 3 and len(records(world, tid).json) == 1
    assert _envelope_rows(world.app, tid) == before
    actions = [a for a, *_ in audit_actions(world.app)]
    assert actions.count("tendering.opening.record_published") == 1
    assert actions.count("tendering.custody.released") == 1


def test_an_envelope_claimed_by_another_worker_is_left_to_it(world, clock, monkeypatch) -> None:
    from app.tendering import opening

    tid, plaintexts = _three_bids(world, clock)
    first, *_others = _sweep_leaving_envelopes_to_tasks(world, monkeypatch)
    with world.app.app_context(), opening.envelope_claim(first) as held:
        assert held  # another worker decrypting it: the task and the sweep both skip it
        assert open_envelope(world.app, first) == "skipped"
        clock.advance(timedelta(seconds=15))
        assert run_sweep(world.app) == {"started": 0, "records": 0}
    rows = _envelope_rows(world.app, tid)
    assert sorted(o for o, _a, _s in rows.values()) == ["opened", "opened", "sealed"]
    assert records(world, tid).json == []
    assert open_envelope(world.app, first) == "published"  # released: its retry opens it, and signs the record
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)


def test_a_worker_killed_while_a_task_decrypts_leaves_the_envelope_sealed_for_the_retry(world, clock, monkeypatch):
    from app.tendering import opening

    tid, plaintexts = _three_bids(world, clock)
    envelopes = _sweep_leaving_envelopes_to_tasks(world, monkeypatch)
    real = opening.decrypt_into_storage

    def killed(run, src, bucket, key) -> Any:
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(opening, "decrypt_into_storage", killed)
    with pytest.raises(KeyboardInterrupt):
        open_envelope(world.app, envelopes[0])
    assert sorted(o for o, _a, _s in _envelope_rows(world.app, tid).values()) == ["sealed"] * 3
    monkeypatch.setattr(opening, "decrypt_into_storage", real)
    # The claim died with the task: the redelivered task opens the envelope, the others follow.
    assert [open_envelope(world.app, e) for e in envelopes] == ["opened", "opened", "published"]
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)


def test_two_workers_recording_the_last_outcomes_at_once_sign_one_record(world, clock, monkeypatch) -> None:
    """Two tasks record the stage's last two outcomes and reach the record together (two sessions, two
    connections: on PostgreSQL the tender's row lock decides; on SQLite the single writer): one record."""
    from app.tendering import opening

    tid, plaintexts = _three_bids(world, clock)
    first, *last_two = _sweep_leaving_envelopes_to_tasks(world, monkeypatch)
    assert open_envelope(world.app, first) == "opened"

    both_recorded = threading.Barrier(2, timeout=60)
    real_finish = opening.finish_stage

    def together(tender_id: int, stage: int) -> Any:
        both_recorded.wait()  # each has committed its outcome: both may see the stage complete
        return real_finish(tender_id, stage)

    monkeypatch.setattr(opening, "finish_stage", together)
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def run(envelope_id: int) -> None:
        try:
            results[envelope_id] = open_envelope(world.app, envelope_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in last_two]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(results.values()) == ["opened", "published"]
    assert len(records(world, tid).json) == 1
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)
    actions = [a for a, *_ in audit_actions(world.app)]
    assert actions.count("tendering.opening.record_published") == 1


def test_an_opening_due_before_the_next_beat_gets_a_run_at_its_instant(world, clock, monkeypatch) -> None:
    from app.tendering import tasks
    from tests.tendering.test_opening import soon

    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(tasks, "enqueue_after_commit", lambda name, *args, **kw: sent.append((name, kw)))
    near = soon(world, clock, seconds=9)
    soon(world, clock, seconds=60)  # after the next beat: that beat schedules it
    assert run_sweep(world.app) == {"started": 0, "records": 0}
    assert len(sent) == 1
    name, kw = sent[0]
    assert name == "tendering.open_due" and 9 <= kw["countdown"] <= 9.2
    assert near["id"]


@pytest.mark.integration
def test_two_real_workers_share_the_opening_and_sign_one_record(world, clock, tmp_path) -> None:
    """Two `celery worker` processes over Redis on the test's database and storage: one runs the sweep, both
    decrypt; every envelope is recorded once, by one process, and the record is signed once."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    import redis
    from celery import Celery

    from tests.services import REDIS_URL, unavailable
    from tests.tendering.test_opening import ROOT

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        unavailable("Redis", str(exc))
    tid, plaintexts = _three_bids(world, clock)  # due: the workers' real clock is far past the fake one
    cfg = world.app.config
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    env.update(
        APP_INSTANCE_PATH=cfg["INSTANCE_PATH"],
        APP_DATABASE_URL=str(cfg["SQLALCHEMY_DATABASE_URI"]),
        APP_STORAGE_URL=cfg["STORAGE_URL"],
        APP_BROKER_URL=REDIS_URL,
        APP_SECRET_KEY="test-secret-key",
    )
    workers, logs = [], []
    for name in ("w1", "w2"):
        logs.append(tmp_path / f"{name}.log")
        args = ["celery", "-A", "wsgi.celery", "worker", "-n", f"{name}@%h", "--pool", "solo", "--loglevel", "INFO"]
        with logs[-1].open("wb") as out:  # the child keeps its own descriptor
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", *args],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not all(" ready." in p.read_text(errors="replace") for p in logs):
            assert all(w.poll() is None for w in workers), [p.read_text(errors="replace")[-2000:] for p in logs]
            time.sleep(0.3)
        sender = Celery(broker=REDIS_URL)
        sender.send_task("tendering.open_due")
        sender.close()
        while time.monotonic() < deadline and not records(world, tid).json:
            time.sleep(0.3)
        time.sleep(1)  # the last log lines
        texts = [p.read_text(errors="replace") for p in logs]
        assert records(world, tid).json, texts
        _assert_opened_exactly_as_sealed(world, tid, plaintexts)
        line = re.compile(r"opening: envelope (\d+) opened by the (sweep|task) in process (\d+)")
        found = [(env_id, role, pid) for text in texts for env_id, role, pid in line.findall(text)]
        assert sorted(e for e, _r, _p in found) == sorted({e for e, _r, _p in found}) and len(found) == 3
        assert {p for _e, _r, p in found} <= {str(w.pid) for w in workers}
        assert sum("record of tender" in text for text in texts) == 1
        assert len(records(world, tid).json) == 1
        actions = [a for a, *_ in audit_actions(world.app)]
        assert actions.count("tendering.opening.record_published") == 1
        print("envelopes per worker:", {w.pid: sum(p == str(w.pid) for _e, _r, p in found) for w in workers})
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)  # its own session: this worker only
                w.wait(timeout=10)
