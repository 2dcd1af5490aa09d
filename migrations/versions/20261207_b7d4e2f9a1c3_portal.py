"""portal: each buyer's region for the public tender portal, and the indexes its search reads tenders by (issue 14 §2)

Revision ID: b7d4e2f9a1c3
Revises: 7a220677cb4e
Create Date: 2026-12-07 11:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d4e2f9a1c3'
down_revision = '7a220677cb4e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('portal_buyer_regions',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_portal_buyer_regions_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_portal_buyer_regions'))
    )
    with op.batch_alter_table('portal_buyer_regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_buyer_regions_region'), ['region'], unique=False)

    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.create_index('ix_portal_tenders_published_at', ['published_at'], unique=False)
        batch_op.create_index('ix_portal_tenders_deadline_at', ['submission_deadline_at'], unique=False)
        batch_op.create_index('ix_portal_tenders_budget_amount', ['budget_amount'], unique=False)


def downgrade():
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_tenders_budget_amount')
        batch_op.drop_index('ix_portal_tenders_deadline_at')
        batch_op.drop_index('ix_portal_tenders_published_at')

    with op.batch_alter_table('portal_buyer_regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_buyer_regions_region'))

    op.drop_table('portal_buyer_regions')
