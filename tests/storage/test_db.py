"""Opening and migrating the records database, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from core.errors import ExternalToolError
from storage.db import Database, head_revision, open_database

TABLES = {
    "stations",
    "batches",
    "source_files",
    "dossiers",
    "documents",
    "certified_copies",
    "audit_events",
    "audit_head",
    "alembic_version",
}


def test_schema_is_at_head_with_reuse_index(db: Database) -> None:
    names = set(inspect(db.engine).get_table_names())
    assert TABLES <= names
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(db.engine).get_indexes("documents")}
    assert indexes["ix_documents_reuse"] == ["personal_id", "doc_type", "created"]


def test_sqlite_uses_wal_and_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_migrates_from_any_working_directory(tmp_path: Path) -> None:
    """The migrations ship inside the package: no alembic.ini is needed where the command runs."""
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    code = f"from storage.db import open_database; open_database({url!r}); open_database({url!r})"
    subprocess.run([sys.executable, "-c", code], cwd="/", check=True, timeout=60)
    with open_database(url).engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(ExternalToolError, match="cannot open database"):
        open_database("postgresql://postgres@127.0.0.1:9/none")
