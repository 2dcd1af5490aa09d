"""Supervision items keep the days their clock stood still (a permits case's pauses, 行政许可法 第四十五条), so the
share-of-time-used light does not count them as used.

Revision ID: e1f3a5c7d9b2
Revises: b7c39606a7b0
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "e1f3a5c7d9b2"
down_revision = "b7c39606a7b0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supervision_items") as batch:
        batch.add_column(sa.Column("paused_days", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("supervision_items") as batch:
        batch.drop_column("paused_days")
