"""Flask extensions, created unbound; create_app() binds them."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from app.core.api import PlatformApi
from app.core.db import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
api = PlatformApi()

__all__ = ["api", "babel", "csrf", "db", "login_manager", "migrate"]
