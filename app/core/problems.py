"""The one registry of problem types (RFC 9457): every error the platform answers names one of these.

A problem type has a slug (the last segment of its URI), the HTTP status it goes with, a title and a
description; titles and descriptions are English msgids with their zh-CN translation in the catalogue.
The type URI is a page of this platform (`/problems/<slug>`) that explains the problem and what to do.
`core.errors` (pages and problem JSON) and `core.api` (the OpenAPI document) read this registry only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for


def N_(message: str) -> str:
    """Mark a message for the catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str


REGISTRY: dict[str, ProblemType] = {}


def register(slug: str, status: int, title: str, description: str) -> ProblemType:
    """Add a problem type (idempotent for an identical entry; a different entry under a used slug is a bug)."""
    entry = ProblemType(slug, status, title, description)
    known = REGISTRY.get(slug)
    if known is not None and known != entry:
        raise ValueError(f"problem type {slug!r} is registered twice, differently")
    REGISTRY[slug] = entry
    return entry


def get(slug: str) -> ProblemType:
    """The registered type `slug`; KeyError when it is not registered."""
    return REGISTRY[slug]


def type_uri(slug: str) -> str:
    """The type URI of a problem: the page that explains it, on this platform."""
    return url_for("core.problem_type", slug=slug, _external=True)


# Generic types, one per HTTP status the framework (werkzeug, flask-smorest) can answer with.
_GENERIC = [
    (
        "bad-request",
        400,
        N_("Bad request"),
        N_(
            "The request cannot be understood as sent. Check the request against the API description "
            "(/api/v1/openapi.json) and send it again corrected."
        ),
    ),
    (
        "not-authenticated",
        401,
        N_("Sign-in required"),
        N_(
            "This needs a signed-in account. Sign in on the page, or send an API token as 'Authorization: "
            "Bearer <token>'; if you sent a token, it is unknown, expired or revoked: create a new one."
        ),
    ),
    (
        "forbidden",
        403,
        N_("Not allowed"),
        N_(
            "Your account (or the scopes of your API token) does not allow this, or the thing asked for belongs"
            " to another party. Refused attempts on tenders are recorded in the evidence log. Ask the center's "
            "administrator if you need the permission."
        ),
    ),
    (
        "not-found",
        404,
        N_("Not found"),
        N_("The address names nothing that exists, or nothing you may see. Check the identifier and the address."),
    ),
    (
        "method-not-allowed",
        405,
        N_("Method not allowed"),
        N_("The address exists but does not accept this HTTP method; the Allow header lists the methods it accepts."),
    ),
    (
        "not-acceptable",
        406,
        N_("Not acceptable"),
        N_(
            "The server cannot answer in any of the formats the Accept header asks for. Accept application/json"
            " (or text/html for pages)."
        ),
    ),
    (
        "request-timeout",
        408,
        N_("Request timeout"),
        N_("The request body did not arrive in time. Send it again over a working connection."),
    ),
    (
        "conflict",
        409,
        N_("Conflict with the current state"),
        N_(
            "The request does not fit the current state of the thing it changes (for example a tender already "
            "published, or a phase that has ended). Reload the current state and decide again."
        ),
    ),
    ("gone", 410, N_("Gone"), N_("The thing asked for existed but has been removed for good.")),
    ("length-required", 411, N_("Length required"), N_("Send a Content-Length header with the request body.")),
    (
        "precondition-failed",
        412,
        N_("Precondition failed"),
        N_(
            "A condition of the request (If-Match and similar headers) does not hold any more. Fetch the "
            "current version and try again."
        ),
    ),
    (
        "content-too-large",
        413,
        N_("Request body too large"),
        N_(
            "The request body is larger than the platform accepts for this request. Send less data, or large "
            "files through the resumable upload of the API."
        ),
    ),
    (
        "uri-too-long",
        414,
        N_("Address too long"),
        N_(
            "The address (with its query string) is longer than the platform accepts. Send long input in the "
            "request body instead."
        ),
    ),
    (
        "unsupported-media-type",
        415,
        N_("Unsupported media type"),
        N_(
            "The request body is in a format this address does not accept; send JSON with 'Content-Type: "
            "application/json' unless the API description says otherwise."
        ),
    ),
    (
        "range-not-satisfiable",
        416,
        N_("Requested range not satisfiable"),
        N_("The Range header asks for bytes outside the stored object. Ask for a range inside its size."),
    ),
    (
        "validation-failed",
        422,
        N_("The input is not valid"),
        N_(
            "The request is well-formed but some values break the rules; the 'errors' member names each field "
            "and what is wrong with it. Correct those fields and send the request again."
        ),
    ),
    (
        "locked",
        423,
        N_("Locked"),
        N_("Another request is changing the same thing right now. Wait a moment and try again."),
    ),
    (
        "precondition-required",
        428,
        N_("Precondition required"),
        N_("This change must be conditional: send the If-Match header with the version you read."),
    ),
    (
        "too-many-requests",
        429,
        N_("Too many attempts"),
        N_(
            "Too many attempts in a short time; the account or address is held back for a while. Wait and try "
            "again later."
        ),
    ),
    (
        "headers-too-large",
        431,
        N_("Request headers too large"),
        N_("The request headers (often cookies) are too large. Clear the site's cookies or send fewer headers."),
    ),
    (
        "internal",
        500,
        N_("Internal error"),
        N_(
            "Something failed inside the platform. The error was logged; nothing was changed by the failed "
            "request. Try again later, and tell the center's support if it persists."
        ),
    ),
    (
        "not-implemented",
        501,
        N_("Not implemented"),
        N_("The platform does not implement this method for this address."),
    ),
    (
        "service-unavailable",
        503,
        N_("Service unavailable"),
        N_("A service the platform needs is unavailable for the moment. Try again later."),
    ),
]
# Specific types of the core.
_SPECIFIC = [
    (
        "malformed-json",
        400,
        N_("Malformed JSON"),
        N_(
            "The request body is not valid JSON (RFC 8259, UTF-8). Check the quoting, commas and brackets, and "
            "send it with 'Content-Type: application/json'."
        ),
    ),
    (
        "json-too-deep",
        400,
        N_("JSON nested too deeply"),
        N_(
            "The JSON request body nests arrays and objects deeper than the platform accepts (32 levels). No "
            "request of this API needs that much nesting; flatten the data."
        ),
    ),
    (
        "csrf-failed",
        400,
        N_("CSRF token missing or invalid"),
        N_(
            "The form was sent without its anti-forgery token, or with an old one (for example after signing in"
            " again in another tab). Reload the page and send the form again. API clients use a bearer token "
            "instead of the session cookie."
        ),
    ),
    (
        "write-once",
        409,
        N_("The object is write-once"),
        N_(
            "Stored evidence (sealed bids, documents, recordings) is never overwritten. Store the new content "
            "under a new name."
        ),
    ),
    (
        "storage-unavailable",
        503,
        N_("Object storage is unavailable"),
        N_("The object store holding files is unreachable for the moment; nothing was stored. Try again later."),
    ),
]

for _entry in _GENERIC + _SPECIFIC:
    register(*_entry)

BY_STATUS: dict[int, str] = {status: slug for slug, status, _title, _description in _GENERIC}


def slug_for_status(status: int) -> str:
    """The generic type of an HTTP status; an unlisted status falls back to bad-request or internal."""
    if status in BY_STATUS:
        return BY_STATUS[status]
    return "internal" if status >= 500 else "bad-request"
