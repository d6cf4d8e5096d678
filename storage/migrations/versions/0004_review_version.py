"""The verification station: a review version per document, and the type the machine chose.

``review_version`` counts the reviews recorded for a document: a clerk's submission names the
version it was made against, and one made against an older version is refused (two clerks on one
document must not silently overwrite each other). ``machine_doc_type`` keeps the classifier's type
when a person changes it, beside the reviewed one (the machine's values are never overwritten).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("review_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("machine_doc_type", sa.String(64)))
    op.create_index("ix_documents_review_queue", "documents", ["review_state", "created"])


def downgrade() -> None:
    op.drop_index("ix_documents_review_queue", "documents")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("machine_doc_type")
        batch.drop_column("review_version")
