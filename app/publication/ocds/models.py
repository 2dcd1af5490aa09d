"""The OCDS releases: one row per published release, immutable once written, numbered by one commit-ordered sequence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, db


class OcdsRelease(db.Model):  # type: ignore[name-defined,misc]
    """One OCDS release exactly as served. `seq` is allocated under a lock held until commit, so releases commit in
    `seq` order and a reader's `since` cursor never passes a release that commits later (see hooks.allocate_seq)."""

    __tablename__ = "ocds_releases"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    release_id: Mapped[str] = mapped_column(String(200), unique=True)
    ocid: Mapped[str] = mapped_column(String(100), index=True)
    tender_id: Mapped[int] = mapped_column(Integer, index=True)
    # The evidence-log entry the release was made for (its last one, when one transaction logged several).
    audit_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM of `date` in UTC: the bulk file it is in
    tags: Mapped[list[str]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))  # of the release's canonical JSON
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReleaseImmutable(RuntimeError):
    """A published release was about to be changed or deleted."""


@event.listens_for(OcdsRelease, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: OcdsRelease) -> None:
    raise ReleaseImmutable(f"OCDS release {target.release_id} is published and cannot change")


@event.listens_for(OcdsRelease, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: OcdsRelease) -> None:
    raise ReleaseImmutable(f"OCDS release {target.release_id} is published and cannot be deleted")
