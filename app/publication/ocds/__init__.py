"""Open Contracting Data Standard 1.1: a release for every public tender event, written in the event's own
transaction; release and record packages with a cursor, and a bulk file per month, at /api/v1/ocds."""

from __future__ import annotations

import os
import re

from flask import Flask

# A placeholder, not a registered prefix: a publisher registers its own with the Open Contracting Partnership
# (ocds- and six characters) and sets APP_OCDS_OCID_PREFIX (see the README).
PLACEHOLDER_PREFIX = "ocds-xxxxxx"
_PREFIX = re.compile(r"ocds-[a-z0-9]{6}")


def init_app(app: Flask) -> None:
    from app.publication.ocds import api, hooks, models

    del models  # imported for its table
    app.config.setdefault("OCDS_OCID_PREFIX", os.environ.get("APP_OCDS_OCID_PREFIX") or PLACEHOLDER_PREFIX)
    prefix = str(app.config["OCDS_OCID_PREFIX"])
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"OCDS_OCID_PREFIX must be 'ocds-' and six lowercase letters or digits, got {prefix!r}")
    # Where the public reaches the platform: tender documents are linked under it in the releases (which never
    # change once published, so set it before the first publication).
    port = os.environ.get("PORT", "5000")
    app.config.setdefault("OCDS_PUBLIC_URL", os.environ.get("APP_OCDS_PUBLIC_URL") or f"http://127.0.0.1:{port}")
    app.config.setdefault("OCDS_PAGE_SIZE", 100)
    hooks.install()
    api.init_app(app)
