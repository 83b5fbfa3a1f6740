"""campaign field: household due reason and follow-ups; visit consent time and source

Revision ID: 0010_campaign_field
Revises: 0008_campaign
Create Date: 2026-11-30 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safezone.db.base

revision: str = "0010_campaign_field"
down_revision: str | Sequence[str] | None = "0008_campaign"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_reason", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("follow_ups", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("campaign_visits", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent_at", safezone.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("consent_source", sa.String(length=40), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_visits", schema=None) as batch_op:
        batch_op.drop_column("consent_source")
        batch_op.drop_column("consent_at")
    with op.batch_alter_table("campaign_households", schema=None) as batch_op:
        batch_op.drop_column("follow_ups")
        batch_op.drop_column("due_reason")
