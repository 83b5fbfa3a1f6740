"""sim: the unit each stored run simulated (pages and the API show a run only inside scope)

Revision ID: 0016_sim_root
Revises: 0014_sim
Create Date: 2026-11-30 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016_sim_root'
down_revision: str | Sequence[str] | None = '0014_sim'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sim_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('root_code', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_sim_runs_root_code'), ['root_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sim_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sim_runs_root_code'))
        batch_op.drop_column('root_code')
