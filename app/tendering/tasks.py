"""Periodic work of the tendering floor: the opening sweep and the expiry of abandoned uploads."""

from __future__ import annotations

from datetime import timedelta

from app.core.db import db
from app.core.tasks import sweep
from app.tendering import opening, services_bids
from app.tendering.custody import OpeningKeyMismatch
from crypto.custody import CustodyError


@sweep("tendering.open_due", every=timedelta(seconds=15))
def open_due() -> dict[str, int]:
    """Move tenders whose opening time has come to `opening`, decrypt the current stage, publish records.

    This task commits after every step, where the platform's rule is one commit at the task's end. An opening
    decrypts every bid of a stage, possibly gigabytes; on SQLite every transaction holds the database's single
    write lock (BEGIN IMMEDIATE), so one transaction around the whole opening would stop every other writer
    of the platform — bidders, agencies, the evidence log — for as long as it runs. Instead:

    - each due tender starts its opening in its own short transaction (locked, SKIP LOCKED);
    - the custody release and the list of envelopes to open are committed before any decryption;
    - each envelope is decrypted (streamed into the quarantine) with no transaction open, then its outcome is
      committed in a short transaction of its own;
    - the stage's record, and the tender's move to opened or failed, commit together at the end.

    Every step is idempotent on its own (see app/tendering/opening.py), so a worker killed between any two
    commits, or in the middle of one, finishes the job on its next run with the same result.
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
    return {"started": started, "records": records}


def _advance_opening(tender_id: int) -> int:
    """Open what can be opened of the tender's current stage; 1 when its record was published."""
    try:
        plan = opening.plan_stage(tender_id)
        db.session.commit()  # the custody release and its evidence entry stand on their own
    except (OpeningKeyMismatch, CustodyError) as exc:
        db.session.rollback()
        opening.note_key_problem(tender_id, exc)
        db.session.commit()
        return 0
    if plan is None:
        return 0
    waiting = False
    for job in plan.jobs:
        outcome = opening.open_job(job, plan.identity, plan.window_closed)  # no transaction is open here
        if outcome is None:
            waiting = True  # no key yet, or storage unreachable: the next sweep tries again
            continue
        opening.record_outcome(job, outcome)
        db.session.commit()
    if waiting:
        return 0
    published = opening.finish_stage(tender_id, plan.stage)
    db.session.commit()
    return 1 if published is not None else 0


@sweep("tendering.expire_uploads", every=timedelta(hours=1))
def expire_uploads() -> int:
    """Expire uploads that were never completed or used, and delete their stored chunks."""
    return services_bids.expire_uploads()
