"""campaign core: unit boundaries (GeoJSON) for coverage maps

Revision ID: 0009_campaign_core
Revises: 0008_campaign
Create Date: 2026-11-30 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_campaign_core'
down_revision: str | Sequence[str] | None = '0008_campaign'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('unit_boundaries',
    sa.Column('unit_code', sa.String(length=16), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_unit_boundaries_unit_code_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_code', name=op.f('pk_unit_boundaries'))
    )


def downgrade() -> None:
    op.drop_table('unit_boundaries')
