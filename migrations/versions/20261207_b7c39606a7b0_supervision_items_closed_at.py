"""Supervision items are found by the instant they closed: the statistics' live day (items closed today) and the
nightly figures read them by closed_at, which had no index (a scan of every item per request).

Revision ID: b7c39606a7b0
Revises: c5e8a2d4f6b1
Create Date: 2026-12-07
"""

from alembic import op

revision = "b7c39606a7b0"
down_revision = "c5e8a2d4f6b1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supervision_items") as batch:
        batch.create_index("ix_supervision_items_closed_at", ["closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supervision_items") as batch:
        batch.drop_index("ix_supervision_items_closed_at")
