"""Migration 0003 folds the API's ``api_batches`` into ``batches``: a database at revision 0002
with rows on both sides (as the API's ``create_all`` and the runners left them) is upgraded, and
every upload is then one batch record, found by its old id, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from core.model import BatchStatus
from storage.batches import batch_report, find_by_idempotency_key, get_batch, record_upload
from storage.db import _alembic_config, create_db_engine, open_database
from tests.support.servers import postgres_database

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

# The API's table as api/db.py created it before the migration.
_old = sa.MetaData()
API_BATCHES = sa.Table(
    "api_batches",
    _old,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("station", sa.String(64), nullable=False, index=True),
    sa.Column("idempotency_key", sa.String(255)),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("dossier_code", sa.String(64), nullable=False),
    sa.Column("procedure_code", sa.String(64)),
    sa.Column("certify", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(16), nullable=False, default="queued"),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("spool_dir", sa.Text, nullable=False),
    sa.Column("pages_total", sa.Integer, nullable=False, default=0),
    sa.Column("pages_done", sa.Integer, nullable=False, default=0),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("storage_batch_id", sa.Integer),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started", sa.DateTime(timezone=True)),
    sa.Column("finished", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("station", "idempotency_key", name="uq_api_batches_station_idempotency_key"),
)

FILE = {"name": "Căn cước.png", "size": 10, "sha256": "ab" * 32, "media_type": "image/png", "pages": 1,
        "spool_name": "000.png"}


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with postgres_database(prefix="sohoa_mig") as url:
            yield url


def _at_0002_with_rows(url: str) -> None:
    """Schema 0002, one records batch made by a run of the API (linked), one queued upload, one
    refused upload, one batch made by ``sohoa process``."""
    engine = create_db_engine(url)
    cfg = _alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.commit()
    _old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO stations (code, name, created) VALUES ('quay-01', 'quay-01', :t)"),
                     {"t": T0})
        conn.execute(sa.text(
            "INSERT INTO dossiers (code, procedure_code, status, created, updated) "
            "VALUES ('HS-1', '1.001612', 'digitized', :t, :t)"), {"t": T0})
        for _ in (1, 2):  # a fresh database numbers them 1 and 2 (and the station and dossier 1)
            conn.execute(sa.text(
                "INSERT INTO batches (station_id, dossier_id, status, files, pages_total, pages_done, errors, "
                "created, finished) VALUES (1, 1, 'done', 1, 3, 3, '[]', :t, :t)"), {"t": T0})
        rows = [
            {"id": "a" * 32, "station": "quay-01", "idempotency_key": "k-1", "fingerprint": "f1", "dossier_code": "HS-1",
                 "procedure_code": "1.001612", "certify": True, "status": "done", "files": [FILE], "spool_dir": "/spool/a",
                 "pages_total": 3, "pages_done": 3, "attempts": 1, "result": {"documents": []}, "error": None,
                 "storage_batch_id": 1, "created": T0, "started": T0, "finished": T0},
            {"id": "b" * 32, "station": "quay-02", "idempotency_key": "k-2", "fingerprint": "f2", "dossier_code": "HS-2",
                 "procedure_code": None, "certify": False, "status": "queued", "files": [FILE, FILE], "spool_dir": "/spool/b",
                 "pages_total": 0, "pages_done": 0, "attempts": 0, "result": None, "error": None, "storage_batch_id": None,
                 "created": T0, "started": None, "finished": None},
            {"id": "c" * 32, "station": "quay-01", "idempotency_key": None, "fingerprint": "f3", "dossier_code": "HS-1",
                 "procedure_code": None, "certify": False, "status": "failed", "files": [FILE], "spool_dir": "/spool/c",
                 "pages_total": 0, "pages_done": 0, "attempts": 1, "result": None, "error": "Căn cước.png: không đọc được",
                 "storage_batch_id": None, "created": T0, "started": T0, "finished": T0},
        ]
        conn.execute(API_BATCHES.insert(), rows)
    engine.dispose()


def test_migration_moves_api_batches_into_batches(old_url: str) -> None:
    _at_0002_with_rows(old_url)
    db = open_database(old_url)  # migrates to head
    try:
        assert not sa.inspect(db.engine).has_table("api_batches")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM batches")).scalar() == 4  # 2 records + 2 uploads alone

        linked = get_batch(db, "a" * 32, station="quay-01")
        assert linked is not None and linked.id == 1  # merged into its records batch, not copied beside it
        assert linked.status == BatchStatus.DONE and linked.certify and linked.idempotency_key == "k-1"
        assert linked.fingerprint == "f1" and linked.files[0]["name"] == "Căn cước.png"
        assert linked.dossier_code == "HS-1" and linked.pages_done == 3 and linked.attempts == 1
        assert linked.spool_dir is None  # finished: nothing waits in the spool

        queued = find_by_idempotency_key(db, "quay-02", "k-2")
        assert queued is not None and queued.public_id == "b" * 32
        assert queued.status == BatchStatus.QUEUED and queued.spool_dir == "/spool/b"
        assert queued.station == "quay-02" and queued.dossier_code == "HS-2" and queued.file_count == 2
        assert queued.created == T0

        failed = get_batch(db, "c" * 32)
        assert failed is not None and failed.status == BatchStatus.FAILED
        assert failed.error == "Căn cước.png: không đọc được" and failed.errors == (failed.error,)

        other = get_batch(db, "a" * 32, station="quay-02")
        assert other is None  # another station's batch is not found

        with db.engine.connect() as conn:
            cli_public = conn.execute(sa.text("SELECT public_id FROM batches WHERE id = 2")).scalar()
        assert cli_public and len(cli_public) == 32  # batches made elsewhere get a public id too

        report = batch_report(db, "a" * 32)
        assert report is not None and report.pages_total == 3 and report.documents == ()

        # (station, Idempotency-Key) stays unique: the same key answers the migrated batch.
        again, created = record_upload(
            db, public_id="d" * 32, station="quay-02", dossier_code="HS-2", procedure_code=None, certify=False,
            files=[FILE], spool_dir="/spool/d", fingerprint="f2", idempotency_key="k-2",
        )
        assert not created and again.public_id == "b" * 32
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO batches (public_id, station_id, status, certify, files, pages_total, pages_done, "
                "attempts, errors, created, idempotency_key) "
                "SELECT 'e', station_id, 'queued', false, 0, 0, 0, 0, '[]', created, 'k-2' FROM batches WHERE id = "
                + str(queued.id)
            ))
    finally:
        db.dispose()


def test_migration_without_api_table(tmp_path: Path) -> None:
    """A database the API never used (no api_batches) migrates too, and can go back to 0002."""
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    db = open_database(url)
    db.dispose()
    engine = create_db_engine(url)
    cfg = _alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
        conn.commit()
        assert sa.inspect(conn).has_table("api_batches")
        assert "public_id" not in {c["name"] for c in sa.inspect(conn).get_columns("batches")}
    engine.dispose()
