"""`flask accounts …`: create users and lift lockouts from the command line (one commit per command)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.core.db import db
from app.core.errors import DomainError

accounts_cli = AppGroup("accounts", help="Manage user accounts.")


@accounts_cli.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="Role name; repeat for several roles.")
@click.option("--password", default=None, help="Initial password; a random one is generated and printed if omitted.")
@click.option("--display-name", default=None)
@click.option("--email", default=None)
@click.option("--organisation", "organisation_id", type=int, default=None, help="Organisation id.")
def create_user_command(  # noqa: PLR0917 - click passes options as arguments
    username: str,
    roles: tuple[str, ...],
    password: str | None,
    display_name: str | None,
    email: str | None,
    organisation_id: int | None,
) -> None:
    """Create USERNAME with the given roles."""
    from app.accounts import services_passwords, services_users

    generated = password is None
    password = password or services_passwords.generate_password()
    try:
        user = services_users.create_user(
            actor="cli",
            username=username,
            display_name=display_name or username,
            password=password,
            roles=list(roles),
            organisation_id=organisation_id,
            email=email,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.detail} {exc.extra.get('errors', '')}".strip()) from None
    db.session.commit()
    click.echo(f"created user {user.username} (id {user.id}) with roles {', '.join(sorted(roles))}")
    if generated:
        click.echo(f"password: {password}")


@accounts_cli.command("unlock")
@click.argument("username")
def unlock_command(username: str) -> None:
    """Lift the sign-in lockout of USERNAME."""
    from app.accounts import services_login, services_users

    user = services_users.get_user_by_username(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    services_login.unlock_user(actor="cli", user=user, ip="cli")
    db.session.commit()
    click.echo(f"unlocked {user.username}")


@accounts_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Create one demo account per role when there are no users yet, and print the passwords."""
    from app.accounts import services_demo

    created = services_demo.seed_demo_accounts()
    db.session.commit()
    if not created:
        click.echo("users exist already: nothing created")
    for line in services_demo.demo_lines(created):
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(accounts_cli)
