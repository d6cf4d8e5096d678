"""The official a batch is digitized for: an upload made with a station key that names its holder is
signed with that official's own key (Circular 01/2023, Art. 8), not the deployment's default digitizing
official. NULL for batches made before, or with a key that names no one.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("official", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("official")
