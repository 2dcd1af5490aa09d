"""`flask permits catalogue load FILE`: load or amend the item catalogue from a JSON data file."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.core.errors import ValidationFailed
from app.extensions import db

catalogue_cli = AppGroup("catalogue", help="The permit item catalogue (事项目录).")


@catalogue_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_command(path: Path) -> None:
    """Create or update departments and items from FILE (idempotent: an unchanged item is left alone)."""
    from app.permits.catalogue import services

    try:
        counts = services.load_catalogue_file(path, actor="system:cli")
    except ValidationFailed as exc:
        db.session.rollback()
        details = "; ".join(f"{k}: {v}" for k, v in (exc.extra.get("errors") or {}).items())
        raise click.ClickException(f"{exc.detail} {details}".strip()) from None
    db.session.commit()
    click.echo(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))


def init_app(app: Flask) -> None:
    """Add `catalogue` under the `permits` command group (created here or by another permits sub-package)."""
    group = app.cli.commands.get("permits")
    if not isinstance(group, click.Group):
        group = AppGroup("permits", help="The permits floor (行政许可).")
        app.cli.add_command(group)
    group.add_command(catalogue_cli)
