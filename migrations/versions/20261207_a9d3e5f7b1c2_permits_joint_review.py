"""permits: joint review meetings (联审制) with attendance, opinions and sealed minutes; joint site inspections
(联合踏勘) with inspectors' findings and photos; the joint mode per item and per case (issue 11 §4)

Revision ID: a9d3e5f7b1c2
Revises: b7d2e9f4a1c3
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9d3e5f7b1c2'
down_revision = "b7d2e9f4a1c3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('permit_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('joint_mode', sa.String(length=20), nullable=False, server_default='notify'))
    with op.batch_alter_table('permit_applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('joint_mode', sa.String(length=20), nullable=False, server_default='notify'))

    op.create_table('permit_joint_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'concluded', name='meetingstatus', native_enum=False, length=30), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_by_id', sa.Integer(), nullable=False),
    sa.Column('scheduled_by_name', sa.String(length=200), nullable=False),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('concluded_by_id', sa.Integer(), nullable=True),
    sa.Column('concluded_by_name', sa.String(length=200), nullable=False),
    sa.Column('authorisation_id', sa.Integer(), nullable=True),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('pdf_key', sa.String(length=300), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('sealed_by', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['permit_applications.id'], name=op.f('fk_permit_joint_meetings_application_id_permit_applications')),
    sa.ForeignKeyConstraint(['authorisation_id'], ['permit_authorisations.id'], name=op.f('fk_permit_joint_meetings_authorisation_id_permit_authorisations')),
    sa.ForeignKeyConstraint(['concluded_by_id'], ['users.id'], name=op.f('fk_permit_joint_meetings_concluded_by_id_users')),
    sa.ForeignKeyConstraint(['scheduled_by_id'], ['users.id'], name=op.f('fk_permit_joint_meetings_scheduled_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_joint_meetings'))
    )
    with op.batch_alter_table('permit_joint_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_joint_meetings_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_permit_joint_meetings_status'), ['status'], unique=False)

    op.create_table('permit_meeting_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('attendance', sa.Enum('pending', 'present', 'absent', name='attendance', native_enum=False, length=30), nullable=False),
    sa.Column('attendance_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attendance_by_id', sa.Integer(), nullable=True),
    sa.Column('representative_id', sa.Integer(), nullable=True),
    sa.Column('representative_name', sa.String(length=200), nullable=False),
    sa.Column('authorisation_id', sa.Integer(), nullable=True),
    sa.Column('opinion', sa.String(length=30), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('opinion_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('effect', sa.Enum('answered', 'deemed', 'undecided', 'already_closed', name='meetingeffect', native_enum=False, length=30), nullable=True),
    sa.ForeignKeyConstraint(['attendance_by_id'], ['users.id'], name=op.f('fk_permit_meeting_participants_attendance_by_id_users')),
    sa.ForeignKeyConstraint(['authorisation_id'], ['permit_authorisations.id'], name=op.f('fk_permit_meeting_participants_authorisation_id_permit_authorisations')),
    sa.ForeignKeyConstraint(['department_id'], ['permit_departments.id'], name=op.f('fk_permit_meeting_participants_department_id_permit_departments')),
    sa.ForeignKeyConstraint(['meeting_id'], ['permit_joint_meetings.id'], name=op.f('fk_permit_meeting_participants_meeting_id_permit_joint_meetings')),
    sa.ForeignKeyConstraint(['representative_id'], ['users.id'], name=op.f('fk_permit_meeting_participants_representative_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['permit_department_tasks.id'], name=op.f('fk_permit_meeting_participants_task_id_permit_department_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_meeting_participants')),
    sa.UniqueConstraint('meeting_id', 'department_id', name=op.f('uq_permit_meeting_participants_meeting_id'))
    )
    with op.batch_alter_table('permit_meeting_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_meeting_participants_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('permit_inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'completed', name='inspectionstatus', native_enum=False, length=30), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_by_id', sa.Integer(), nullable=False),
    sa.Column('scheduled_by_name', sa.String(length=200), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Enum('pass', 'rectify', 'fail', name='finding', native_enum=False, length=30), nullable=True),
    sa.Column('rectification', sa.JSON(), nullable=False),
    sa.Column('applicant_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['permit_applications.id'], name=op.f('fk_permit_inspections_application_id_permit_applications')),
    sa.ForeignKeyConstraint(['scheduled_by_id'], ['users.id'], name=op.f('fk_permit_inspections_scheduled_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_inspections')),
    sa.UniqueConstraint('application_id', 'round', name=op.f('uq_permit_inspections_application_id'))
    )
    with op.batch_alter_table('permit_inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_inspections_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_permit_inspections_status'), ['status'], unique=False)

    op.create_table('permit_inspectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('user_name', sa.String(length=200), nullable=False),
    sa.Column('finding', sa.Enum('pass', 'rectify', 'fail', name='finding', native_enum=False, length=30), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['permit_departments.id'], name=op.f('fk_permit_inspectors_department_id_permit_departments')),
    sa.ForeignKeyConstraint(['inspection_id'], ['permit_inspections.id'], name=op.f('fk_permit_inspectors_inspection_id_permit_inspections')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_permit_inspectors_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_inspectors')),
    sa.UniqueConstraint('inspection_id', 'department_id', name=op.f('uq_permit_inspectors_inspection_id'))
    )
    with op.batch_alter_table('permit_inspectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_inspectors_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_permit_inspectors_user_id'), ['user_id'], unique=False)

    op.create_table('permit_inspection_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.String(length=300), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspector_id'], ['permit_inspectors.id'], name=op.f('fk_permit_inspection_photos_inspector_id_permit_inspectors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_inspection_photos')),
    sa.UniqueConstraint('object_key', name=op.f('uq_permit_inspection_photos_object_key'))
    )
    with op.batch_alter_table('permit_inspection_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_inspection_photos_inspector_id'), ['inspector_id'], unique=False)


def downgrade():
    with op.batch_alter_table('permit_inspection_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_inspection_photos_inspector_id'))
    op.drop_table('permit_inspection_photos')
    with op.batch_alter_table('permit_inspectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_inspectors_user_id'))
        batch_op.drop_index(batch_op.f('ix_permit_inspectors_inspection_id'))
    op.drop_table('permit_inspectors')
    with op.batch_alter_table('permit_inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_inspections_status'))
        batch_op.drop_index(batch_op.f('ix_permit_inspections_application_id'))
    op.drop_table('permit_inspections')
    with op.batch_alter_table('permit_meeting_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_meeting_participants_meeting_id'))
    op.drop_table('permit_meeting_participants')
    with op.batch_alter_table('permit_joint_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_joint_meetings_status'))
        batch_op.drop_index(batch_op.f('ix_permit_joint_meetings_application_id'))
    op.drop_table('permit_joint_meetings')
    with op.batch_alter_table('permit_applications', schema=None) as batch_op:
        batch_op.drop_column('joint_mode')
    with op.batch_alter_table('permit_items', schema=None) as batch_op:
        batch_op.drop_column('joint_mode')
