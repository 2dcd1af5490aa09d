"""`flask permits calendar seed|load|show`: the working-day calendar from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

calendar_cli = AppGroup("calendar", help="The working-day calendar (holidays and make-up working days).")


@calendar_cli.command("seed")
def seed_command() -> None:
    """Add the years chinesecalendar knows (2004–2026) that the table lacks (idempotent)."""
    from app.extensions import db
    from app.permits.calendar import services

    added = services.seed(actor="cli")
    db.session.commit()
    click.echo(f"{added} days added from {services.seed_source()} ({services.SEED_FIRST}–{services.SEED_LAST}).")


@calendar_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace a year that is loaded already.")
def load_command(file: Path, replace: bool) -> None:
    """Add a year from the State Council's notice, transcribed as a YAML file (see services.py for the format)."""
    from app.core.errors import DomainError
    from app.extensions import db
    from app.permits.calendar import services

    try:
        plan = services.load_year_file(file.read_bytes(), actor="cli", replace=replace)
    except services.CalendarFileInvalid as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.detail}", err=True)
        for problem in exc.extra["problems"]:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1) from None
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.detail}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(f"{plan.year} loaded from {plan.source}: {len(plan.holidays)} holidays.")


@calendar_cli.command("show")
def show_command() -> None:
    """List the loaded years, their days and their sources."""
    from app.permits.calendar import services

    for year in services.loaded_years():
        state = "" if year.complete else " (incomplete)"
        click.echo(
            f"{year.year}: {year.workdays} workdays, {year.holidays} holidays, {year.makeup_workdays} 调休{state}"
        )
        for source in year.sources:
            click.echo(f"    {source}")


def init_app(app: Flask) -> None:
    permits = app.cli.commands.get("permits")  # the permits group may exist already (another sub-package)
    if permits is None:
        permits = AppGroup("permits", help="The permits floor (行政许可).")
        app.cli.add_command(permits)
    assert isinstance(permits, click.Group)
    permits.add_command(calendar_cli)
