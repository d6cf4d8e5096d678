"""Initial schema: stations, batches, source files, dossiers, documents, certified copies, audit log.

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

GENESIS = "0" * 64  # prev_hash of the first audit event
TS = sa.DateTime(timezone=True)

# The audit log is append-only in the database itself, not only by convention in the code.
_PG_APPEND_ONLY = """
CREATE FUNCTION sohoa_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION sohoa_audit_append_only();
"""
_SQLITE_APPEND_ONLY = (
    (
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    ),
    (
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    ),
)


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(255)),
        sa.Column("created", TS, nullable=False),
    )
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("procedure_code", sa.String(64)),
        sa.Column("agency", sa.String(255)),
        sa.Column("applicant_personal_id", sa.String(12)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("updated", TS, nullable=False),
    )
    op.create_index("ix_dossiers_applicant_personal_id", "dossiers", ["applicant_personal_id"])
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id")),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("pages_total", sa.Integer(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("finished", TS),
    )
    op.create_index("ix_batches_station_id", "batches", ["station_id"])
    op.create_index("ix_batches_dossier_id", "batches", ["dossier_id"])
    op.create_table(
        "source_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("object_key", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created", TS, nullable=False),
    )
    op.create_index("ix_source_files_batch_id", "source_files", ["batch_id"])
    op.create_index("ix_source_files_sha256", "source_files", ["sha256"])
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("batches.id")),
        sa.Column("doc_type", sa.String(64), nullable=False),
        sa.Column("type_confidence", sa.Float(), nullable=False),
        sa.Column("personal_id", sa.String(12)),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("pdf_key", sa.String(100), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("pdf_size", sa.BigInteger(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("page_hashes", sa.JSON(), nullable=False),
        sa.Column("pages_sha256", sa.String(64)),
        sa.Column("source_keys", sa.JSON(), nullable=False),
        sa.Column("review_state", sa.String(32), nullable=False),
        sa.Column("reused_from_id", sa.Integer(), sa.ForeignKey("documents.id")),
        sa.Column("created", TS, nullable=False),
    )
    op.create_index("ix_documents_dossier_id", "documents", ["dossier_id"])
    op.create_index("ix_documents_batch_id", "documents", ["batch_id"])
    op.create_index("ix_documents_reuse", "documents", ["personal_id", "doc_type", "created"])
    op.create_index("ix_documents_pdf_sha256", "documents", ["pdf_sha256"])
    op.create_index("ix_documents_pages_sha256", "documents", ["pages_sha256"])
    op.create_table(
        "certified_copies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("certification_number", sa.String(64), nullable=False, unique=True),
        sa.Column("signer", sa.String(512), nullable=False),
        sa.Column("signed_at", TS, nullable=False),
        sa.Column("timestamp", TS),
        sa.Column("object_key", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created", TS, nullable=False),
    )
    op.create_index("ix_certified_copies_document_id", "certified_copies", ["document_id"])
    op.create_index("ix_certified_copies_sha256", "certified_copies", ["sha256"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "last_hash": GENESIS}])
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    elif dialect == "sqlite":
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS sohoa_audit_append_only()")
    for table in (
        "audit_events",
        "audit_head",
        "certified_copies",
        "documents",
        "source_files",
        "batches",
        "dossiers",
        "stations",
    ):
        op.drop_table(table)
