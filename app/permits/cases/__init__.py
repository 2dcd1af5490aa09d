"""Unified acceptance (统一受理) and the one-time correction notice (一次性告知): applications at the desk."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits.cases import models

    del models  # imported for its tables
