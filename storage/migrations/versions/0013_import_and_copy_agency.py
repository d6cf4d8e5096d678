"""Merging deployments: a certified copy's number is unique within its agency, not everywhere; the
import ledger and the imported audit segments.

Register numbers run per agency, book and year, so two former provinces' copies are both numbered
"1, Quyển số: 01/2026-SCTĐT/BS": ``certified_copies`` gains the ``agency`` whose register issued the
number (filled from the register entries; '' where none is known) and the uniqueness becomes
(agency, certification_number). SQLite cannot drop a constraint, so there the table is rebuilt; the
rows that point at copies are detached for the rebuild and pointed back after it, inside the same
transaction (a dropped parent table would otherwise fail their foreign keys).

``import_sources`` / ``import_records`` are the ledger of ``sohoa import``: one row per record of a
source deployment (or manifest), what it became here and how (copied, already present, merged,
conflict), the former agency code kept so it stays searchable. ``audit_segments`` /
``imported_audit_events`` keep a source's audit trail verbatim, sealed by an event of this chain.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_COPY_COLUMNS = (
    "id, document_id, certification_number, signer, signed_at, timestamp, object_key, sha256, size, created"
)
_COPY_AGENCY = (
    "COALESCE((SELECT r.agency FROM certification_register r WHERE r.certified_copy_id = c.id "
    "ORDER BY r.id LIMIT 1), '')"
)

_PG_APPEND_ONLY = """
CREATE TRIGGER imported_audit_events_no_update BEFORE UPDATE OR DELETE ON imported_audit_events
  FOR EACH ROW EXECUTE FUNCTION sohoa_audit_append_only();
"""
_SQLITE_APPEND_ONLY = (
    ("CREATE TRIGGER imported_audit_events_no_update BEFORE UPDATE ON imported_audit_events "
    "BEGIN SELECT RAISE(ABORT, 'imported_audit_events is append-only'); END"),
    ("CREATE TRIGGER imported_audit_events_no_delete BEFORE DELETE ON imported_audit_events "
    "BEGIN SELECT RAISE(ABORT, 'imported_audit_events is append-only'); END"),
)


def _sqlite_children(bind: sa.engine.Connection) -> list[tuple[str, str]]:
    """(table, column) of every foreign key pointing at certified_copies."""
    out = []
    tables = [r[0] for r in bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        for fk in bind.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")'):
            if fk[2] == "certified_copies":
                out.append((table, fk[3]))
    return out


def _rebuild_sqlite_copies() -> None:
    bind = op.get_bind()
    children = _sqlite_children(bind)
    bind.exec_driver_sql(
        "CREATE TABLE certified_copies_new ("
        " id INTEGER NOT NULL PRIMARY KEY,"
        " document_id INTEGER NOT NULL REFERENCES documents (id),"
        " certification_number VARCHAR(64) NOT NULL,"
        " signer VARCHAR(512) NOT NULL,"
        " signed_at DATETIME NOT NULL,"
        " timestamp DATETIME,"
        " object_key VARCHAR(100) NOT NULL,"
        " sha256 VARCHAR(64) NOT NULL,"
        " size BIGINT NOT NULL,"
        " created DATETIME NOT NULL,"
        " agency VARCHAR(255) DEFAULT '' NOT NULL,"
        " CONSTRAINT uq_certified_copies_agency_number UNIQUE (agency, certification_number))"
    )
    bind.exec_driver_sql(
        f"INSERT INTO certified_copies_new ({_COPY_COLUMNS}, agency) "
        f"SELECT {_COPY_COLUMNS}, {_COPY_AGENCY} FROM certified_copies c"
    )
    for i, (table, column) in enumerate(children):
        bind.exec_driver_sql(
            f'CREATE TEMP TABLE _cc_ref_{i} AS SELECT rowid AS rid, "{column}" AS ref FROM "{table}" '
            f'WHERE "{column}" IS NOT NULL'
        )
        bind.exec_driver_sql(f'UPDATE "{table}" SET "{column}" = NULL')
    bind.exec_driver_sql("DROP TABLE certified_copies")
    bind.exec_driver_sql("ALTER TABLE certified_copies_new RENAME TO certified_copies")
    bind.exec_driver_sql("CREATE INDEX ix_certified_copies_document_id ON certified_copies (document_id)")
    bind.exec_driver_sql("CREATE INDEX ix_certified_copies_sha256 ON certified_copies (sha256)")
    for i, (table, column) in enumerate(children):
        bind.exec_driver_sql(
            f'UPDATE "{table}" SET "{column}" = (SELECT ref FROM _cc_ref_{i} WHERE rid = "{table}".rowid) '
            f"WHERE rowid IN (SELECT rid FROM _cc_ref_{i})"
        )
        bind.exec_driver_sql(f"DROP TABLE _cc_ref_{i}")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _rebuild_sqlite_copies()
    else:
        op.add_column("certified_copies", sa.Column("agency", sa.String(255), nullable=False, server_default=""))
        op.execute(f"UPDATE certified_copies c SET agency = {_COPY_AGENCY}")
        op.drop_constraint("certified_copies_certification_number_key", "certified_copies", type_="unique")
        op.create_unique_constraint(
            "uq_certified_copies_agency_number", "certified_copies", ["agency", "certification_number"]
        )

    op.create_table(
        "import_sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("identity", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("agency_map", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started", TS, nullable=False),
        sa.Column("finished", TS),
    )
    op.create_table(
        "import_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("import_sources.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(255), nullable=False),
        sa.Column("target_id", sa.Integer()),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("former_agency", sa.String(255)),
        sa.Column("detail", sa.Text()),
        sa.Column("created", TS, nullable=False),
        sa.UniqueConstraint("source_id", "kind", "source_ref", name="uq_import_records_source_ref"),
    )
    op.create_index("ix_import_records_former_agency", "import_records", ["former_agency"])
    op.create_index("ix_import_records_target", "import_records", ["kind", "target_id"])
    op.create_table(
        "audit_segments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("import_sources.id"), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("start_hash", sa.String(64), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("sealed_seq", sa.BigInteger()),
        sa.Column("created", TS, nullable=False),
        sa.UniqueConstraint("source_id", "first_seq", name="uq_audit_segments_source_first"),
    )
    op.create_table(
        "imported_audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("segment_id", sa.Integer(), sa.ForeignKey("audit_segments.id"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("segment_id", "seq", name="uq_imported_audit_events_seq"),
    )
    if dialect == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    elif dialect == "sqlite":
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS imported_audit_events_no_update ON imported_audit_events")
    for table in ("imported_audit_events", "audit_segments", "import_records", "import_sources"):
        op.drop_table(table)
    with op.batch_alter_table("certified_copies", recreate="always") as batch:
        batch.drop_constraint("uq_certified_copies_agency_number", type_="unique")
        batch.drop_column("agency")
        batch.create_unique_constraint("certified_copies_certification_number_key", ["certification_number"])
