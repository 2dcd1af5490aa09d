"""Migrations build the schema from nothing, and the models agree with them (no pending autogenerate)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.config import test_config
from app.extensions import db
from tests.services import POSTGRES_URL, unavailable

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def _check(app) -> None:
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], f"models and migrations disagree: {diff}"
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        db.engine.dispose()


def test_history_is_linear_and_dated() -> None:
    files = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert files, "no migrations"
    for name in files:
        assert name[:8].isdigit(), f"{name} must start with its date"
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(VERSIONS.parent))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"more than one head: {heads}"


def test_upgrade_empty_sqlite_matches_models(tmp_path: Path) -> None:
    _check(create_app(test_config(tmp_path)))


def test_upgrade_empty_postgresql_matches_models(tmp_path: Path) -> None:
    admin_url = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
    try:
        eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS migration_check"))
            conn.execute(text("CREATE DATABASE migration_check"))
    except Exception as exc:
        unavailable("PostgreSQL", str(exc))
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/migration_check"
        _check(create_app(test_config(tmp_path, SQLALCHEMY_DATABASE_URI=url)))
    finally:
        with eng.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS migration_check"))
        eng.dispose()
