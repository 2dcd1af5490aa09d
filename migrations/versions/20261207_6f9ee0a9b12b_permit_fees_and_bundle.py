"""permit fees and bundle: fee rule kinds, fee bills with lines and payments; bundles (一照三证联办) (issue 11 §5, §6)

Revision ID: 6f9ee0a9b12b
Revises: 7b3d9e1f4a26
Create Date: 2026-12-07 11:17:48.182504

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6f9ee0a9b12b'
down_revision = '7b3d9e1f4a26'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('permit_bundles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=False),
    sa.Column('licence_item_id', sa.Integer(), nullable=False),
    sa.Column('defined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('defined_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['defined_by_id'], ['users.id'], name=op.f('fk_permit_bundles_defined_by_id_users')),
    sa.ForeignKeyConstraint(['licence_item_id'], ['permit_items.id'], name=op.f('fk_permit_bundles_licence_item_id_permit_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_bundles')),
    sa.UniqueConstraint('code', name=op.f('uq_permit_bundles_code'))
    )
    op.create_table('permit_bundle_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('tracking_token', sa.String(length=64), nullable=False),
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.Column('applicant_kind', sa.Enum('citizen', 'enterprise', name='applicantkind', native_enum=False, length=30), nullable=False),
    sa.Column('applicant_name', sa.String(length=200), nullable=False),
    sa.Column('applicant_code', sa.String(length=18), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('channel', sa.Enum('online', 'desk', name='applicationchannel', native_enum=False, length=30), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('received', 'accepted', 'issued', name='bundlestatus', native_enum=False, length=30), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('organisation_code', sa.String(length=10), nullable=True),
    sa.Column('tax_number', sa.String(length=18), nullable=True),
    sa.Column('certificate_number', sa.String(length=40), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_permit_bundle_cases_accepted_by_id_users')),
    sa.ForeignKeyConstraint(['bundle_id'], ['permit_bundles.id'], name=op.f('fk_permit_bundle_cases_bundle_id_permit_bundles')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_permit_bundle_cases_issued_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_permit_bundle_cases_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_bundle_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_permit_bundle_cases_number'))
    )
    with op.batch_alter_table('permit_bundle_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_bundle_cases_bundle_id'), ['bundle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_permit_bundle_cases_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_permit_bundle_cases_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('permit_bundle_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['permit_bundles.id'], name=op.f('fk_permit_bundle_members_bundle_id_permit_bundles')),
    sa.ForeignKeyConstraint(['item_id'], ['permit_items.id'], name=op.f('fk_permit_bundle_members_item_id_permit_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_bundle_members')),
    sa.UniqueConstraint('bundle_id', 'item_id', name=op.f('uq_permit_bundle_members_item')),
    sa.UniqueConstraint('bundle_id', 'position', name=op.f('uq_permit_bundle_members_position'))
    )
    with op.batch_alter_table('permit_bundle_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_bundle_members_bundle_id'), ['bundle_id'], unique=False)

    op.create_table('permit_fee_bills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('unpaid', 'paid', 'nothing_due', name='billstatus', native_enum=False, length=30), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['permit_applications.id'], name=op.f('fk_permit_fee_bills_application_id_permit_applications')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_permit_fee_bills_issued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_fee_bills')),
    sa.UniqueConstraint('application_id', name=op.f('uq_permit_fee_bills_application_id')),
    sa.UniqueConstraint('number', name=op.f('uq_permit_fee_bills_number'))
    )
    with op.batch_alter_table('permit_fee_bills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_fee_bills_status'), ['status'], unique=False)

    op.create_table('permit_bundle_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bundle_case_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['permit_applications.id'], name=op.f('fk_permit_bundle_parts_application_id_permit_applications')),
    sa.ForeignKeyConstraint(['bundle_case_id'], ['permit_bundle_cases.id'], name=op.f('fk_permit_bundle_parts_bundle_case_id_permit_bundle_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_bundle_parts')),
    sa.UniqueConstraint('application_id', name=op.f('uq_permit_bundle_parts_application_id')),
    sa.UniqueConstraint('bundle_case_id', 'position', name=op.f('uq_permit_bundle_parts_bundle_case_id'))
    )
    with op.batch_alter_table('permit_bundle_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_bundle_parts_bundle_case_id'), ['bundle_case_id'], unique=False)

    op.create_table('permit_fee_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('fixed', 'per_unit', 'free', name='feekind', native_enum=False, length=30), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('unit_fen', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('standard_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=False),
    sa.Column('overridden_by_id', sa.Integer(), nullable=True),
    sa.Column('overridden_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bill_id'], ['permit_fee_bills.id'], name=op.f('fk_permit_fee_lines_bill_id_permit_fee_bills')),
    sa.ForeignKeyConstraint(['department_id'], ['permit_departments.id'], name=op.f('fk_permit_fee_lines_department_id_permit_departments')),
    sa.ForeignKeyConstraint(['item_id'], ['permit_items.id'], name=op.f('fk_permit_fee_lines_item_id_permit_items')),
    sa.ForeignKeyConstraint(['overridden_by_id'], ['users.id'], name=op.f('fk_permit_fee_lines_overridden_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_fee_lines')),
    sa.UniqueConstraint('bill_id', 'position', name=op.f('uq_permit_fee_lines_bill_id'))
    )
    with op.batch_alter_table('permit_fee_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_fee_lines_bill_id'), ['bill_id'], unique=False)

    op.create_table('permit_fee_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=30), nullable=False),
    sa.Column('receipt_number', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('payer', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['bill_id'], ['permit_fee_bills.id'], name=op.f('fk_permit_fee_payments_bill_id_permit_fee_bills')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_permit_fee_payments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_fee_payments')),
    sa.UniqueConstraint('channel', 'receipt_number', name=op.f('uq_permit_fee_payments_channel'))
    )
    with op.batch_alter_table('permit_fee_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_fee_payments_bill_id'), ['bill_id'], unique=False)

    with op.batch_alter_table('permit_item_fees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('fixed', 'per_unit', 'free', name='feekind', native_enum=False, length=30), nullable=False, server_default='fixed'))
        batch_op.add_column(sa.Column('per', sa.String(length=40), nullable=True))
    op.execute("UPDATE permit_item_fees SET kind = 'free' WHERE amount_fen = 0")  # the rule an amount of 0 meant



def downgrade():
    with op.batch_alter_table('permit_item_fees', schema=None) as batch_op:
        batch_op.drop_column('per')
        batch_op.drop_column('kind')

    with op.batch_alter_table('permit_fee_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_fee_payments_bill_id'))

    op.drop_table('permit_fee_payments')
    with op.batch_alter_table('permit_fee_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_fee_lines_bill_id'))

    op.drop_table('permit_fee_lines')
    with op.batch_alter_table('permit_bundle_parts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_bundle_parts_bundle_case_id'))

    op.drop_table('permit_bundle_parts')
    with op.batch_alter_table('permit_fee_bills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_fee_bills_status'))

    op.drop_table('permit_fee_bills')
    with op.batch_alter_table('permit_bundle_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_bundle_members_bundle_id'))

    op.drop_table('permit_bundle_members')
    with op.batch_alter_table('permit_bundle_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_bundle_cases_submitted_by_id'))
        batch_op.drop_index(batch_op.f('ix_permit_bundle_cases_status'))
        batch_op.drop_index(batch_op.f('ix_permit_bundle_cases_bundle_id'))

    op.drop_table('permit_bundle_cases')
    op.drop_table('permit_bundles')
