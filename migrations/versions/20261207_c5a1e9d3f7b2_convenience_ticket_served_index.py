"""Convenience tickets: an index for a group's last served tickets (the measured service time every ticket issue and
call reads), which had been a scan of all the group's served tickets growing through the day (issue 12, peak day).

Revision ID: c5a1e9d3f7b2
Revises: d8e2a4c6f1b9
Create Date: 2026-12-07
"""

from alembic import op

revision = "c5a1e9d3f7b2"
down_revision = "d8e2a4c6f1b9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("convenience_tickets") as batch:
        batch.create_index(
            "ix_convenience_tickets_group_status_served", ["group_id", "status", "served_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("convenience_tickets") as batch:
        batch.drop_index("ix_convenience_tickets_group_status_served")
