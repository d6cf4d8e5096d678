"""Learned words: the names and places people confirmed at the verification station, with who
vouched for them, on which document and field, and when. In the records so that every machine that
extracts consults the same words.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_words",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("official", sa.String(255), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id")),
        sa.Column("field", sa.String(64)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_learned_words_kind_text", "learned_words", ["kind", "text"])
    op.create_index("ix_learned_words_document_id", "learned_words", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_learned_words_document_id", table_name="learned_words")
    op.drop_index("ix_learned_words_kind_text", table_name="learned_words")
    op.drop_table("learned_words")
