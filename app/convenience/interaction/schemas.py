"""Marshmallow schemas of the 政民互动 API (in the OpenAPI document). Lengths here bound what is parsed; the
services clean every text again (app.core.errors.clean_text) and decide what is stored."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.convenience.interaction.models import Kind, Status
from app.convenience.interaction.services import (
    ADDRESS_MAX,
    BODY_MAX,
    EXTERNAL_MAX,
    NAME_MAX,
    NOTE_MAX,
    REPLY_MAX,
    TITLE_MAX,
)
from app.core.fields import Float, Instant, Integer

KINDS = [k.value for k in Kind]
KIND_HELP = "complaint 投诉, suggestion 建议, consultation 咨询, help 求助"
FORUM_BATCH_MAX = 100


class StrictBoolean(ma.fields.Boolean):
    """A JSON true or false: strings and numbers are refused, never coerced."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):  # 1 == True in a set: check the type itself
            raise self.make_error("invalid", input=value)
        return value


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class WebRequestArgs(_Strict):
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS), metadata={"description": KIND_HELP})
    category = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=32), metadata={"description": "A category code"}
    )
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX))
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=BODY_MAX))
    name = ma.fields.String(load_default="", validate=validate.Length(max=NAME_MAX))
    phone = ma.fields.String(load_default="", validate=validate.Length(max=40))
    email = ma.fields.String(load_default="", validate=validate.Length(max=200))
    address = ma.fields.String(load_default="", validate=validate.Length(max=ADDRESS_MAX))
    lat = Float(load_default=None, allow_none=True, metadata={"description": "WGS84 latitude (optional)"})
    long = Float(load_default=None, allow_none=True, metadata={"description": "WGS84 longitude (optional)"})


class HotlineArgs(_Strict):
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS), metadata={"description": KIND_HELP})
    category = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    urgent = StrictBoolean(load_default=False, metadata={"description": "Urgent: due the same day"})
    name = ma.fields.String(load_default="", validate=validate.Length(max=NAME_MAX))
    phone = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX))
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=BODY_MAX))
    address = ma.fields.String(load_default="", validate=validate.Length(max=ADDRESS_MAX))


class EmailArgs(_Strict):
    message_id = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=EXTERNAL_MAX),
        metadata={"description": "The e-mail's Message-ID: a second delivery returns the stored request"},
    )
    sender = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=200), metadata={"description": "The From address"}
    )
    name = ma.fields.String(load_default="", validate=validate.Length(max=NAME_MAX))
    subject = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX))
    body = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=BODY_MAX),
        metadata={"description": "The plain-text body, at most 5,000 characters"},
    )
    kind = ma.fields.String(
        load_default="complaint", validate=validate.OneOf(KINDS), metadata={"description": KIND_HELP}
    )
    category = ma.fields.String(load_default="other", validate=validate.Length(min=1, max=32))


class ForumPost(_Strict):
    post_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=EXTERNAL_MAX))
    author = ma.fields.String(load_default="", validate=validate.Length(max=NAME_MAX))
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX))
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=BODY_MAX))
    kind = ma.fields.String(load_default="suggestion", validate=validate.OneOf(KINDS))
    category = ma.fields.String(load_default="other", validate=validate.Length(min=1, max=32))


class ForumImportArgs(_Strict):
    posts = ma.fields.List(
        ma.fields.Nested(ForumPost),
        required=True,
        validate=validate.Length(min=1, max=FORUM_BATCH_MAX),
        metadata={"description": "At most 100 posts; a post imported before (same post_id) is not stored again"},
    )


class InteractionReceiptOut(ma.Schema):
    reference = ma.fields.String(required=True, metadata={"description": "The public reference (service_request_id)"})
    tracking_token = ma.fields.String(required=True, metadata={"description": "With the reference: follow it"})
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in Status]))
    created = ma.fields.Boolean(required=True, metadata={"description": "False: taken in before"})
    due_on = ma.fields.Date(allow_none=True)


class InteractionImportOut(ma.Schema):
    created = Integer(required=True)
    existing = Integer(required=True)
    requests = ma.fields.List(ma.fields.Nested(InteractionReceiptOut), required=True)


class InteractionPressOut(ma.Schema):
    pressed_at = Instant(required=True)
    pressed_by = ma.fields.String(required=True)
    note = ma.fields.String(required=True)
    reopened = ma.fields.Boolean(required=True)


class InteractionCallBackOut(ma.Schema):
    called_at = Instant(required=True)
    called_by = ma.fields.String(required=True)
    reached = StrictBoolean(required=True)
    satisfied = ma.fields.Boolean(allow_none=True)
    note = ma.fields.String(required=True)


class InteractionRequestOut(ma.Schema):
    reference = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    urgent = StrictBoolean(required=True)
    category = ma.fields.String(required=True, metadata={"description": "The category code (Open311 service_code)"})
    channel = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    address = ma.fields.String(required=True)
    lat = Float(allow_none=True)
    long = Float(allow_none=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in Status]))
    open311_status = ma.fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
    received_at = Instant(required=True)
    due_on = ma.fields.Date(allow_none=True)
    due_at = Instant(allow_none=True)
    overdue = ma.fields.Boolean(required=True)
    department = ma.fields.String(required=True, metadata={"description": "Who handles it"})
    department_code = ma.fields.String(allow_none=True, metadata={"description": "null: the dispatch office"})
    reply = ma.fields.String(required=True)
    replied_at = Instant(allow_none=True)
    closed_at = Instant(allow_none=True)
    rating = ma.fields.String(allow_none=True, metadata={"description": "The 好差评 level given, if any"})


class InteractionStaffRequestOut(InteractionRequestOut):
    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    contact_email = ma.fields.String(required=True)
    template_reply = ma.fields.String(required=True, metadata={"description": "The category's template, filled"})
    presses = ma.fields.List(ma.fields.Nested(InteractionPressOut), required=True)
    callbacks = ma.fields.List(ma.fields.Nested(InteractionCallBackOut), required=True)


class InteractionTrackQuery(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class InteractionListQuery(ma.Schema):
    scope = ma.fields.String(
        load_default="open",
        validate=validate.OneOf(["open", "inbox", "callbacks"]),
        metadata={"description": "open: every open request (dispatchers); inbox: your department's; callbacks"},
    )


class InteractionDispatchArgs(_Strict):
    department = ma.fields.String(
        required=True,
        validate=validate.Length(max=32),
        metadata={"description": "A department code; empty: back to the dispatch office"},
    )


class InteractionReplyArgs(_Strict):
    reply = ma.fields.String(required=True, validate=validate.Length(min=1, max=REPLY_MAX))


class InteractionPressArgs(_Strict):
    note = ma.fields.String(required=True, validate=validate.Length(min=1, max=NOTE_MAX))
    reopen = StrictBoolean(load_default=False, metadata={"description": "Send a reply back for more handling"})


class InteractionCallBackArgs(_Strict):
    reached = StrictBoolean(required=True)
    satisfied = StrictBoolean(load_default=None, allow_none=True)
    note = ma.fields.String(load_default="", validate=validate.Length(max=NOTE_MAX))


class InteractionCategoryOut(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
