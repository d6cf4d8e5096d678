"""Per-dossier counters for the figures of Decision 766/QĐ-TTg, kept by the database itself.

A province's month is some 85,000 dossiers; counting their 180,000 papers, results and components
at every look took seconds. ``dossier_figures`` holds, per dossier, how many papers it has (and of
those, how many carry their owner's ID and how many are copies the store already held), how many
components were reused or handed in on paper only, and how many results were issued. Triggers on
``documents``, ``dossier_components`` and ``procedure_results`` keep the counts whatever writes
them (the flow, the API, an import), on PostgreSQL and SQLite alike; the existing rows are counted
once here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COUNTERS = ("documents", "owned", "copies", "reused", "paper", "results")

# (table, trigger name, counter increments from a row: counter -> SQL over the row alias)
_SOURCES = {
    "documents": ("figures_documents", ("dossier_id", "personal_id", "reused_from_id"), {
        "documents": "1",
        "owned": "CASE WHEN {r}.personal_id IS NULL THEN 0 ELSE 1 END",
        "copies": "CASE WHEN {r}.reused_from_id IS NULL THEN 0 ELSE 1 END",
    }),
    "dossier_components": ("figures_components", ("dossier_id", "state"), {
        "reused": "CASE WHEN {r}.state = 'reused' THEN 1 ELSE 0 END",
        "paper": "CASE WHEN {r}.state = 'paper' THEN 1 ELSE 0 END",
    }),
    "procedure_results": ("figures_results", ("dossier_id",), {"results": "1"}),
}


def _change(counts: dict[str, str], row: str, sign: str) -> str:
    sets = ", ".join(f"{c} = {c} {sign} ({expr.format(r=row)})" for c, expr in counts.items())
    return f"UPDATE dossier_figures SET {sets} WHERE dossier_id = {row}.dossier_id"


def _ensure(row: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"INSERT INTO dossier_figures (dossier_id) VALUES ({row}.dossier_id) ON CONFLICT DO NOTHING"
    return f"INSERT OR IGNORE INTO dossier_figures (dossier_id) VALUES ({row}.dossier_id)"


def _postgresql(table: str, name: str, columns: tuple[str, ...], counts: dict[str, str]) -> list[str]:
    return [
        f"""CREATE FUNCTION sohoa_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                {_change(counts, "OLD", "-")};
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                {_ensure("NEW", "postgresql")};
                {_change(counts, "NEW", "+")};
            END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {", ".join(columns)} ON {table}
            FOR EACH ROW EXECUTE FUNCTION sohoa_{name}()""",
    ]


def _sqlite(table: str, name: str, columns: tuple[str, ...], counts: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN
            {_ensure("NEW", "sqlite")}; {_change(counts, "NEW", "+")}; END""",
        f"""CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {_change(counts, "OLD", "-")}; END""",
        f"""CREATE TRIGGER {name}_update AFTER UPDATE OF {", ".join(columns)} ON {table} BEGIN
            {_change(counts, "OLD", "-")}; {_ensure("NEW", "sqlite")}; {_change(counts, "NEW", "+")}; END""",
    ]


def upgrade() -> None:
    op.create_table(
        "dossier_figures",
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), primary_key=True),
        *[sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COUNTERS],
    )
    op.execute("""
        INSERT INTO dossier_figures (dossier_id, documents, owned, copies, reused, paper, results)
        SELECT s.id,
               (SELECT count(*) FROM documents d WHERE d.dossier_id = s.id),
               (SELECT count(d.personal_id) FROM documents d WHERE d.dossier_id = s.id),
               (SELECT count(d.reused_from_id) FROM documents d WHERE d.dossier_id = s.id),
               (SELECT count(*) FROM dossier_components c WHERE c.dossier_id = s.id AND c.state = 'reused'),
               (SELECT count(*) FROM dossier_components c WHERE c.dossier_id = s.id AND c.state = 'paper'),
               (SELECT count(*) FROM procedure_results r WHERE r.dossier_id = s.id)
        FROM dossiers s""")
    dialect = op.get_bind().dialect.name
    for table, (name, columns, counts) in _SOURCES.items():
        make = _postgresql if dialect == "postgresql" else _sqlite
        for statement in make(table, name, columns, counts):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, (name, _columns, _counts) in _SOURCES.items():
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS sohoa_{name}()")
        else:
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{suffix}")
    op.drop_table("dossier_figures")
