"""Open311 GeoReport v2 over the interaction platform: discovery, services (the categories), service definitions,
requests (POST with an api_key, GET with the spec's filters), one request, and tokens; XML and JSON alike.

- **Where.** Under /open311/v2/ (the discovery document names it), one of the platform's machine interfaces
  (app.core.errors.API_PREFIXES): form posts from clients without a browser session are taken there.
- **Mapping.** service_code = the category's code; service_request_id = the request's public reference; our
  richer states become `open` (受理 … 回复) or `closed` (办结, 回访) with the state in words as status_notes;
  agency_responsible = the department (or the center's dispatch office); expected_datetime = the due instant.
  A request posted through Open311 is a help request (求助) of the `open311` channel.
- **api_key.** One of the platform's API tokens, of an account whose roles grant `convenience.interaction.intake`
  and whose scopes cover it (the app that relays citizens' requests); checked on POST only, as the spec says.
- **Privacy.** The public listing gives where and what state, never the citizen's words or contact: those stay
  behind the tracking token (the citizen's page). The POST's answer carries that token as Open311's `token`.
- **Limits.** GET requests covers at most 90 days (the last 90 when no dates are given) and answers at most 1,000
  requests, newest first. Errors are Open311's error list (code, description) with the HTTP status: 400 bad
  input, 403 a bad api_key, 404 unknown service, request, token or jurisdiction. Nothing is stored on bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, request, url_for
from sqlalchemy import select

from app.convenience.interaction import services
from app.convenience.interaction.models import DONE_STATUSES, Channel, InteractionRequest, Status
from app.convenience.interaction.permissions import INTAKE
from app.core.db import db
from app.core.errors import DomainError
from app.core.pages import discard
from app.core.security import public, scope_allows
from app.core.time import now_utc

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

WINDOW = timedelta(days=90)
MAX_ROWS = 1000
SPEC = "http://wiki.open311.org/GeoReport_v2"
STATUS_NOTES = {
    Status.RECEIVED: "已受理",
    Status.DISPATCHED: "已调度至承办部门",
    Status.HANDLING: "承办部门办理中",
    Status.REPLIED: "已答复",
    Status.CLOSED: "已办结",
    Status.CALLED_BACK: "已办结并回访",
}


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _w3c(value: datetime | None) -> str | None:
    return value.astimezone(_zone()).isoformat(timespec="seconds") if value is not None else None


# --- rendering -------------------------------------------------------------------------------------------------


def _xml(root: str, item: str, rows: Iterable[dict[str, Any]]) -> str:
    top = ET.Element(root)
    for row in rows:
        _fill(ET.SubElement(top, item), row)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode")


def _fill(element: ET.Element, row: dict[str, Any]) -> None:
    for key, value in row.items():
        child = ET.SubElement(element, key)
        if isinstance(value, dict):
            _fill(child, value)
        elif isinstance(value, list):
            singular = key[:-1] if key.endswith("s") else "item"
            for entry in value:
                if isinstance(entry, dict):
                    _fill(ET.SubElement(child, singular), entry)
                else:
                    ET.SubElement(child, singular).text = str(entry)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def _answer(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows), status=status, content_type="text/xml; charset=utf-8")
    return Response(json.dumps(rows, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8")


def _error(fmt: str, exc: Open311Error) -> Response:
    return _answer(fmt, "errors", "error", [{"code": exc.status, "description": exc.description}], exc.status)


def _jurisdiction() -> None:
    given = request.values.get("jurisdiction_id")
    if given is not None and given != current_app.config["OPEN311_JURISDICTION"]:
        raise Open311Error(404, "jurisdiction_id not found")


def _guarded(fmt: str, work: Any) -> Response:
    try:
        _jurisdiction()
        return work()  # type: ignore[no-any-return]
    except Open311Error as exc:
        discard()
        return _error(fmt, exc)


# --- discovery and services -------------------------------------------------------------------------------------


@bp.get("/discovery.<any(json, xml):fmt>")
@public
def discovery(fmt: str) -> Response:
    """The discovery document: where the GeoReport v2 endpoint is, in which formats."""
    endpoint = url_for("open311.services_list", fmt="json", _external=True).rsplit("/", 1)[0]
    doc = {
        "changeset": "2026-12-07T00:00:00+08:00",
        "contact": current_app.config.get("OPEN311_CONTACT", ""),
        "key_service": current_app.config.get("OPEN311_KEY_SERVICE", ""),
        "endpoints": [
            {
                "specification": SPEC,
                "url": endpoint,
                "changeset": "2026-12-07T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    if fmt == "xml":
        top = ET.Element("discovery")
        _fill(top, doc)
        body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode")
        return Response(body, content_type="text/xml; charset=utf-8")
    return Response(json.dumps(doc, ensure_ascii=False), content_type="application/json; charset=utf-8")


def _service(c: Any) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": c.description,
        "metadata": False,  # no extra attributes: the description says it all
        "type": "realtime",
        "keywords": c.name_en,
        "group": "政民互动",
    }


@bp.get("/services.<any(json, xml):fmt>")
@public
def services_list(fmt: str) -> Response:
    return _guarded(fmt, lambda: _answer(fmt, "services", "service", [_service(c) for c in services.categories()]))


@bp.get("/services/<string:code>.<any(json, xml):fmt>")
@public
def service_definition(code: str, fmt: str) -> Response:
    def work() -> Response:
        found = next((c for c in services.categories() if c.code == code), None)
        if found is None:
            raise Open311Error(404, "service_code not found")
        definition = {"service_code": found.code, "attributes": []}
        if fmt == "xml":
            top = ET.Element("service_definition")
            _fill(top, definition)
            body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode")
            return Response(body, content_type="text/xml; charset=utf-8")
        return Response(json.dumps(definition), content_type="application/json; charset=utf-8")

    return _guarded(fmt, work)


# --- requests ------------------------------------------------------------------------------------------------------


def request_row(r: InteractionRequest) -> dict[str, Any]:
    stamps = [r.received_at, r.dispatched_at, r.handling_at, r.replied_at, r.closed_at]
    stamps += [c.called_at for c in r.callbacks]
    department = r.department
    return {
        "service_request_id": r.reference,
        "status": "closed" if r.status in DONE_STATUSES else "open",
        "status_notes": STATUS_NOTES[r.status] + ("（已超期）" if r.is_overdue else ""),
        "service_name": r.category.name,
        "service_code": r.category.code,
        "agency_responsible": department.name if department is not None else services.DISPATCH_OFFICE_ZH,
        "service_notice": "",
        "requested_datetime": _w3c(r.received_at),
        "updated_datetime": _w3c(max(s for s in stamps if s is not None)),
        "expected_datetime": _w3c(r.due_at),
        "address": r.address,
        "lat": r.lat,
        "long": r.long,
    }


def _instant(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} is not a W3C date-time (e.g. 2026-12-07T09:00:00+08:00)") from None
    if not 2000 <= value.year <= 2100:
        raise Open311Error(400, f"{name} is out of range")
    return value if value.tzinfo is not None else value.replace(tzinfo=_zone())


def _list(name: str) -> list[str]:
    return [part.strip() for part in (request.args.get(name) or "").split(",") if part.strip()][:100]


def _search() -> list[InteractionRequest]:
    ids = _list("service_request_id")
    stmt = select(InteractionRequest).order_by(InteractionRequest.received_at.desc(), InteractionRequest.id.desc())
    if ids:  # the other filters are ignored when ids are given (the spec)
        return list(db.session.scalars(stmt.where(InteractionRequest.reference.in_(ids)).limit(MAX_ROWS)))
    start, end = _instant("start_date"), _instant("end_date")
    end = end or (start + WINDOW if start is not None else now_utc())
    start = start or end - WINDOW
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > WINDOW:
        raise Open311Error(400, "the date range may span at most 90 days")
    stmt = stmt.where(InteractionRequest.received_at >= start, InteractionRequest.received_at <= end)
    codes = _list("service_code")
    if codes:
        from app.convenience.interaction.models import InteractionCategory

        stmt = stmt.join(InteractionCategory).where(InteractionCategory.code.in_(codes))
    wanted = set(_list("status"))
    if wanted - {"open", "closed"}:
        raise Open311Error(400, "status is open, closed or both")
    if wanted == {"open"}:
        stmt = stmt.where(InteractionRequest.status.not_in(DONE_STATUSES))
    elif wanted == {"closed"}:
        stmt = stmt.where(InteractionRequest.status.in_(DONE_STATUSES))
    return list(db.session.scalars(stmt.limit(MAX_ROWS)))


def _intake_account(api_key: str | None) -> Any:
    from app.accounts import services_tokens

    if not api_key:
        raise Open311Error(400, "api_key is required")
    token, _refusal = services_tokens.authenticate_token(api_key.strip())
    if token is None or INTAKE not in token.user.permissions or not scope_allows(list(token.scopes), INTAKE):
        raise Open311Error(403, "api_key is not valid for posting service requests")
    return token.user


def _number(name: str) -> float | None:
    raw = request.form.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None


def _post() -> Response:
    form = request.form
    account = _intake_account(form.get("api_key"))
    code = form.get("service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in {c.code for c in services.categories()}:
        raise Open311Error(404, "service_code not found")
    lat, long = _number("lat"), _number("long")
    address = form.get("address_string") or ""
    if (lat is None or long is None) and not address.strip():
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    name = " ".join(p for p in (form.get("last_name", ""), form.get("first_name", "")) if p).strip()
    try:
        intake = services.submit(
            channel=Channel.OPEN311,
            kind="help",
            category=code,
            body=form.get("description", ""),
            name=name,
            phone=form.get("phone", ""),
            email=form.get("email", ""),
            address=address,
            lat=lat,
            long=long,
            actor=account,
        )
    except DomainError as exc:
        errors = exc.extra.get("errors") if isinstance(exc.extra, dict) else None
        fields = ", ".join(sorted(errors)) if isinstance(errors, dict) else ""
        raise Open311Error(400, f"{exc.detail} ({fields})" if fields else exc.detail) from None
    r = intake.request
    row = {
        "service_request_id": r.reference,
        "token": r.tracking_token,
        "service_notice": f"预计答复时间：{r.due_on.isoformat()}" if r.due_on else "",
        "account_id": None,
    }
    return _answer(request.view_args["fmt"], "service_requests", "request", [row], 201)  # type: ignore[index]


@bp.route("/requests.<any(json, xml):fmt>", methods=["GET", "POST"])
@public
def requests_endpoint(fmt: str) -> Response:
    """GET: the requests of the last 90 days (or the dates given), filtered; POST: a new service request."""
    if request.method == "POST":
        return _guarded(fmt, _post)
    return _guarded(fmt, lambda: _answer(fmt, "service_requests", "request", [request_row(r) for r in _search()]))


@bp.get("/requests/<string:reference>.<any(json, xml):fmt>")
@public
def request_detail(reference: str, fmt: str) -> Response:
    def work() -> Response:
        found = db.session.scalar(select(InteractionRequest).where(InteractionRequest.reference == reference))
        if found is None:
            raise Open311Error(404, "service_request_id not found")
        return _answer(fmt, "service_requests", "request", [request_row(found)])

    return _guarded(fmt, work)


@bp.get("/tokens/<string:token>.<any(json, xml):fmt>")
@public
def token_lookup(token: str, fmt: str) -> Response:
    def work() -> Response:
        found = db.session.scalar(select(InteractionRequest).where(InteractionRequest.tracking_token == token))
        if found is None:
            raise Open311Error(404, "token not found")
        return _answer(fmt, "service_requests", "request", [{"service_request_id": found.reference, "token": token}])

    return _guarded(fmt, work)


def init_app(app: Flask) -> None:
    app.config.setdefault("OPEN311_JURISDICTION", "handan.gov.cn")
    app.config.setdefault("OPEN311_CONTACT", "邯郸市行政服务中心 12345")
    app.config.setdefault("OPEN311_KEY_SERVICE", "向中心管理员申请API令牌（权限：convenience.interaction.intake）")
    app.register_blueprint(bp)
