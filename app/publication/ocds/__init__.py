"""Open Contracting Data Standard 1.1: a release for every public tender event, written in the event's own
transaction; release and record packages with a cursor, and a bulk file per month, at /api/v1/ocds."""

from __future__ import annotations

import os

from flask import Flask

# A placeholder, not a registered prefix: a publisher registers its own with the Open Contracting Partnership and
# sets APP_OCDS_OCID_PREFIX (see the README).
PLACEHOLDER_PREFIX = "ocds-xxxxxx"


def init_app(app: Flask) -> None:
    from app.publication.ocds import api, hooks, models

    del models  # imported for its table
    app.config.setdefault("OCDS_OCID_PREFIX", os.environ.get("APP_OCDS_OCID_PREFIX") or PLACEHOLDER_PREFIX)
    app.config.setdefault("OCDS_PAGE_SIZE", 100)
    hooks.install()
    api.init_app(app)
