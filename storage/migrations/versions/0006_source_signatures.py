"""Signed originals: what the signatures of a file handed in said when it was received.

A PDF that arrives already signed (a decision signed by the People's Committee, a certificate
issued electronically) is kept byte for byte; ``signatures`` records the verification made at
reception (verdict, reasons, each signer and time), so the dossier shows that the paper was an
electronic original and whether its signatures held.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_files") as batch:
        batch.add_column(sa.Column("signatures", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("source_files") as batch:
        batch.drop_column("signatures")
