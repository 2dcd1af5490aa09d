"""remote opening (不见面开标): objections and questions during the opening, bidders' signed answers to the record (issue 14 §3)

Revision ID: f4b2c8d1e6a7
Revises: aeb4c55492dd
Create Date: 2026-12-07 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f4b2c8d1e6a7'
down_revision = 'aeb4c55492dd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tender_opening_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('audit_index', sa.BigInteger(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_audit_index', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_tender_opening_messages_answered_by_id_users')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_tender_opening_messages_author_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_tender_opening_messages_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_opening_messages_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_opening_messages'))
    )
    with op.batch_alter_table('tender_opening_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_opening_messages_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_opening_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('record_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('audit_index', sa.BigInteger(), nullable=False),
    sa.Column('signed', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_tender_opening_confirmations_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['record_id'], ['tender_opening_records.id'], name=op.f('fk_tender_opening_confirmations_record_id_tender_opening_records')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_opening_confirmations_tender_id_tenders')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tender_opening_confirmations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_opening_confirmations')),
    sa.UniqueConstraint('record_id', 'organisation_id', name=op.f('uq_tender_opening_confirmations_record_id'))
    )
    with op.batch_alter_table('tender_opening_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_opening_confirmations_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_opening_confirmations_tender_id'), ['tender_id'], unique=False)


def downgrade():
    with op.batch_alter_table('tender_opening_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_opening_confirmations_tender_id'))
        batch_op.drop_index(batch_op.f('ix_tender_opening_confirmations_record_id'))
    op.drop_table('tender_opening_confirmations')
    with op.batch_alter_table('tender_opening_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_opening_messages_tender_id'))
    op.drop_table('tender_opening_messages')
