"""declarations: register of issued QR passes (serial, lifetime, revocation)

Revision ID: 0007_pass_revocations
Revises: 0006_declarations_v2
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import safezone.db.base

revision: str = '0007_pass_revocations'
down_revision: str | Sequence[str] | None = '0006_declarations_v2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('decl_passes',
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.String(length=6), nullable=False),
    sa.Column('issued_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', safezone.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', safezone.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_decl_passes'))
    )
    with op.batch_alter_table('decl_passes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decl_passes_declaration_id'), ['declaration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decl_passes_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_decl_passes_revoked_at'), ['revoked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('decl_passes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decl_passes_revoked_at'))
        batch_op.drop_index(batch_op.f('ix_decl_passes_expires_at'))
        batch_op.drop_index(batch_op.f('ix_decl_passes_declaration_id'))

    op.drop_table('decl_passes')
