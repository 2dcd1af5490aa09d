"""permits: the case clock — pauses that do not count toward the time limits (行政许可法 第四十五条; the joint
site inspection and its rectification), the deadline sweep's flags, a joint meeting not held in time; the outbox
names the matter of a message (the center's one notifier, app.core.notify) (issue 11)

Revision ID: c5e8a2d4f6b1
Revises: c5a1e9d3f7b2
Create Date: 2026-12-07 22:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c5e8a2d4f6b1"
down_revision = "c5a1e9d3f7b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("convenience_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_ref", sa.String(length=100), nullable=False, server_default=""))
    op.create_table(
        "permit_case_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_by_name", sa.String(length=200), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_by_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["permit_applications.id"],
            name=op.f("fk_permit_case_pauses_application_id_permit_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["users.id"], name=op.f("fk_permit_case_pauses_started_by_id_users")
        ),
        sa.ForeignKeyConstraint(["ended_by_id"], ["users.id"], name=op.f("fk_permit_case_pauses_ended_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_case_pauses")),
    )
    with op.batch_alter_table("permit_case_pauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permit_case_pauses_application_id"), ["application_id"], unique=False)

    with op.batch_alter_table("permit_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_paused_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("promised_overdue_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("statutory_overdue_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_permit_applications_promised_due"), ["promised_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_applications_statutory_due"), ["statutory_due"], unique=False)
    with op.batch_alter_table("permit_case_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("permit_joint_meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("convenience_outbox", schema=None) as batch_op:
        batch_op.drop_column("subject_ref")
    with op.batch_alter_table("permit_joint_meetings", schema=None) as batch_op:
        batch_op.drop_column("missed_at")
    with op.batch_alter_table("permit_case_steps", schema=None) as batch_op:
        batch_op.drop_column("overdue_at")
    with op.batch_alter_table("permit_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_applications_statutory_due"))
        batch_op.drop_index(batch_op.f("ix_permit_applications_promised_due"))
        batch_op.drop_column("statutory_overdue_at")
        batch_op.drop_column("promised_overdue_at")
        batch_op.drop_column("clock_paused_at")
    with op.batch_alter_table("permit_case_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_case_pauses_application_id"))
    op.drop_table("permit_case_pauses")
