"""ocds releases: every public tender event as an immutable OCDS release, numbered by a commit-ordered sequence (issue 14 §1)

Revision ID: e3f1a6c8d2b9
Revises: 50d040e9326e
Create Date: 2026-12-07 07:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3f1a6c8d2b9'
down_revision = '50d040e9326e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ocds_releases',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('release_id', sa.String(length=200), nullable=False),
    sa.Column('ocid', sa.String(length=100), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('audit_index', sa.BigInteger(), nullable=False),
    sa.Column('date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ocds_releases')),
    sa.UniqueConstraint('audit_index', name=op.f('uq_ocds_releases_audit_index')),
    sa.UniqueConstraint('release_id', name=op.f('uq_ocds_releases_release_id'))
    )
    with op.batch_alter_table('ocds_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ocds_releases_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_ocds_releases_ocid'), ['ocid'], unique=False)
        batch_op.create_index(batch_op.f('ix_ocds_releases_tender_id'), ['tender_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ocds_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ocds_releases_tender_id'))
        batch_op.drop_index(batch_op.f('ix_ocds_releases_ocid'))
        batch_op.drop_index(batch_op.f('ix_ocds_releases_month'))

    op.drop_table('ocds_releases')
