"""Helpers for the evidence-log tests: a stand-in signed-in caller, so these tests need no accounts module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask import Flask, g


@dataclass
class StandInUser:
    """What the permission layer and the audit log need of a user (Flask-Login's protocol + audit_ref)."""

    id: int
    permissions: set[str] = field(default_factory=set)
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False
    needs_totp_setup: bool = False

    @property
    def audit_ref(self) -> str:
        return f"user:{self.id}"

    def get_id(self) -> str:
        return str(self.id)

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions


@pytest.fixture
def sign_in(app: Flask) -> Callable[..., StandInUser]:
    """sign_in(id, *permissions): every following request of this app runs as that user."""

    def install(user_id: int, *permissions: str) -> StandInUser:
        user = StandInUser(user_id, set(permissions))

        def load() -> None:
            g._login_user = user

        # First in line, before the permission check reads current_user.
        app.before_request_funcs.setdefault(None, []).insert(0, load)
        return user

    return install
