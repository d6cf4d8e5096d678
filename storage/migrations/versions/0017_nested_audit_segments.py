"""Imported audit segments inside imported segments: a deployment that was itself a merge target
hands over the segments it had imported, and this one keeps them verifiable.

A nested segment was sealed by an event of another deployment's chain, which here is an event of an
imported segment: ``parent_id`` names that segment (NULL: sealed by this deployment's own chain) and
``sealed_as`` the id the sealing deployment gave the segment (its seal's subject names it). Plain
columns, no foreign key: SQLite adds them in place, without rebuilding a table other tables point at.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_segments", sa.Column("parent_id", sa.Integer()))
    op.add_column("audit_segments", sa.Column("sealed_as", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("audit_segments") as batch:
        batch.drop_column("sealed_as")
        batch.drop_column("parent_id")
