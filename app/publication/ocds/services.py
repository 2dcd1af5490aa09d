"""Reading the published releases: pages after a cursor, records compiled with ocdsmerge, bulk files per month."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from flask import current_app
from ocdsmerge import Merger
from sqlalchemy import func, select

from app.core.db import db
from app.core.errors import NotFound, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.publication.ocds.build import BID_EXTENSION_URL, OCDS_VERSION, instant
from app.publication.ocds.models import OcdsRelease
from app.publication.ocds.schemas_ocds import release_schema

MAX_SEQ = 2**53 - 1
MAX_PAGE = 1000
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_OCID = re.compile(r"[A-Za-z0-9-]{1,100}")


@cache
def merger() -> Merger:
    """ocdsmerge with the merge rules of the extended release schema kept in the repository (nothing fetched)."""
    return Merger(schema=release_schema())


def page_size(limit: int | None) -> int:
    size = int(limit if limit is not None else current_app.config.get("OCDS_PAGE_SIZE", 100))
    return max(1, min(size, MAX_PAGE))


def list_releases(*, since: int = 0, limit: int | None = None) -> list[OcdsRelease]:
    """Releases with `seq` > `since`, in `seq` order. The next cursor is the last one's `seq`: releases commit in
    `seq` order (hooks.allocate_seq), so no release can later appear behind a cursor already handed out."""
    return list(
        db.session.scalars(
            select(OcdsRelease).where(OcdsRelease.seq > since).order_by(OcdsRelease.seq).limit(page_size(limit))
        )
    )


def check_month(month: str) -> str:
    if not isinstance(month, str) or _MONTH.fullmatch(month) is None:
        raise field_error("month", N_("a month is written YYYY-MM, e.g. 2026-12"))
    return month


def releases_of_month(month: str) -> list[OcdsRelease]:
    """Every release dated in `month` (UTC), in `seq` order. Raises ValidationFailed (bad month), NotFound (none)."""
    check_month(month)
    rows = list(db.session.scalars(select(OcdsRelease).where(OcdsRelease.month == month).order_by(OcdsRelease.seq)))
    if not rows:
        raise NotFound(N_("No release was published in that month."))
    return rows


def list_months() -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(OcdsRelease.month, func.count(), func.max(OcdsRelease.seq))
        .group_by(OcdsRelease.month)
        .order_by(OcdsRelease.month)
    )
    return [{"month": m, "releases": int(n), "last_seq": int(s)} for m, n, s in rows]


def _publisher() -> dict[str, Any]:
    return {"name": str(current_app.config.get("CENTER_NAME") or "Administrative service center")}


def _published_date(dates: list[datetime]) -> str:
    return instant(max(dates) if dates else now_utc())


def release_package(rows: list[OcdsRelease], *, uri: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [BID_EXTENSION_URL],
        "publishedDate": _published_date([r.date for r in rows]),
        "publisher": _publisher(),
        "releases": [r.data for r in rows],
    }


def check_ocid(ocid: str) -> str:
    if not isinstance(ocid, str) or _OCID.fullmatch(ocid) is None:
        raise field_error("ocid", N_("That is not an ocid: the registered prefix, a hyphen and the tender's number."))
    return ocid


def releases_of_ocid(ocid: str) -> list[OcdsRelease]:
    return list(db.session.scalars(select(OcdsRelease).where(OcdsRelease.ocid == ocid).order_by(OcdsRelease.seq)))


def get_record(ocid: str) -> dict[str, Any]:
    """The record of one contracting process: every release and the compiled release (ocdsmerge)."""
    rows = releases_of_ocid(ocid)
    if not rows:
        raise NotFound(N_("No contracting process has that ocid."))
    releases = [r.data for r in rows]
    return {"ocid": ocid, "releases": releases, "compiledRelease": merger().create_compiled_release(releases)}


def list_records(*, since: int = 0, limit: int | None = None) -> tuple[list[dict[str, Any]], list[OcdsRelease], int]:
    """Records whose newest release has `seq` > `since`, ordered by that release: a record that changes later comes
    back with a later cursor. Returns the records, the rows used and the next cursor."""
    last = func.max(OcdsRelease.seq).label("last")
    page = list(
        db.session.execute(
            select(OcdsRelease.ocid, last)
            .group_by(OcdsRelease.ocid)
            .having(func.max(OcdsRelease.seq) > since)
            .order_by(last)
            .limit(page_size(limit))
        )
    )
    if not page:
        return [], [], since
    ceiling = max(int(s) for _, s in page)
    ocids = [o for o, _ in page]
    rows = list(
        db.session.scalars(
            select(OcdsRelease).where(OcdsRelease.ocid.in_(ocids), OcdsRelease.seq <= ceiling).order_by(OcdsRelease.seq)
        )
    )
    by_ocid: dict[str, list[dict[str, Any]]] = {o: [] for o in ocids}
    for r in rows:
        by_ocid[r.ocid].append(r.data)
    records = [
        {"ocid": o, "releases": rels, "compiledRelease": merger().create_compiled_release(rels)}
        for o, rels in by_ocid.items()
    ]
    return records, rows, ceiling


def record_package(records: list[dict[str, Any]], rows: list[OcdsRelease], *, uri: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [BID_EXTENSION_URL],
        "publishedDate": _published_date([r.date for r in rows]),
        "publisher": _publisher(),
        "records": records,
    }
