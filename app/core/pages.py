"""The request boundary every page and API operation shares: one commit, one way to answer a domain error.

- **One commit, at the boundary.** Services flush; a view never commits. After the view returns, an answer
  below 400 commits the request's unit of work, anything else (or a view that met a domain error) rolls it
  back. Side effects registered with `core.tasks.after_commit` leave only then.
- **One handler for domain errors in pages.** `attempt()` runs a service call: a refusal (401/403/404, or a
  logged refusal) goes on to the error handlers, which answer with the error page and log it; any other
  domain error (a conflict, invalid input) rolls the work back and becomes a message the page shows, on the
  form field it names or at the top of the page (the error summary), or as a flash after a redirect.

    with attempt(form) as outcome:
        services_x.do(actor=me(), ...)
    if outcome.failed:
        return render_template(..., form=form, errors=outcome.errors), outcome.status
    flash(_("Done."), "success")
    return redirect(...)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, flash, g
from flask_babel import gettext as _
from flask_login import current_user

from app.core.db import db
from app.core.errors import DomainError, NotFound


def me() -> Any:
    """The signed-in user (the object itself, not Flask-Login's proxy)."""
    return current_user._get_current_object()


def discard() -> None:
    """Roll the request's work back now and keep the boundary from committing anything after it."""
    db.session.rollback()
    g.discard_unit_of_work = True


def is_refusal(exc: DomainError) -> bool:
    """Refusals keep their error page (and their evidence record): never turned into a form message."""
    from app.tendering.common import LoggedRefusal

    return isinstance(exc, LoggedRefusal | NotFound) or exc.status in (401, 403)


def messages(value: Any) -> list[str]:
    """Flatten marshmallow or service error values to readable, translated strings."""
    if isinstance(value, Mapping):
        out: list[str] = []
        for key, sub in value.items():
            out.extend(f"{key}: {m}" if not str(key).isdigit() else m for m in messages(sub))
        return out
    if isinstance(value, list | tuple):
        return [m for item in value for m in messages(item)]
    return [_(str(value))]


class Errors(dict[str, list[str]]):
    """A page's error messages: per form field (keyed by the field's name) and general ones (`general`).

    `core/ui.html`'s error_summary lists both, each field's message linking to its field.
    """

    general: list[str]

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.general = []
        self.aliases = dict(aliases or {})  # a service's field name -> the form's field name

    def __bool__(self) -> bool:
        return bool(self.general) or any(self.values())

    def add(self, field: str | None, message: str, form: Any = None) -> None:
        name = self.aliases.get(field or "", field or "")
        if form is not None and name and name in getattr(form, "_fields", {}):
            self.setdefault(name, []).append(message)
        else:
            self.general.append(message)

    def from_schema(self, exc: Any, form: Any = None) -> None:
        """A marshmallow ValidationError's messages, on the fields they name."""
        found = exc.messages if isinstance(exc.messages, Mapping) else {"": exc.messages}
        for key, value in found.items():
            self.add(str(key), "; ".join(messages(value)), form)

    def from_service(self, exc: DomainError, form: Any = None) -> None:
        errors = exc.extra.get("errors") if isinstance(exc.extra, dict) else None
        detail = exc.translated
        if not isinstance(errors, Mapping) or not errors:
            self.general.append(detail)
            return
        for key, value in errors.items():
            # Codes ('unknown', 'early') are for machines; sentences (jsonschema messages, and translated ones,
            # which in Chinese have no spaces) are worth showing.
            # The error's own message (in English with its values filled in, as field_error stores it) is the
            # detail already shown in the reader's language.
            sentences = [m for m in messages(value) if (" " in m or not m.isascii()) and m not in (detail, exc.detail)]
            self.add(str(key), "; ".join([detail, *sentences]), form)


@dataclass
class Outcome:
    """What `attempt()` saw: nothing (`failed` is False), or the domain error and the messages it became."""

    errors: Errors = field(default_factory=Errors)
    error: DomainError | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> int:
        return self.error.status if self.error is not None else 200

    def flash(self) -> None:
        """Show the messages on the next page (the view answers with a redirect)."""
        for message in self.errors.general + [m for ms in self.errors.values() for m in ms]:
            flash(message, "error")


@contextmanager
def attempt(form: Any = None, *, aliases: Mapping[str, str] | None = None) -> Iterator[Outcome]:
    """Run a unit of work for a page; see the module's documentation."""
    outcome = Outcome(errors=Errors(aliases))
    try:
        yield outcome
    except DomainError as exc:
        if is_refusal(exc):
            raise
        discard()
        outcome.error = exc
        outcome.errors.from_service(exc, form)


def init_app(app: Flask) -> None:
    @app.after_request
    def _boundary(response: Response) -> Response:
        if response.status_code < 400 and not g.pop("discard_unit_of_work", False):
            db.session.commit()
        else:
            db.session.rollback()
        return response
