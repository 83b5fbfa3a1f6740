"""declarations v2: a person per unproven submission, health answers encrypted

- ``decl_persons.id_index`` is no longer unique: a submission without proof gets a person of
  its own even when the identity number was declared before (issue 8 item 1).
- ``travel_enc``, ``conditions_enc`` and ``decl_daily_updates.statuses_enc`` hold the health
  answers sealed by the vault (issue 8 item 7). The old plaintext columns stay readable for
  rows written before this revision until ``safezone declarations rekey`` (or
  ``safezone secrets rotate``) seals them and empties the plaintext.

Revision ID: 0006_declarations_v2
Revises: 0003_declarations
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_declarations_v2"
down_revision: str | Sequence[str] | None = "0003_declarations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decl_persons", schema=None) as batch_op:
        batch_op.drop_constraint("uq_decl_persons_id_index", type_="unique")
        batch_op.create_index("ix_decl_persons_id_index", ["id_index"], unique=False)
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("travel_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("conditions_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("decl_daily_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("statuses_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Rows sealed after the upgrade keep their answers only in the *_enc columns: downgrading
    # drops them (run with a backup). Two persons with one identity number cannot be unique.
    with op.batch_alter_table("decl_daily_updates", schema=None) as batch_op:
        batch_op.drop_column("statuses_enc")
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.drop_column("conditions_enc")
        batch_op.drop_column("travel_enc")
    with op.batch_alter_table("decl_persons", schema=None) as batch_op:
        batch_op.drop_index("ix_decl_persons_id_index")
        batch_op.create_unique_constraint("uq_decl_persons_id_index", ["id_index"])
