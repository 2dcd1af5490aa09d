"""`flask audit checkpoint` and `flask audit verify`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.audit import services
from app.core.db import db

audit_cli = AppGroup("audit", help="Evidence log: sign checkpoints, verify the store.")


@audit_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Sign the current tree head now (no new checkpoint when nothing was appended)."""
    cp = services.issue_checkpoint()
    db.session.commit()
    if cp is None:
        latest = services.latest_checkpoint()
        size = latest.tree_size if latest is not None else 0
        click.echo(f"unchanged: latest checkpoint covers {size} entries")
    else:
        click.echo(f"checkpoint tree_size={cp.tree_size} root={cp.root_hash.hex()} key={cp.key_id}")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute every leaf, node and checkpoint; print OK or the first bad index (exit status 1)."""
    outcome = services.verify_log()
    db.session.rollback()
    click.echo(outcome.render())
    if not outcome.ok:
        raise click.exceptions.Exit(1)
