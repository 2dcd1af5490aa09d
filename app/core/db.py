"""Database plumbing: the declarative base, a UTC datetime type, SQLite pragmas, after-commit hooks."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

MAX_ID = 2**31 - 1  # ids are 32-bit on every backend


def is_valid_id(value: int) -> bool:
    """Ids from URLs are hostile: one beyond the column's range must be 'not found', not a database error."""
    return 1 <= value <= MAX_ID


def parse_id(raw: object) -> int | None:
    """An id typed into a form or taken from a query string (hostile): an int in the columns' range, or None."""
    text = str(raw).strip() if raw is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if is_valid_id(value) else None


LIKE_ESCAPE = "\\"


def like_pattern(text: str, *, prefix: bool = False) -> str:
    """A LIKE pattern matching `text` literally, anywhere (or at the start with `prefix`); use with
    `column.like(like_pattern(text), escape=LIKE_ESCAPE)`. Without it `%`, `_` (and `\\` on PostgreSQL,
    its default escape) typed by a user are wildcards or escapes, not the characters they searched for."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend; naive datetimes are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # Only SQLite connections have these pragmas; other drivers are left alone.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # The driver must not open transactions itself: we emit BEGIN IMMEDIATE below, which makes
    # SQLite the single writer the evidence log needs and avoids BUSY_SNAPSHOT upgrades.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


_AFTER_COMMIT_KEY = "after_commit_callbacks"


def after_commit(callback: Callable[[], Any]) -> None:
    """Run `callback` once the current transaction commits; dropped if it rolls back."""
    session = db.session()
    if not session.in_transaction():
        # Tie the callback to a transaction, so a rollback before any SQL still discards it.
        session.begin()
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
    for cb in callbacks:
        cb()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    # Fires on every rollback(), even one with no transaction begun; a savepoint rollback keeps them.
    if not previous_transaction.nested:
        session.info.pop(_AFTER_COMMIT_KEY, None)


def value_enum(cls: type[enum.Enum], *, length: int = 20) -> Enum:
    """A column of a Python enum stored as its values in a VARCHAR (no database enum type, no CHECK).

    Adding a member needs no migration; the values (not the member names) are what the rows hold.
    """
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])
