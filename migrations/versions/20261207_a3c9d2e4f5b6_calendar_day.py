"""calendar day: the working-day calendar (permits)

Revision ID: a3c9d2e4f5b6
Revises: 3b8d5e2a61c7
Create Date: 2026-12-07 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c9d2e4f5b6'
down_revision = '3b8d5e2a61c7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'calendar_day',
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('is_workday', sa.Boolean(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('date', name=op.f('pk_calendar_day')),
    )


def downgrade():
    op.drop_table('calendar_day')
