"""The certifying officer in the loop: certified-copy requests waiting for an officer's decision
(confirmed and signed with the officer's key, or refused with the reason).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certify_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("purpose", sa.String(500)),
        sa.Column("requested", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer", sa.String(255)),
        sa.Column("decided_by", sa.String(255)),
        sa.Column("decided", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text()),
        sa.Column("certified_copy_id", sa.Integer(), sa.ForeignKey("certified_copies.id")),
    )


def downgrade() -> None:
    op.drop_table("certify_requests")
