"""A small Open311 GeoReport v2 client written from the specification (http://wiki.open311.org/GeoReport_v2), not
from the platform's code: it speaks HTTP to a server, in JSON or XML, and knows only the spec's resources,
parameters and element names. The tests use it to check the platform from the outside."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from xml.etree import ElementTree as ET

# Elements the spec defines as lists of repeated children.
LISTS = {"services", "service_requests", "errors", "attributes", "values", "endpoints", "formats"}


class GeoReportError(Exception):
    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


def _element(node: ET.Element) -> Any:
    children = list(node)
    if node.tag in LISTS:
        return [_element(c) for c in children]
    if not children:
        return node.text or ""
    return {c.tag: _element(c) for c in children}


class GeoReport:
    def __init__(
        self, endpoint: str, *, api_key: str | None = None, jurisdiction_id: str | None = None, fmt: str = "json"
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        self.fmt = fmt

    def _call(self, path: str, params: dict[str, Any] | None = None, *, post: bool = False) -> Any:
        values = {k: v for k, v in (params or {}).items() if v is not None}
        if self.jurisdiction_id:
            values["jurisdiction_id"] = self.jurisdiction_id
        url = f"{self.endpoint}/{path}.{self.fmt}"
        data = None
        if post:
            data = urllib.parse.urlencode(values).encode()
        elif values:
            url += "?" + urllib.parse.urlencode(values)
        req = urllib.request.Request(url, data=data, method="POST" if post else "GET")
        if post:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return self._parse(resp.read())
        except urllib.error.HTTPError as exc:
            body = self._parse(exc.read())
            raise GeoReportError(exc.code, body if isinstance(body, list) else [body]) from None

    def _parse(self, raw: bytes) -> Any:
        if self.fmt == "json":
            return json.loads(raw)
        return _element(ET.fromstring(raw))

    # GET Service List
    def services(self) -> list[dict[str, Any]]:
        return self._call("services")  # type: ignore[no-any-return]

    # GET Service Definition
    def service_definition(self, service_code: str) -> dict[str, Any]:
        return self._call(f"services/{urllib.parse.quote(service_code)}")  # type: ignore[no-any-return]

    # POST Service Request
    def post_request(self, **fields: Any) -> list[dict[str, Any]]:
        return self._call("requests", {"api_key": self.api_key, **fields}, post=True)  # type: ignore[no-any-return]

    # GET Service Requests
    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return self._call("requests", filters)  # type: ignore[no-any-return]

    # GET Service Request
    def request(self, service_request_id: str) -> list[dict[str, Any]]:
        return self._call(f"requests/{urllib.parse.quote(service_request_id)}")  # type: ignore[no-any-return]

    # GET service_request_id from a token
    def token(self, token: str) -> list[dict[str, Any]]:
        return self._call(f"tokens/{urllib.parse.quote(token)}")  # type: ignore[no-any-return]
