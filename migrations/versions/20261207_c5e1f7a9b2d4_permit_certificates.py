"""permit certificates: the certificate registry (permits)

Revision ID: c5e1f7a9b2d4
Revises: 0a2c68753b76
Create Date: 2026-12-07 04:30:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c5e1f7a9b2d4'
down_revision = '0a2c68753b76'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'permit_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('series_year', sa.Integer(), nullable=False),
        sa.Column('series_no', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('licence', 'approval', 'qualification', 'registration', name='certificatekind', native_enum=False, length=30), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('holder_kind', sa.Enum('organisation', 'person', name='holderkind', native_enum=False, length=30), nullable=False),
        sa.Column('holder_name', sa.String(length=200), nullable=False),
        sa.Column('holder_code', sa.String(length=18), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('state', sa.Enum('valid', 'expired', 'revoked', 'superseded', name='certificatestate', native_enum=False, length=30), nullable=False),
        sa.Column('case_number', sa.String(length=40), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.Column('reissue_reason', sa.Text(), nullable=False),
        sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('superseded_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('revocation_reason', sa.Text(), nullable=False),
        sa.Column('pdf_bucket', sa.String(length=63), nullable=False),
        sa.Column('pdf_key', sa.String(length=300), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
        sa.Column('pdf_size', sa.Integer(), nullable=False),
        sa.Column('seal_backend', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_permit_certificates_issued_by_id_users')),
        sa.ForeignKeyConstraint(['item_id'], ['permit_items.id'], name=op.f('fk_permit_certificates_item_id_permit_items')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_permit_certificates_revoked_by_id_users')),
        sa.ForeignKeyConstraint(['superseded_by_id'], ['permit_certificates.id'], name=op.f('fk_permit_certificates_superseded_by_id_permit_certificates')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_certificates')),
        sa.UniqueConstraint('number', name=op.f('uq_permit_certificates_number')),
        sa.UniqueConstraint('series_year', 'series_no', 'version', name=op.f('uq_permit_certificates_series_year')),
    )
    with op.batch_alter_table('permit_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_certificates_case_number'), ['case_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_permit_certificates_holder_code'), ['holder_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_permit_certificates_item_id'), ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('permit_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_certificates_item_id'))
        batch_op.drop_index(batch_op.f('ix_permit_certificates_holder_code'))
        batch_op.drop_index(batch_op.f('ix_permit_certificates_case_number'))
    op.drop_table('permit_certificates')
