"""`flask platform …`: install-time and operator commands that span modules."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

platform_cli = AppGroup("platform", help="Set up and operate the platform.")


@platform_cli.command("init")
@click.option("--demo/--no-demo", default=True, help="Seed demo data when the database is empty.")
def init_command(demo: bool) -> None:
    """Apply migrations, create reference data, and seed demo data into an empty database."""
    from flask_migrate import upgrade

    from app.core.reference import ensure_reference_data, seed_demo_data
    from app.core.storage import get_storage
    from app.extensions import db

    upgrade()
    ensure_reference_data()
    db.session.commit()
    get_storage().ensure_buckets()
    if demo:
        lines = seed_demo_data()
        db.session.commit()
        if lines:
            click.echo("Demo data created. Sign in with one of these accounts (shown only this once):")
            for line in lines:
                click.echo("  " + line)


def init_app(app: Flask) -> None:
    from app import demo
    from app.core import backup_cli

    backup_cli.register(platform_cli)

    demo.init_app()
    app.cli.add_command(platform_cli)
