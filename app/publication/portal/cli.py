"""`flask portal region BUYER REGION`: the region (行政区划) a buyer belongs to, for the portal's region filter."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.core.errors import DomainError
from app.extensions import db

portal_cli = AppGroup("portal", help="The public tender portal.")


@portal_cli.command("region")
@click.argument("buyer")
@click.argument("region", default="")
def region_command(buyer: str, region: str) -> None:
    """Set the region of the buyer named BUYER (an empty REGION removes it). Logged in the evidence log."""
    from app.publication.portal import services

    try:
        services.set_buyer_region(actor="system:cli", organisation_id=services.buyer_by_name(buyer), region=region)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None
    db.session.commit()
    click.echo(f"{buyer}: {region or '-'}")


def init_app(app: Flask) -> None:
    app.cli.add_command(portal_cli)
