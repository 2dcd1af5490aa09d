"""Property: for any set of ratings (levels, windows, days, upheld appeals), the results equal a naive count, and
the satisfaction rate is (非常满意 + 满意 + 基本满意) / all of what is left after exclusions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.convenience.conftest import window_id

LEVELS = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]
GOOD = {"very_satisfied", "satisfied", "basic"}
ROWS = st.lists(
    st.tuples(st.sampled_from(LEVELS), st.sampled_from(["01", "02", "03"]), st.integers(0, 3), st.booleans()),
    max_size=30,
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=ROWS, first=st.integers(0, 3), span=st.integers(0, 3))
def test_results_equal_a_naive_count(
    floor: Flask, rows: list[tuple[str, str, int, bool]], first: int, span: int
) -> None:
    from app.convenience.rating import services
    from app.convenience.rating.models import Level, Rating, SubjectKind
    from app.extensions import db

    windows = {n: window_id(floor, n) for n in ("01", "02", "03")}
    base = date(2026, 12, 1)
    with floor.app_context():
        for i, (level, number, day, excluded) in enumerate(rows):
            at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC) + timedelta(days=day)  # 10:00 in the center
            db.session.add(
                Rating(
                    subject_kind=SubjectKind.TICKET,
                    subject_id=i + 1,
                    reference=f"A{i + 1:03d}",
                    level=Level(level),
                    rated_at=at,
                    closed_at=at,
                    window_id=windows[number],
                    department=f"部门{number}",
                    is_excluded=excluded,
                )
            )
        db.session.flush()
        start, end = base + timedelta(days=first), base + timedelta(days=first + span)
        res = services.results(start, end)
        kept = [r for r in rows if first <= r[2] <= first + span and not r[3]]
        assert res.overall.total == len(kept)
        assert res.excluded == sum(1 for r in rows if first <= r[2] <= first + span and r[3])
        for tally in res.windows:
            mine = [r for r in kept if r[1] == tally.key]
            assert tally.counts == {lv: sum(1 for r in mine if r[0] == lv) for lv in LEVELS}
            good = sum(1 for r in mine if r[0] in GOOD)
            assert tally.satisfied == good and tally.rate == round(good / len(mine), 4)
        assert {t.key for t in res.windows} == {r[1] for r in kept}
        assert sum(t.total for t in res.departments) == len(kept)
        db.session.rollback()
