"""Marshmallow schemas of the evidence-log API: query arguments and documented responses."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.audit.services import MAX_SIZE
from app.core.fields import Integer, QueryInteger

_size = validate.Range(min=0, max=MAX_SIZE)
_HEX = "lower-case hex of a 32-byte SHA-256 value"


class SignatureSchema(Schema):
    alg = fields.String(required=True, metadata={"example": "Ed25519"})
    key_id = fields.String(required=True, metadata={"description": "first 8 bytes (hex) of SHA-256 of the raw key"})
    sig = fields.String(required=True, metadata={"description": "base64 Ed25519 signature over the canonical payload"})


class CheckpointPayloadSchema(Schema):
    origin = fields.String(required=True)
    tree_size = Integer(required=True)
    root_hash = fields.String(required=True, metadata={"description": _HEX})
    issued_at = fields.String(required=True, metadata={"description": "UTC instant, e.g. 2026-01-05T01:00:00.000000Z"})


class SignedCheckpointSchema(Schema):
    payload = fields.Nested(CheckpointPayloadSchema, required=True)
    signature = fields.Nested(SignatureSchema, required=True)


class EntrySchema(Schema):
    index = Integer(required=True)
    created_at = fields.String(required=True)
    action = fields.String(required=True)
    actor = fields.String(required=True)
    subject = fields.String(required=True, allow_none=True)
    data = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)
    canonical = fields.String(required=True, metadata={"description": "base64 of the exact bytes that were hashed"})
    leaf_hash = fields.String(required=True, metadata={"description": _HEX})


class InclusionSchema(Schema):
    tree_size = Integer(required=True)
    root_hash = fields.String(required=True)
    proof = fields.List(
        fields.String(), required=True, metadata={"description": "RFC 6962 audit path, leaf side first"}
    )
    checkpoint = fields.Nested(SignedCheckpointSchema, required=True, allow_none=True)


class EntryResponseSchema(Schema):
    entry = fields.Nested(EntrySchema, required=True)
    inclusion = fields.Nested(
        InclusionSchema,
        required=True,
        allow_none=True,
        metadata={"description": "null while no checkpoint covers the entry yet"},
    )


class ConsistencyResponseSchema(Schema):
    first = Integer(required=True)
    second = Integer(required=True)
    first_root = fields.String(required=True)
    second_root = fields.String(required=True)
    proof = fields.List(fields.String(), required=True)
    first_checkpoint = fields.Nested(SignedCheckpointSchema, required=True, allow_none=True)
    second_checkpoint = fields.Nested(SignedCheckpointSchema, required=True, allow_none=True)


class ExportConsistencySchema(Schema):
    first = Integer(required=True)
    second = Integer(required=True)
    proof = fields.List(fields.String(), required=True)
    first_checkpoint = fields.Nested(SignedCheckpointSchema, required=True)


class ExportSchema(Schema):
    format = fields.String(required=True)
    origin = fields.String(required=True)
    start = Integer(required=True)
    end = Integer(required=True)
    tree_size = Integer(required=True)
    checkpoint = fields.Nested(SignedCheckpointSchema, required=True)
    entries = fields.List(fields.Nested(EntrySchema), required=True)
    range_proof = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "hashes of the maximal subtrees outside [start, end), left to right"},
    )
    consistency = fields.Nested(ExportConsistencySchema, required=True, allow_none=True)


class PublicKeySchema(Schema):
    key_id = fields.String(required=True)
    alg = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "raw 32-byte Ed25519 key, base64"})
    public_key_pem = fields.String(required=True)
    created_at = fields.String(required=True, allow_none=True)


class PublicKeysSchema(Schema):
    keys = fields.List(fields.Nested(PublicKeySchema), required=True)


class EntryArgsSchema(Schema):
    tree_size = QueryInteger(validate=validate.Range(min=1, max=MAX_SIZE))


class ConsistencyArgsSchema(Schema):
    first = QueryInteger(required=True, validate=_size)
    second = QueryInteger(required=True, validate=_size)


class ExportArgsSchema(Schema):
    start = QueryInteger(required=True, validate=_size)
    end = QueryInteger(required=True, validate=validate.Range(min=1, max=MAX_SIZE))
    consistency_from = QueryInteger(validate=validate.Range(min=1, max=MAX_SIZE))
