"""Shared pieces of the account services: translatable messages, actors, hostile ids, hashes, settings."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from flask import current_app

from app.core.db import db, is_valid_id
from app.core.errors import NotFound

Actor = Any  # a User, or a string such as "cli" or "system"
Row = TypeVar("Row")


def actor_name(actor: Actor) -> str:
    """The name a record keeps of who acted: a user's display name (else the username), or the actor string."""
    return str(getattr(actor, "display_name", None) or getattr(actor, "username", None) or actor or "")


def N_(message: str) -> str:
    """Mark a message for the translation catalogue; pages translate it when they show it."""
    return message


def get_row(model: type[Row], row_id: int, missing: str) -> Row:
    """The row with this id from a URL or form. Raises NotFound(`missing`) when there is none."""
    row = db.session.get(model, row_id) if is_valid_id(row_id) else None
    if row is None:
        raise NotFound(missing)
    return row


def sha256_hex(value: str) -> str:
    """What is stored of session ids and token texts: enough to recognise them, useless to present."""
    return hashlib.sha256(value.encode()).hexdigest()


def config_value(name: str) -> Any:
    return current_app.config[name]
