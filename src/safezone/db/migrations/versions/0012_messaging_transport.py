"""messaging transport: ZNS tokens, per-channel daily state, gateway event log

Revision ID: 0012_messaging_transport
Revises: 0011_messaging
Create Date: 2026-11-30 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safezone.db.base

revision: str = '0012_messaging_transport'
down_revision: str | Sequence[str] | None = '0011_messaging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('msg_zns_tokens',
    sa.Column('app_id', sa.String(length=40), nullable=False),
    sa.Column('access_enc', sa.LargeBinary(), nullable=True),
    sa.Column('refresh_enc', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', safezone.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('refreshed_at', safezone.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('refreshes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('app_id', name=op.f('pk_msg_zns_tokens'))
    )
    op.create_table('msg_channel_days',
    sa.Column('channel', sa.String(length=4), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('daily_quota', sa.Integer(), nullable=True),
    sa.Column('remaining_quota', sa.Integer(), nullable=True),
    sa.Column('stopped_at', safezone.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('stop_reason', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('channel', 'day', name=op.f('pk_msg_channel_days'))
    )
    op.create_table('msg_gateway_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=4), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.String(length=120), nullable=True),
    sa.Column('received_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['msg_outbox.id'], name=op.f('fk_msg_gateway_events_message_id_msg_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_msg_gateway_events'))
    )
    with op.batch_alter_table('msg_gateway_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_msg_gateway_events_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('msg_gateway_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_msg_gateway_events_message_id'))
    op.drop_table('msg_gateway_events')
    op.drop_table('msg_channel_days')
    op.drop_table('msg_zns_tokens')
