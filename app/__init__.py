"""Application factory: configuration, extensions, every module's init_app, errors, CLI."""

from __future__ import annotations

import importlib
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, request, session

from app.config import load_config

# Domain modules in dependency order; each has init_app(app).
MODULES = [
    "app.audit",
    "app.accounts",
    "app.tendering",
    "app.evaluation",
    "app.recordings",
    "app.permits",
    "app.convenience",
    "app.publication",
    "app.supervision",
]


def _secret_key(instance: Path) -> str:
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def select_locale() -> str | None:
    from flask import current_app

    langs = current_app.config["LANGUAGES"]
    chosen = session.get("lang") if session else None
    if chosen in langs:
        return str(chosen)
    match = request.accept_languages.best_match(["zh_CN", "zh", "zh-CN", "en"])
    if match is None:
        return None
    return "zh_CN" if match.startswith("zh") else "en"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    cfg = load_config(config)
    instance = Path(cfg["INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(instance), template_folder="core/templates")
    app.config.update(cfg)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)

    from app.core import body, errors, pages, security
    from app.core import http as http_mod
    from app.core import sealing as sealing_mod
    from app.core import storage as storage_mod
    from app.extensions import api, babel, csrf, db, login_manager, migrate

    db.init_app(app)
    pages.init_app(app)  # registered first, so its commit runs after every other after_request hook
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    api.init_app(app, spec_kwargs={"info": {"description": "Administrative service center platform API"}})
    errors.init_app(app)
    body.init_app(app)
    http_mod.init_app(app)  # its JSON check runs before core.body reads the body, both before any transaction
    security.init_app(app)
    storage_mod.init_app(app)
    sealing_mod.init_app(app)

    for name in MODULES:
        importlib.import_module(name).init_app(app)

    from app import cli
    from app.celery_app import celery_init_app

    cli.init_app(app)

    celery_init_app(app)
    return app
