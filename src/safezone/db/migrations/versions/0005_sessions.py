"""accounts: server-side sessions; lockout replaced by throttling

Revision ID: 0005_sessions
Revises: 0001_foundation
Create Date: 2026-11-30 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safezone.db.base

revision: str = '0005_sessions'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash')),
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)
    # The hard lockout is gone (anyone could lock any account): throttling lives in the shared
    # rate-limit store instead. A plain DROP COLUMN (SQLite >= 3.35 and PostgreSQL both have it)
    # rather than a batch copy, which on SQLite would drop and re-create ``users`` under the
    # foreign keys pointing at it.
    op.drop_column('users', 'locked_until')


def downgrade() -> None:
    op.add_column(
        'users',
        sa.Column('locked_until', safezone.db.base.UtcDateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
