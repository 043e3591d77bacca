"""Four photo slots: each measurement row names its slot (front, back, left, right, or a
combination of two such as "left-right"), and a metric may appear once per slot.

Rows stored before this revision came from two slots, "front" (a front or back view) and
"side": they are given the slot their view implies ("side" stays "side": which side it showed
is not stored in the row; comparisons match it to a later visit's single side photo).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("measurements") as batch:
        batch.add_column(sa.Column("slot", sa.String(12), nullable=False, server_default=""))
    op.execute("UPDATE measurements SET slot = CASE WHEN view = 'side' THEN 'side' "
               "ELSE 'front' END")
    with op.batch_alter_table("measurements") as batch:
        batch.drop_constraint("uq_measurements_analysis_id_metric", type_="unique")
        batch.create_unique_constraint("uq_measurements_analysis_id_slot_metric",
                                       ["analysis_id", "slot", "metric"])


def downgrade() -> None:
    with op.batch_alter_table("measurements") as batch:
        batch.drop_constraint("uq_measurements_analysis_id_slot_metric", type_="unique")
        batch.create_unique_constraint("uq_measurements_analysis_id_metric",
                                       ["analysis_id", "metric"])
        batch.drop_column("slot")
