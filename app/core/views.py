"""The shell every page shares: home page, language switch, health check, navigation registry, time filter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from sqlalchemy import text

from app.core import home, problems
from app.core.db import db
from app.core.errors import NotFound
from app.core.security import caller_has, public
from app.core.time import format_center_time, now_utc

bp = Blueprint("core", __name__)


def N_(message: str) -> str:
    """Mark a message for the catalogue; it is translated where it is shown."""
    return message


# Titles and details of the error pages (core.errors and werkzeug), translated by core/error.html.
_CATALOGUE = (
    N_("Bad request"),
    N_("The input is not valid"),
    N_("Sign-in required"),
    N_("Not allowed"),
    N_("Not found"),
    N_("Conflict with the current state"),
    N_("Too many attempts"),
    N_("Internal error"),
    N_("The error was logged."),
    N_("CSRF token missing or invalid"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Bad Request"),
    N_("Forbidden"),
    N_("Request Entity Too Large"),
    N_("This endpoint is not open to anybody."),
    N_("Set up two-step verification (TOTP) on the account page first."),
)


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy string, translated when rendered
    permission: str
    order: int = 100


_nav: list[NavItem] = []


def register_nav(endpoint: str, label: Any, permission: str, order: int = 100) -> None:
    """Add a link to the top navigation, shown to callers who hold `permission` (idempotent)."""
    if all(item.endpoint != endpoint for item in _nav):
        _nav.append(NavItem(endpoint, label, permission, order))
        _nav.sort(key=lambda item: (item.order, item.endpoint))


def visible_nav() -> list[NavItem]:
    return [item for item in _nav if item.endpoint in current_app.view_functions and caller_has(item.permission)]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths are followed after a form (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@bp.get("/")
@public
def index() -> str:
    """What is open for bids, what opens today, recent results; signed in, what needs the caller's action now."""
    from flask_login import current_user

    now = now_utc()
    return render_template(
        "core/index.html", public_sections=home.public_sections(now), my_sections=home.my_sections(current_user, now)
    )


@bp.post("/lang")
@public
def set_language() -> Any:
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("core.index")), code=303)


@bp.get("/problems")
@public
def problem_types() -> str:
    """Every problem type the platform answers with."""
    types = sorted(problems.REGISTRY.values(), key=lambda p: (p.status, p.slug))
    return render_template("core/problem_types.html", types=types)


@bp.get("/problems/<slug>")
@public
def problem_type(slug: str) -> str:
    """The page at a problem type's URI: what the problem means and what to do (zh-CN and English)."""
    try:
        ptype = problems.get(slug)
    except KeyError:
        raise NotFound(N_("No such problem type.")) from None
    return render_template("core/problem_type.html", problem=ptype)


@bp.get("/healthz")
@public
def healthz() -> Any:
    try:
        db.session.execute(text("SELECT 1"))  # the boundary ends this read transaction after the answer
    except Exception as exc:  # noqa: BLE001 - any database failure makes the instance unhealthy
        current_app.logger.warning("health check: database unreachable: %s", exc)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "ok"})


def _template_globals() -> dict[str, Callable[..., Any] | Any]:
    def can(permission: str) -> bool:
        return caller_has(permission)

    return {
        "can": can,
        "nav_items": visible_nav,
        "csrf_token": generate_csrf,
        "current_locale": lambda: str(get_locale() or "zh_CN"),
        "languages": [("zh_CN", "中文"), ("en", "English")],
    }


def init_app(app: Flask) -> None:
    from app.core import ui

    app.register_blueprint(bp)
    ui.init_app(app)
    app.context_processor(_template_globals)

    @app.template_filter("center_time")
    def _center_time(value: Any) -> str:
        return format_center_time(value, app.config["CENTER_TIMEZONE"])

    register_nav("core.index", _l("Home"), "@public", order=0)
