"""Periodic work of the tendering floor: the opening sweep and the expiry of abandoned uploads."""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from app.core.db import db
from app.core.tasks import enqueue_after_commit, sweep, task
from app.core.time import now_utc
from app.tendering import opening, services_bids
from app.tendering.custody import OpeningKeyMismatch
from crypto.custody import CustodyError

OPEN_DUE_EVERY = timedelta(seconds=15)

log = logging.getLogger(__name__)


@sweep("tendering.open_due", every=OPEN_DUE_EVERY)
def open_due() -> dict[str, int]:
    """Move tenders whose opening time has come to `opening`, decrypt the current stage, publish records.

    This task commits after every step, where the platform's rule is one commit at the task's end. An opening
    decrypts every bid of a stage, possibly gigabytes; on SQLite every transaction holds the database's single
    write lock (BEGIN IMMEDIATE), so one transaction around the whole opening would stop every other writer
    of the platform — bidders, agencies, the evidence log — for as long as it runs. Instead:

    - each due tender starts its opening in its own short transaction (locked, SKIP LOCKED);
    - the custody release and the list of envelopes to open are committed before any decryption, and one
      `tendering.open_envelope` task per envelope leaves with that commit, so every free worker process
      decrypts beside this one;
    - the sweep then works through the same envelopes itself, from the other end: each is claimed
      (`opening.envelope_claim`) by whoever decrypts it, so no two processes decrypt the same envelope, and
      one already recorded is skipped. Each envelope is decrypted (streamed into the quarantine) with no
      transaction open, then its outcome is committed in a short transaction of its own;
    - the stage's record, and the tender's move to opened or failed, commit together, once, in whichever
      process records the stage's last outcome (or the next sweep).

    Every step is idempotent on its own (see app/tendering/opening.py), so a worker killed between any two
    commits, or in the middle of one, finishes the job on its next run with the same result. Last, an opening
    due before the next beat gets a run of this sweep scheduled at its instant, so it starts on time.
    """
    started = 0
    due = opening.due_tender_ids()
    db.session.commit()
    for tender_id in due:
        started += opening.start_due(tender_id)
        db.session.commit()
    active = opening.active_tender_ids()
    db.session.commit()
    records = sum(_advance_opening(tender_id) for tender_id in active)
    _schedule_imminent()
    return {"started": started, "records": records}


def _schedule_imminent() -> None:
    """A run of this sweep at the instant of each opening due before the next beat (a second run is harmless)."""
    now = now_utc()
    for _tender_id, at in opening.imminent_openings(OPEN_DUE_EVERY + timedelta(seconds=1)):
        enqueue_after_commit("tendering.open_due", countdown=(at - now).total_seconds() + 0.05)
    db.session.commit()


def _advance_opening(tender_id: int) -> int:
    """Open what can be opened of the tender's current stage; 1 when its record was published here."""
    try:
        plan = opening.plan_stage(tender_id)
        for job in plan.jobs if plan is not None else []:
            if plan is not None and (plan.identity is not None or job.revealed_key is not None):
                enqueue_after_commit("tendering.open_envelope", job.envelope_id)  # one that can be opened now
        db.session.commit()  # the custody release and its evidence entry stand on their own; the tasks leave
    except (OpeningKeyMismatch, CustodyError) as exc:
        db.session.rollback()
        opening.note_key_problem(tender_id, exc)
        db.session.commit()
        return 0
    if plan is None:
        return 0
    waiting = False
    for job in reversed(plan.jobs):  # the tasks take them from the front
        if _open_one(job, plan, by="sweep") is None:
            waiting = True  # no key yet, or storage unreachable: the next sweep tries again
    if waiting:
        return 0
    return _finish(tender_id, plan.stage)


def _open_one(job: opening.EnvelopeJob, plan: opening.StagePlan, *, by: str) -> bool | None:
    """Decrypt and record one envelope unless another process has it: True when recorded here, False when
    someone else has it or had it, None when it cannot be opened yet. No transaction is open on return."""
    with opening.envelope_claim(job.envelope_id) as mine:
        if not mine:
            return False
        sealed = opening.still_sealed(job.envelope_id)
        db.session.commit()
        if not sealed:
            return False
        began = time.monotonic()
        outcome = opening.open_job(job, plan.identity, plan.window_closed)  # no transaction is open here
        if outcome is None:
            return None
        opening.record_outcome(job, outcome)
        db.session.commit()
    log.info(
        "opening: envelope %d %s by the %s in process %d, %.2f s",
        job.envelope_id,
        outcome.outcome.value,
        by,
        os.getpid(),
        time.monotonic() - began,
    )
    return True


def _finish(tender_id: int, stage: int) -> int:
    published = opening.finish_stage(tender_id, stage)
    db.session.commit()
    if published is not None:
        log.info("opening: record of tender %d stage %d published in process %d", tender_id, stage, os.getpid())
    return 1 if published is not None else 0


@task("tendering.open_envelope")
def open_envelope(envelope_id: int) -> str:
    """Decrypt one envelope of a stage being opened (enqueued by the opening sweep), and publish the stage's
    record when it was the last. Idempotent: an envelope already recorded, or being decrypted elsewhere, is
    skipped; a worker killed in the middle leaves the envelope sealed for the redelivered task or the next sweep.
    """
    try:
        plan = opening.plan_envelope(envelope_id)
        db.session.commit()
    except (OpeningKeyMismatch, CustodyError):
        db.session.rollback()
        return "key-problem"  # the sweep records the problem and keeps the tender waiting
    if plan is None:
        return "skipped"
    job = plan.jobs[0]
    done = _open_one(job, plan, by="task")
    if done is None:
        return "waiting"
    if not done:
        return "skipped"
    return "published" if _finish(job.tender_id, plan.stage) else "opened"


@sweep("tendering.expire_uploads", every=timedelta(hours=1))
def expire_uploads() -> int:
    """Expire uploads that were never completed or used, and delete their stored chunks."""
    return services_bids.expire_uploads()
