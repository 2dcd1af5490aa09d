"""Public OCDS API (/api/v1/ocds): release and record packages after a cursor, records by ocid, monthly bulk files."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request, url_for
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.security import public
from app.publication.ocds import schemas, services

blp = Blueprint(
    "ocds",
    __name__,
    url_prefix="/api/v1/ocds",
    description="Open Contracting Data Standard 1.1 (with the bids extension): every tender event as a release. "
    "Public, no sign-in. Read pages with `since` (the `seq` cursor) until `links.next` is absent.",
)


OBJECT = {"schema": {"type": "object"}}


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def _with_links(package: dict[str, Any], endpoint: str, cursor: int, full: bool, args: dict[str, Any]) -> Response:
    headers = {}
    package["links"] = {"since": cursor}
    if full:
        query: dict[str, Any] = {"since": cursor}
        if args.get("limit") is not None:
            query["limit"] = args["limit"]
        nxt = url_for(endpoint, _external=True, **query)
        package["links"]["next"] = nxt
        headers["Link"] = f'<{nxt}>; rel="next"'
    return package, 200, headers  # type: ignore[return-value]


@blp.route("/releases", methods=["GET"])
@blp.arguments(schemas.CursorArgs, location="query")
@blp.response(200, schemas.ReleasePackageOut)
@_problems(422)
@public
def releases(args: dict[str, Any]) -> Any:
    """A release package of the releases published after `since`, oldest first. `links.since` is the
    cursor to ask with next; a full page also carries `links.next` (and a Link header). The cursor is stable under
    concurrent publication: releases become visible in `seq` order, so none appears behind it later."""
    rows = services.list_releases(since=args["since"], limit=args["limit"])
    package = services.release_package(rows, uri=request.url)
    cursor = rows[-1].seq if rows else args["since"]
    full = len(rows) == services.page_size(args["limit"])
    return _with_links(package, "ocds.releases", cursor, full, args)


@blp.route("/records", methods=["GET"])
@blp.arguments(schemas.CursorArgs, location="query")
@blp.response(200, schemas.RecordPackageOut)
@_problems(422)
@public
def records(args: dict[str, Any]) -> Any:
    """A record package of the contracting processes that changed after `since` (each record: every release and
    the compiled release, merged with ocdsmerge), ordered by their newest release."""
    recs, rows, cursor = services.list_records(since=args["since"], limit=args["limit"])
    package = services.record_package(recs, rows, uri=request.url)
    full = len(recs) == services.page_size(args["limit"])
    return _with_links(package, "ocds.records", cursor, full, args)


@blp.route("/records/<string:ocid>", methods=["GET"])
@blp.response(200, schemas.RecordPackageOut)
@_problems(404, 422)
@public
def one_record(ocid: str) -> Any:
    """The record package of one contracting process (ocid = the registered prefix + the tender's id)."""
    services.check_ocid(ocid)
    rec = services.get_record(ocid)
    rows = services.releases_of_ocid(ocid)
    return services.record_package([rec], rows, uri=request.url)


@blp.route("/bulk", methods=["GET"])
@blp.response(200, schemas.MonthOut(many=True))
@public
def bulk_index() -> Any:
    """The monthly bulk files: one release package per month (UTC) with every release dated in it."""
    return [{**m, "url": url_for("ocds.bulk_month", month=m["month"], _external=True)} for m in services.list_months()]


@blp.route("/bulk/<string:month>.json", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "A release package (OCDS JSON)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
@_problems(404, 422)
@public
def bulk_month(month: str) -> Any:
    """Download the month's release package (YYYY-MM, UTC): every release dated in it, in `seq` order."""
    rows = services.releases_of_month(month)
    package = services.release_package(rows, uri=request.url)
    body = json.dumps(package, ensure_ascii=False, separators=(",", ":"))
    return Response(
        body,
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="ocds-releases-{month}.json"'},
    )


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
