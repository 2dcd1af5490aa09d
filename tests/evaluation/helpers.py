"""Helpers for the evaluation tests: an opened tender, an expert pool, a drawn and seated committee."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.accounts.helpers import login
from tests.factories import Committee, Party, Pool, World

__all__ = ["Committee", "Party", "Pool", "World"]  # re-exported: they live in tests/factories.py


def run_open_due(app: Any) -> Any:
    return factories.run_open_due(app)


def opened_tender(
    world: World, clock: Any, prices: tuple[int, ...] = (1_000_000, 1_200_000, 1_500_000), **kw: Any
) -> dict:
    """A published tender whose bids were submitted by the first len(prices) bidders and opened (stage 1)."""
    return factories.opened_tender(world, clock, prices, **kw)


def enrol(world: World, username: str, specialties: list[str], *, employer_id: int | None = None) -> tuple[int, Party]:
    return factories.expert(world, username, specialties=specialties, employer_id=employer_id)


def build_pool(world: World, plain: int = 10) -> Pool:
    """`plain` unconflicted experts (every other one civil), plus one of each kind that must never be drawn."""
    return factories.pool(world, plain)


def buyer_rep(world: World, username: str = "buyerrep") -> Party:
    return factories.buyer_rep(world, username)


def committee_body(rep: Party, **overrides: Any) -> dict[str, Any]:
    return factories.committee_body(rep, **overrides)


def draw(world: World, tid: int) -> dict[str, Any]:
    return factories.draw(world, tid)


def seated(world: World, tid: int) -> list[dict[str, Any]]:
    """The seats as an overseer sees them."""
    return factories.seats(world, tid)


def seat_everyone(world: World, tid: int, pool: Pool, rep: Party) -> dict[int, Party]:
    """Every invited expert confirms, every member declares no conflict; returns seat -> party."""
    return factories.seat_everyone(world, tid, pool, rep)


def put_json(party: Party, url: str, body: Any) -> Any:
    """PUT with a JSON body (the tendering test client's put() sends raw bytes)."""
    return factories.put_json(party, url, body)


def user_field(world: World, user_id: int, name: str) -> str:
    """One attribute of a user (username, display_name), read in the app's context."""
    from app.accounts.models import User
    from app.extensions import db

    with world.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return str(getattr(user, name))


def browser(world: World, user_id: int) -> Any:
    """A test client signed in through the form as the user (session cookie, CSRF like a browser)."""
    client = world.app.test_client()
    resp = login(client, user_field(world, user_id, "username"))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client


def outsider(pool: Pool, members: dict[int, Party]) -> Party:
    """An expert of the pool who holds no seat on the committee."""
    seated_users = {p.user_id for p in members.values()}
    return next(p for p in pool.experts.values() if p.user_id not in seated_users)
