"""Initial records schema: patients, visits, photos, analyses, measurements, annotated images.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def _parent(column: str, table: str, name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], name=name, ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "patients",
        _id(),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
        sa.UniqueConstraint("subject", name="uq_patients_subject"),
    )
    op.create_table(
        "visits",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        _parent("patient_id", "patients", "fk_visits_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
    )
    op.create_index("ix_visits_patient_id", "visits", ["patient_id"])
    op.create_table(
        "photos",
        _id(),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(10), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _parent("visit_id", "visits", "fk_photos_visit_id_visits"),
        sa.PrimaryKeyConstraint("id", name="pk_photos"),
        sa.UniqueConstraint("visit_id", "slot", name="uq_photos_visit_id_slot"),
    )
    op.create_table(
        "analyses",
        _id(),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("posture_version", sa.String(40), nullable=False),
        sa.Column("analysed_at", sa.String(40), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        _parent("visit_id", "visits", "fk_analyses_visit_id_visits"),
        sa.PrimaryKeyConstraint("id", name="pk_analyses"),
    )
    op.create_index("ix_analyses_visit_id", "analyses", ["visit_id"])
    op.create_table(
        "measurements",
        _id(),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("view", sa.String(20), nullable=False),
        sa.Column("metric", sa.String(60), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("uncertainty", sa.Float(), nullable=True),
        sa.Column("side", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("flag", sa.String(20), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raw_value", sa.Float(), nullable=True),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("passes", sa.Integer(), nullable=False),
        _parent("analysis_id", "analyses", "fk_measurements_analysis_id_analyses"),
        sa.PrimaryKeyConstraint("id", name="pk_measurements"),
        sa.UniqueConstraint("analysis_id", "metric", name="uq_measurements_analysis_id_metric"),
    )
    op.create_table(
        "annotated_images",
        _id(),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(10), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        _parent("analysis_id", "analyses", "fk_annotated_images_analysis_id_analyses"),
        sa.PrimaryKeyConstraint("id", name="pk_annotated_images"),
        sa.UniqueConstraint("analysis_id", "slot", name="uq_annotated_images_analysis_id_slot"),
    )


def downgrade() -> None:
    for table in ("annotated_images", "measurements", "analyses", "photos", "visits",
                  "patients"):
        op.drop_table(table)
