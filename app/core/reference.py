"""Reference data (roles, permissions, calendars…) that every installation needs, created idempotently.

Modules register a function at import; `ensure_reference_data()` runs them all in order. It runs after
migrations in `flask platform init`, and in tests after the schema is built or emptied.
"""

from __future__ import annotations

from collections.abc import Callable

_providers: list[tuple[str, Callable[[], None]]] = []


def provides(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def deco(fn: Callable[[], None]) -> Callable[[], None]:
        if all(n != name for n, _ in _providers):
            _providers.append((name, fn))
        return fn

    return deco


def ensure_reference_data() -> None:
    """Create missing reference rows (flushes; the caller commits)."""
    for _name, fn in _providers:
        fn()


_demo: list[tuple[str, Callable[[], list[str]]]] = []


def demo(name: str) -> Callable[[Callable[[], list[str]]], Callable[[], list[str]]]:
    """Register demo data for `make run`; the function returns lines to print (e.g. accounts)."""

    def deco(fn: Callable[[], list[str]]) -> Callable[[], list[str]]:
        if all(n != name for n, _ in _demo):
            _demo.append((name, fn))
        return fn

    return deco


def seed_demo_data() -> list[str]:
    """Run every demo provider in registration order; returns the lines they want printed."""
    lines: list[str] = []
    for _name, fn in _demo:
        lines.extend(fn())
    return lines
