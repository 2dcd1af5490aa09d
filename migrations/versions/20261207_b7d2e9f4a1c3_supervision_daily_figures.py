"""supervision statistics: nightly figures per day, floor and department (issue 13 §4)

Revision ID: b7d2e9f4a1c3
Revises: f4b2c8d1e6a7
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e9f4a1c3'
down_revision = 'f4b2c8d1e6a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supervision_daily_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('floor', sa.String(length=20), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('intake', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('with_promise', sa.Integer(), nullable=False),
    sa.Column('on_time', sa.Integer(), nullable=False),
    sa.Column('handling_seconds', sa.BigInteger(), nullable=False),
    sa.Column('promised_seconds', sa.BigInteger(), nullable=False),
    sa.Column('deemed', sa.Integer(), nullable=False),
    sa.Column('rated_very_satisfied', sa.Integer(), nullable=False),
    sa.Column('rated_satisfied', sa.Integer(), nullable=False),
    sa.Column('rated_basic', sa.Integer(), nullable=False),
    sa.Column('rated_dissatisfied', sa.Integer(), nullable=False),
    sa.Column('rated_very_dissatisfied', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_daily_figures')),
    sa.UniqueConstraint('day', 'floor', 'department', name='uq_supervision_daily_figures_day')
    )
    with op.batch_alter_table('supervision_daily_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_daily_figures_day'), ['day'], unique=False)


def downgrade():
    with op.batch_alter_table('supervision_daily_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_daily_figures_day'))
    op.drop_table('supervision_daily_figures')
