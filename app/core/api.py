"""The API's shared pieces: the RFC 9457 problem schema, documented error answers, the Api subclass."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from app.core.fields import Integer

PROBLEM = "application/problem+json"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, the shape of every API error."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.Raw(metadata={"description": "Field errors, for 422 answers"})


def problem_responses(blp: Blueprint, *statuses: int) -> Callable[[Any], Any]:
    """Document problem-JSON error answers on an endpoint of `blp`."""

    def deco(fn: Any) -> Any:
        for status in statuses:
            fn = blp.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM, description=http.HTTPStatus(status).phrase
            )(fn)
        return fn

    return deco


class PlatformApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with every default error response documented as problem JSON."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
