"""`make run`'s supervision: after the demo applications, one ingest and one lights sweep light the wall."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.permits.cases.demo import seed_demo_cases
from app.supervision.demo import seed_demo_supervision
from app.supervision.models import Rule, Signal
from tests.factories import user
from tests.test_demo_seed import seed


def test_the_demo_wall_has_lights(desk_app: Flask, clock: Any) -> None:
    user(desk_app, "admin", roles=["admin"], totp=False)
    user(desk_app, "bidder", roles=["bidder"])
    with desk_app.app_context():
        seed_demo_cases()
        # The first line is the wall's; the demo's backdated cases past their time limit may add escalations.
        line = seed_demo_supervision()[0]
        db.session.commit()
        assert "red" in line
        fired = set(db.session.scalars(select(Rule.code).join(Signal, Signal.rule_id == Rule.id)))
        # The application left undecided (backdated 14 days by the demo): deemed accepted, an event red.
        assert "deemed-acceptance" in fired
        before = db.session.scalars(select(Signal.id)).all()
        seed_demo_supervision()  # idempotent
        db.session.commit()
        assert db.session.scalars(select(Signal.id)).all() == before


@pytest.fixture
def app_config(seal_dir: Path) -> dict[str, Any]:
    return {"SEAL_DIR": str(seal_dir)}


def test_make_run_shows_a_rota_an_escalation_a_letter_a_grading(app: Flask) -> None:
    """The whole demo (every floor, then supervision), as `make run` seeds it: the demo's application left undecided
    14 days is red since its due, long enough to have escalated; the demo leader is on duty today; a sealed letter
    about that red, the leader's instruction on it, and this quarter's grades."""
    from app.core.sealing import get_sealing, verify_pdf
    from app.supervision import letters
    from app.supervision.escalation import center_today
    from app.supervision.models import DepartmentGrading, DutyDay, Escalation, Instruction, Letter

    lines, _ = seed(app)
    shown = [line for line in lines if line.startswith("supervision:")]
    assert any("escalations" in line for line in shown), shown
    assert any("recommendation letter 监建〔" in line for line in shown), shown
    with app.app_context():
        assert db.session.scalar(select(DutyDay).where(DutyDay.day == center_today())) is not None
        assert db.session.scalars(select(Escalation)).all()
        [letter] = db.session.scalars(select(Letter)).all()
        assert verify_pdf(letters.pdf_bytes(letter), get_sealing().trust()).ok
        assert db.session.scalars(select(Instruction)).all()
        assert db.session.scalars(select(DepartmentGrading)).all()
        before = {
            m.__name__: len(db.session.scalars(select(m)).all()) for m in (DutyDay, Escalation, Letter, Instruction)
        }
    again, _ = seed(app)  # idempotent
    assert not [line for line in again if "letter" in line or "rota" in line]
    with app.app_context():
        after = {
            m.__name__: len(db.session.scalars(select(m)).all()) for m in (DutyDay, Escalation, Letter, Instruction)
        }
    assert after == before
