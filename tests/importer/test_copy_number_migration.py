"""Migration 0013: a certified copy's number is unique within its agency. A database holding a copy
and the register entry that points at it is upgraded on SQLite (where the table is rebuilt) and on
PostgreSQL; the copy takes its register's agency, the entry still points at it, and another
agency's copy may carry the same number while the same agency's may not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from storage.db import _alembic_config, create_db_engine, open_database
from tests.support.servers import postgres_database

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
NUMBER = "1, Quyển số: 01/2026-SCTĐT/BS"
AGENCY = "UBND phường Bến Nghé"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with postgres_database(prefix="sohoa_mig13") as url:
            yield url


def _before_0013_with_a_copy(url: str) -> None:
    engine = create_db_engine(url)
    revision = next(p.name[:4] for p in sorted((Path(__file__).parents[2] / "storage/migrations/versions").glob(
        "0013_*.py")))
    script = _alembic_config()
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(script).get_revision(revision).down_revision
    with engine.connect() as conn:
        script.attributes["connection"] = conn
        command.upgrade(script, down)
        conn.commit()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO dossiers (code, status, created, updated) VALUES ('HS-1', 'digitized', :t, :t)"),
                     {"t": T0})
        conn.execute(sa.text(
            "INSERT INTO documents (dossier_id, doc_type, type_confidence, fields, pdf_key, pdf_sha256, pdf_size, "
            "page_count, page_hashes, source_keys, review_state, review_version, created) VALUES "
            "(1, 'cccd', 1.0, '{}', 'k', :h, 1, 1, '[]', '[]', 'ok', 0, :t)"), {"t": T0, "h": "a" * 64})
        for copy_id, number in ((1, NUMBER), (2, "2, Quyển số: 01/2026-SCTĐT/BS")):
            conn.execute(sa.text(
                "INSERT INTO certified_copies (document_id, certification_number, signer, signed_at, object_key, "
                "sha256, size, created) VALUES (1, :n, 'CN=x', :t, 'k', :h, 1, :t)"),
                {"t": T0, "n": number, "h": str(copy_id) * 64})
        conn.execute(sa.text(
            "INSERT INTO certification_register (agency, year, book, number, state, document_id, certified_copy_id, "
            "actor, created) VALUES (:a, 2026, 1, 1, 'used', 1, 1, 'officer', :t)"), {"a": AGENCY, "t": T0})
    engine.dispose()


def test_copy_numbers_are_unique_per_agency_after_the_upgrade(old_url: str) -> None:
    _before_0013_with_a_copy(old_url)
    db = open_database(old_url)
    try:
        with db.engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT id, agency FROM certified_copies ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [(1, AGENCY), (2, "")]  # no register entry: no agency known
            assert conn.execute(sa.text("SELECT certified_copy_id FROM certification_register")).scalar() == 1
            conn.execute(sa.text(
                "INSERT INTO certified_copies (document_id, certification_number, agency, signer, signed_at, "
                "object_key, sha256, size, created) VALUES (1, :n, 'Sở Tư pháp tỉnh Khác', 'CN=y', :t, 'k', :h, 1, :t)"),
                {"n": NUMBER, "t": T0, "h": "3" * 64})
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO certified_copies (document_id, certification_number, agency, signer, signed_at, "
                "object_key, sha256, size, created) VALUES (1, :n, :a, 'CN=y', :t, 'k', :h, 1, :t)"),
                {"n": NUMBER, "a": AGENCY, "t": T0, "h": "4" * 64})
        if db.dialect == "sqlite":  # the rebuilt table still refuses a register entry pointing nowhere
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE certification_register SET certified_copy_id = 99"))
    finally:
        db.dispose()
