"""Window-staff presence: window cameras and presence intervals.

Revision ID: a9c4e2f7b1d3
Revises: a9d3e5f7b1c2
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "a9c4e2f7b1d3"
down_revision = "a9d3e5f7b1c2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presence_cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("seat_x", sa.Float(), nullable=False),
        sa.Column("seat_y", sa.Float(), nullable=False),
        sa.Column("seat_w", sa.Float(), nullable=False),
        sa.Column("seat_h", sa.Float(), nullable=False),
        sa.Column("room_code", sa.String(length=40), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["window_id"], ["convenience_windows.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("window_id"),
    )
    op.create_table(
        "presence_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["window_id"], ["convenience_windows.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_presence_intervals_window_start", "presence_intervals", ["window_id", "started_at"])
    op.create_index(op.f("ix_presence_intervals_ended_at"), "presence_intervals", ["ended_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_presence_intervals_ended_at"), table_name="presence_intervals")
    op.drop_index("ix_presence_intervals_window_start", table_name="presence_intervals")
    op.drop_table("presence_intervals")
    op.drop_table("presence_cameras")
