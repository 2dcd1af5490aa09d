"""Recording sessions name the bucket their media lives in (windows' recordings move out of the write-once one).

Revision ID: d8e2a4c6f1b9
Revises: a9c4e2f7b1d3
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "d8e2a4c6f1b9"
down_revision = "a9c4e2f7b1d3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every session recorded so far went to the write-once "recordings" bucket, windows' included.
    with op.batch_alter_table("recording_sessions") as batch:
        batch.add_column(sa.Column("bucket", sa.String(length=40), server_default="recordings", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("recording_sessions") as batch:
        batch.drop_column("bucket")
