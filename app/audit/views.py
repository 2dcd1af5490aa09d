"""The evidence-log explorer (存证日志) for holders of `audit.read`: a filtered list, one entry with its inclusion
proof verified twice (by the server here, and in the browser by static/verify.js against the key published at
/.well-known/platform-keys.json), and the export of a filter as the API's JSON (`python -m crypto verify-log`).

Read-only pages: nothing here writes to the database except the access.denied entry of a refused caller (the
permission layer's hook).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length, Optional

from app.audit import explorer, services
from app.audit.actions import action_label
from app.audit.models import AuditEntry
from app.core.db import db
from app.core.errors import NotFound, ValidationFailed
from app.core.fields import InstantOutOfRange, parse_instant
from app.core.problems import N_
from app.core.security import requires
from app.core.views import register_nav
from crypto.canonical import canonicalize

bp = Blueprint(
    "audit_pages",
    __name__,
    url_prefix="/audit",
    template_folder="templates",
)

_CURSOR = re.compile(r"[0-9]{1,16}")
SUMMARY_CHARS = 80


class FilterForm(FlaskForm):  # type: ignore[misc]
    """The filters, read from the query string (a GET form: no CSRF token; WTForms' messages translated)."""

    class Meta:
        csrf = False

    subject = StringField(_l("Subject"), [Optional(), Length(max=explorer.MAX_SUBJECT)])
    subject_prefix = BooleanField(_l("Subjects that start with this text"))
    action = SelectField(_l("Action"), validate_choice=False)
    actor = StringField(_l("Actor"), [Optional(), Length(max=explorer.MAX_ACTOR)])
    since = StringField(_l("From"))
    before = StringField(_l("Before"))


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _cursor(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not _CURSOR.fullmatch(raw):
        raise ValidationFailed(N_("The page link is not valid."), errors={name: [_("Not a valid integer.")]})
    return int(raw)


def _read_filters(form: FilterForm, known_actions: list[str]) -> explorer.Filters | None:
    """The filters of a valid form (field errors set and None otherwise)."""
    ok = form.validate()
    action = (form.action.data or "").strip()
    if action and action not in known_actions:
        form.action.errors = [*form.action.errors, _("Choose an action from the list.")]
        ok = False
    instants: dict[str, datetime | None] = {}
    for name in ("since", "before"):
        fld = getattr(form, name)
        text = (fld.data or "").strip()
        if not text:
            instants[name] = None
            continue
        try:
            instants[name] = parse_instant(text, default_zone=_zone())
        except InstantOutOfRange as exc:
            fld.errors = [*fld.errors, _(str(exc))]
            ok = False
    if ok and instants["since"] and instants["before"] and instants["since"] >= instants["before"]:
        form.before.errors = [*form.before.errors, _("The end of the time range must come after its start.")]
        ok = False
    if not ok:
        return None
    return explorer.Filters(
        subject=(form.subject.data or "").strip() or None,
        subject_prefix=bool(form.subject_prefix.data),
        action=action or None,
        actor=(form.actor.data or "").strip() or None,
        since=instants["since"],
        before=instants["before"],
    )


def _filter_args() -> dict[str, str]:
    """The filter part of the query string (without the page cursors), for links that keep the filters."""
    names = ("subject", "subject_prefix", "action", "actor", "since", "before")
    return {n: request.args[n] for n in names if request.args.get(n)}


def _summary(data: Any) -> str:
    if not data:
        return "—"
    text = canonicalize(data).decode("utf-8")
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


@bp.get("/")
@requires("audit.read")
def log() -> Any:
    known = explorer.actions()
    form = FilterForm(request.args)
    form.action.choices = [("", _("Any action")), *((a, action_label(a)) for a in known)]
    filters = _read_filters(form, known)
    before, after = _cursor("cursor_before"), _cursor("cursor_after")
    result = (
        explorer.page(filters, before=before, after=after, size=explorer.PAGE_SIZE) if filters is not None else None
    )
    args = _filter_args()

    def link(**cursor: int) -> str:
        return url_for("audit_pages.log") + "?" + urlencode({**args, **{k: str(v) for k, v in cursor.items()}})

    newer_url = older_url = None
    if result is not None:
        if result.newer is not None:
            newer_url = link(cursor_after=result.newer)
        if result.older is not None:
            older_url = link(cursor_before=result.older)
    status = 200 if filters is not None else 422
    return render_template(
        "audit/log.html",
        form=form,
        page=result,
        filtered=bool(args),
        newer_url=newer_url,
        older_url=older_url,
        export_url=url_for("audit_pages.export") + ("?" + urlencode(args) if args else ""),
        zone=current_app.config["CENTER_TIMEZONE"],
        summary=_summary,
        tree_size=services.tree_size(),
    ), status


@bp.get("/export")
@requires("audit.read")
def export() -> Any:
    known = explorer.actions()
    form = FilterForm(request.args)
    form.action.choices = [("", ""), *((a, a) for a in known)]
    filters = _read_filters(form, known)
    back = url_for("audit_pages.log") + ("?" + urlencode(_filter_args()) if _filter_args() else "")
    if filters is None:
        return redirect(back, code=303)  # the list page shows the same errors
    try:
        document = explorer.export(filters)
    except explorer.ExportRefused as exc:
        flash(_(exc.message, **exc.params), "error")
        return redirect(back, code=303)
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    name = f"audit-log-{document['start']}-{document['end']}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/entries/<int:index>")
@requires("audit.read")
def entry(index: int) -> Any:
    if index > services.MAX_SIZE:
        raise NotFound(N_("No such log entry."))
    document = services.get_entry(index)
    verdict = explorer.verify_entry(document)
    text = explorer.canonical_text(document["entry"])
    inclusion = document["inclusion"]
    proof_data = None
    if inclusion is not None and inclusion.get("checkpoint") is not None:
        proof_data = {
            "index": index,
            "canonical": text,
            "leaf_hash": document["entry"]["leaf_hash"],
            "tree_size": inclusion["tree_size"],
            "proof": inclusion["proof"],
            "checkpoint": inclusion["checkpoint"],
            "keys_url": url_for("well_known_keys.well_known_keys"),
            "messages": _browser_messages(),
        }
    return render_template(
        "audit/entry.html",
        entry=document["entry"],
        created_at=db.session.get(AuditEntry, index).created_at,  # type: ignore[union-attr]
        canonical_pretty=json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True),
        canonical=text,
        inclusion=inclusion,
        verdict=verdict,
        verdict_text=_(verdict.reason, **verdict.params),
        proof_data=proof_data,
    )


def _browser_messages() -> dict[str, str]:
    """The verdicts static/verify.js can reach, translated here (the script has no catalogue)."""
    return {
        "checking": _("Checking in your browser…"),
        "verified": _("Verified in your browser"),
        "not_verified": _("Not verified in your browser"),
        "ok": _(
            "Your browser recomputed the leaf hash from the canonical entry, folded the audit path to the root of "
            "tree size %(size)s and checked the platform key %(key_id)s's signature over it."
        ),
        "leaf": _("The canonical entry does not hash to the logged leaf hash."),
        "entry": _("The canonical entry is not a log entry with this index."),
        "path": _("The audit path does not lead from the leaf hash to the checkpoint's root."),
        "size": _("The checkpoint does not sign the tree size the proof is for."),
        "key": _("The checkpoint is signed by a key the platform does not publish."),
        "signature": _("The checkpoint's signature does not verify with the published platform key."),
        "keys": _("The platform's public keys could not be fetched."),
        "unsupported": _("This browser cannot check Ed25519 signatures (WebCrypto); rely on the server's verdict."),
        "malformed": _("The proof data on this page is malformed."),
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("audit_pages.log", _l("Evidence log"), "audit.read", order=80)
