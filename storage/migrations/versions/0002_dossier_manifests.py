"""Signed dossier manifests: the manifest and its detached signature are records, so gc keeps them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_manifests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id")),
        sa.Column("manifest_key", sa.String(100), nullable=False),
        sa.Column("signature_key", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dossier_manifests_dossier_id", "dossier_manifests", ["dossier_id"])


def downgrade() -> None:
    op.drop_index("ix_dossier_manifests_dossier_id", "dossier_manifests")
    op.drop_table("dossier_manifests")
