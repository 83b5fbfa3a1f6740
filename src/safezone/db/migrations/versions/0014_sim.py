"""sim: stored simulation runs and plans

Revision ID: 0014_sim
Revises: 0001_foundation
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safezone.db.base

revision: str = '0014_sim'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sim_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', safezone.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('engine_version', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('seeds', sa.JSON(), nullable=False),
    sa.Column('outputs', sa.JSON(), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('run', 'plan')", name=op.f('ck_sim_runs_kind')),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_sim_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sim_runs'))
    )
    with op.batch_alter_table('sim_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sim_runs_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sim_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sim_runs_created_at'))
    op.drop_table('sim_runs')
