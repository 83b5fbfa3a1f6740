"""campaign materials: broadcast schedules, scripts with audio, airings, reports, recipients

Revision ID: 0015_campaign_materials
Revises: 0008_campaign
Create Date: 2026-11-30 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safezone.db.base

revision: str = '0015_campaign_materials'
down_revision: str | Sequence[str] | None = '0008_campaign'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = safezone.db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'campaign_broadcast_schedules',
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('times', sa.String(length=100), nullable=False),
        sa.Column('weekdays', sa.String(length=7), nullable=False),
        sa.Column('template', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_campaign_broadcast_schedules_unit_code_units'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_campaign_broadcast_schedules_updated_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('unit_code', name=op.f('pk_campaign_broadcast_schedules')),
    )
    op.create_table(
        'campaign_broadcast_scripts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('audio', sa.LargeBinary(), nullable=True),
        sa.Column('audio_mime', sa.String(length=30), nullable=False),
        sa.Column('audio_source', sa.Enum('synthetic', 'recorded', name='audiosource', native_enum=False, length=10), nullable=False),
        sa.Column('duration_seconds', sa.Float(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_campaign_broadcast_scripts_unit_code_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_broadcast_scripts')),
        sa.UniqueConstraint('unit_code', 'digest', name=op.f('uq_campaign_broadcast_scripts_unit_code')),
    )
    with op.batch_alter_table('campaign_broadcast_scripts', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_broadcast_scripts_unit_created', ['unit_code', 'created_at'], unique=False)
    op.create_table(
        'campaign_broadcast_airings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('slot', UTC, nullable=False),
        sa.Column('script_id', sa.Integer(), nullable=True),
        sa.Column('aired', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=False),
        sa.Column('confirmed_by', sa.Integer(), nullable=True),
        sa.Column('confirmed_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_campaign_broadcast_airings_unit_code_units'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['script_id'], ['campaign_broadcast_scripts.id'], name=op.f('fk_campaign_broadcast_airings_script_id_campaign_broadcast_scripts'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_campaign_broadcast_airings_confirmed_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_broadcast_airings')),
        sa.UniqueConstraint('unit_code', 'slot', name=op.f('uq_campaign_broadcast_airings_unit_code')),
    )
    with op.batch_alter_table('campaign_broadcast_airings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_broadcast_airings_unit_code'), ['unit_code'], unique=False)
    op.create_table(
        'campaign_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('period', sa.Enum('day', 'week', name='reportperiod', native_enum=False, length=10), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('format', sa.Enum('xlsx', 'pdf', name='reportformat', native_enum=False, length=10), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('emailed_at', UTC, nullable=True),
        sa.CheckConstraint('period_start <= period_end', name=op.f('ck_campaign_reports_period')),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_campaign_reports_unit_code_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_reports')),
        sa.UniqueConstraint('unit_code', 'period', 'period_end', 'format', name=op.f('uq_campaign_reports_unit_code')),
    )
    with op.batch_alter_table('campaign_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_reports_unit_code'), ['unit_code'], unique=False)
    op.create_table(
        'campaign_report_recipients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_campaign_report_recipients_unit_code_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_report_recipients')),
        sa.UniqueConstraint('unit_code', 'email', name=op.f('uq_campaign_report_recipients_unit_code')),
    )
    with op.batch_alter_table('campaign_report_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_report_recipients_unit_code'), ['unit_code'], unique=False)


def downgrade() -> None:
    op.drop_table('campaign_report_recipients')
    op.drop_table('campaign_reports')
    op.drop_table('campaign_broadcast_airings')
    op.drop_table('campaign_broadcast_scripts')
    op.drop_table('campaign_broadcast_schedules')
