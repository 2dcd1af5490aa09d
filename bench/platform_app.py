"""A migrated platform for a benchmark: a throw-away instance folder and, on PostgreSQL, a throw-away database.

    with migrated_app("postgresql", "supervision") as app:
        ...

Both are removed afterwards, whatever happens in the block.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def migrated_app(backend: str, name: str) -> Iterator[Any]:
    import psycopg
    from flask_migrate import upgrade

    from app import create_app
    from app.config import test_config

    work = Path(tempfile.mkdtemp(prefix=f"{name}-bench-"))
    dbname = f"bench_{name}_{int(time.time())}"
    extra: dict[str, Any] = {"TESTING": False}
    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        extra["SQLALCHEMY_DATABASE_URI"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}"
    try:
        app = create_app(test_config(work, **extra))
        with app.app_context():
            upgrade()
        yield app
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if backend == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
