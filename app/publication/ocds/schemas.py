"""Marshmallow schemas of the OCDS API: the cursor arguments and the package envelopes (the releases themselves are
OCDS JSON, validated against the official schemas in the tests, so they pass through as they are)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Integer, QueryInteger

MAX_SEQ = 2**53 - 1


class CursorArgs(ma.Schema):
    since = QueryInteger(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_SEQ),
        metadata={"description": "The cursor: the `seq` of the last release already read (0: from the start)."},
    )
    limit = QueryInteger(
        load_default=None,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "At most this many releases (records) in the page; default 100."},
    )


class PackageLinks(ma.Schema):
    next = ma.fields.String(metadata={"description": "Only on a full page: the same query after this page's cursor."})
    since = Integer(
        required=True, metadata={"description": "The cursor to pass as `since` next time (poll with it for new ones)."}
    )


class _Package(ma.Schema):
    uri = ma.fields.String(required=True)
    version = ma.fields.String(required=True, metadata={"description": "OCDS version: 1.1"})
    extensions = ma.fields.List(ma.fields.String(), required=True)
    publishedDate = ma.fields.String(required=True)  # OCDS field name
    publisher = ma.fields.Dict(required=True)
    links = ma.fields.Nested(PackageLinks)


class ReleasePackageOut(_Package):
    releases = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "OCDS releases"})


class RecordPackageOut(_Package):
    records = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "OCDS records"})


class MonthOut(ma.Schema):
    month = ma.fields.String(required=True, metadata={"description": "YYYY-MM (UTC)"})
    releases = Integer(required=True)
    last_seq = Integer(required=True)
    url = ma.fields.String(required=True, metadata={"description": "The month's release package file"})
