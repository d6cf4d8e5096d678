"""Results of procedures, reuse as a recorded act, and where each dossier was received.

- ``procedure_results``: the result a workflow system posts (usually a signed born-digital PDF),
  kept byte for byte, with its owner, type, validity, signature verdict and digitization result
  code. Its digitized record is a ``documents`` row, so reuse look-ups and the owner's store find
  results the way they find received papers.
- ``dossier_components``: a component of a dossier taken from an earlier digitized paper (both
  ends kept), or declared on paper only (not digitized), so the figures of Decision 766/QĐ-TTg
  count what was reused and what was not digitized.
- ``dossier_places``: the agency, commune and province that received the dossier (after the 2025
  reorganisation), with the printed text they were derived from. ``dossiers.agency`` is written by
  the deployment that digitizes the papers (its configured agency), so in a province-wide
  deployment it names the digitizing centre; the figures per agency read the receiving one first.
- Indexes for the figures: dossiers by reception time (the province-wide month is a range scan).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "procedure_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("owner_id", sa.String(12), nullable=False),
        sa.Column("result_type", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_until", sa.Date()),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("object_key", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("text_source", sa.String(16), nullable=False),
        sa.Column("signature_status", sa.String(32)),
        sa.Column("signatures", sa.JSON()),
        sa.Column("result_code", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("result_code", name="uq_procedure_results_result_code"),
        sa.UniqueConstraint("dossier_id", "sha256", name="uq_procedure_results_dossier_sha256"),
    )
    op.create_index("ix_procedure_results_dossier", "procedure_results", ["dossier_id"])
    op.create_index("ix_procedure_results_document", "procedure_results", ["document_id"])
    op.create_index("ix_procedure_results_owner", "procedure_results", ["owner_id", "result_type"])

    op.create_table(
        "dossier_components",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("doc_type", sa.String(64), nullable=False),
        sa.Column("reused_document_id", sa.Integer(), sa.ForeignKey("documents.id")),
        sa.Column("owner_id", sa.String(12)),
        sa.Column("note", sa.String(500)),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dossier_components_dossier", "dossier_components", ["dossier_id", "state"])
    op.create_index("ix_dossier_components_reused", "dossier_components", ["reused_document_id"])

    op.create_table(
        "dossier_places",
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), primary_key=True),
        sa.Column("agency", sa.String(255)),
        sa.Column("commune_code", sa.String(16)),
        sa.Column("province_code", sa.String(8)),
        sa.Column("commune_name", sa.String(255)),
        sa.Column("address", sa.Text()),
        sa.Column("confidence", sa.Float()),
        sa.Column("ambiguous", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dossier_places_commune", "dossier_places", ["commune_code"])
    op.create_index("ix_dossier_places_province", "dossier_places", ["province_code"])

    op.create_index("ix_dossiers_created", "dossiers", ["created"])
    op.create_index("ix_dossiers_agency_created", "dossiers", ["agency", "created"])
    op.create_index("ix_documents_reused_from", "documents", ["reused_from_id"])


def downgrade() -> None:
    op.drop_index("ix_documents_reused_from", "documents")
    op.drop_index("ix_dossiers_agency_created", "dossiers")
    op.drop_index("ix_dossiers_created", "dossiers")
    op.drop_table("dossier_places")
    op.drop_table("dossier_components")
    op.drop_table("procedure_results")
