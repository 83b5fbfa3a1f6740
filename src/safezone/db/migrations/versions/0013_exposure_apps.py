"""exposure: app API keys (verify and certificate require X-API-Key)

Revision ID: 0013_exposure_apps
Revises: 0002_exposure
Create Date: 2026-11-30 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safezone.db.base  # noqa: F401 - custom column types the code below names

revision: str = '0013_exposure_apps'
down_revision: str | Sequence[str] | None = '0002_exposure'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exposure_apps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('key_hint', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', safezone.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exposure_apps')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_exposure_apps_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_exposure_apps_name'))
    )


def downgrade() -> None:
    op.drop_table('exposure_apps')
