"""Properties of the rotation (hypothesis): over many orders every eligible provider gets its turn, a suspended
provider never; between two turns of one provider every provider eligible all along has had a turn; through the
services and the database as well as the pure rule."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.convenience.household.services import next_in_rotation

IDS = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8, unique=True)


@settings(max_examples=200, deadline=None)
@given(IDS, st.integers(min_value=1, max_value=6), st.one_of(st.none(), st.integers(min_value=0, max_value=45)))
def test_each_eligible_provider_gets_one_turn_per_round(eligible: list[int], rounds: int, start: int | None) -> None:
    last = start
    got: list[int] = []
    for _ in range(rounds * len(eligible)):
        chosen = next_in_rotation(eligible, last)
        assert chosen is not None
        got.append(chosen)
        last = chosen
    assert Counter(got) == {p: rounds for p in eligible}
    for i in range(0, len(got), len(eligible)):  # each round is a permutation: nobody twice before all once
        assert len(set(got[i : i + len(eligible)])) == len(got[i : i + len(eligible)])


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.just(0)),
        st.tuples(st.just("suspend"), st.integers(min_value=1, max_value=6)),
        st.tuples(st.just("reinstate"), st.integers(min_value=1, max_value=6)),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(EVENTS)
def test_suspended_never_and_nobody_twice_while_another_waits(events: list[tuple[str, int]]) -> None:
    providers = set(range(1, 7))
    suspended: set[int] = set()
    last: int | None = None
    eligible_from = dict.fromkeys(providers, 0)  # provider -> first order index since which it is eligible
    history: list[int | None] = []
    for kind, who in events:
        if kind == "suspend":
            suspended.add(who)
            eligible_from.pop(who, None)
            continue
        if kind == "reinstate":
            suspended.discard(who)
            eligible_from.setdefault(who, len(history))
            continue
        eligible = sorted(providers - suspended)
        chosen = next_in_rotation(eligible, last)
        history.append(chosen)
        if not eligible:
            assert chosen is None
            continue
        assert chosen in eligible and chosen not in suspended
        last = chosen
        # Fairness: a provider chosen again has seen every provider eligible all along since its last turn chosen.
        previous = [i for i, p in enumerate(history[:-1]) if p == chosen]
        if previous:
            since = previous[-1]
            for other in eligible:
                if other != chosen and eligible_from[other] <= since + 1:
                    assert other in history[since + 1 : -1], (history, other)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(2, 4), st.integers(1, 3), st.integers(0, 1))
def test_through_the_database_turns_are_even_and_the_suspended_get_none(
    app: Flask, clock: Any, n: int, rounds: int, suspend: int
) -> None:
    from sqlalchemy import delete

    from app.convenience.household import services
    from app.convenience.household.models import (
        Dispatch,
        Order,
        Provider,
        Rotation,
        provider_categories,
        provider_districts,
    )
    from app.extensions import db
    from tests.convenience.household.helpers import order, provider

    with app.app_context():  # hypothesis reuses the app: start from an empty directory
        for stmt in (
            delete(Dispatch),
            delete(Order),
            delete(Rotation),
            delete(provider_categories),
            delete(provider_districts),
            delete(Provider),
        ):
            db.session.execute(stmt)
        db.session.commit()
    ids = [provider(app, f"服务商{i}") for i in range(n + suspend)]
    with app.app_context():
        for pid in ids[n:]:
            services.suspend_provider(actor="system:test", provider_id=pid, reason="暂停")
        db.session.commit()
    got = []
    for _ in range(n * rounds):
        reference, _token = order(app)
        with app.app_context():
            got.append(services.get_order(reference).provider_id)
    assert Counter(got) == {pid: rounds for pid in ids[:n]}
