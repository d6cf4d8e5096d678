"""The electronic certification register: one entry per number, gap-free per agency, year and book.

A number is reserved before the copy is signed (it is printed on the stamp), then marked used with
the copy it went to, or voided with the reason the signing failed: like a paper register, a
number is never skipped and never given twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certification_register",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency", sa.String(255), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("book", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id")),
        sa.Column("certified_copy_id", sa.Integer(), sa.ForeignKey("certified_copies.id")),
        sa.Column("subject", sa.String(512)),
        sa.Column("note", sa.Text()),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("agency", "year", "book", "number", name="uq_certification_register_number"),
    )


def downgrade() -> None:
    op.drop_table("certification_register")
