"""``sohoa backup`` / ``sohoa restore``: a consistent snapshot of records and objects, restored into
empty services (SQLite and a local folder; PostgreSQL and S3) and checked there with ``sohoa audit
verify`` and ``sohoa store verify``, after which the restored deployment carries on."""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from storage.audit import record_event
from storage.backup import RECORDS_FILE, backup
from storage.db import open_database
from tests.operations.conftest import REPO, Deployment, sohoa, sohoa_env
from tests.support.servers import S3Endpoint, postgres_database


@pytest.fixture(scope="module")
def snapshot(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("backups") / "b1"
    run = sohoa("backup", str(dest), "--json", env=deployment.env)
    assert run.returncode == 0, run.stderr
    return dest


def _verified(env: dict[str, str]) -> int:
    """Run both checks on a deployment; return its audit events."""
    audit = sohoa("audit", "verify", "--json", env=env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    store = sohoa("store", "verify", env=env)
    assert store.returncode == 0, store.stdout + store.stderr
    assert " 0 corrupt, 0 referenced but missing" in store.stdout
    return json.loads(audit.stdout)["events"]


def test_restore_into_an_empty_sqlite_deployment(deployment: Deployment, snapshot: Path, tmp_path: Path) -> None:
    described = json.loads((snapshot / "backup.json").read_text())
    assert described["audit_events"] >= 5 and described["objects"] >= 4
    assert described["tables"]["certified_copies"] == 1
    env = sohoa_env(tmp_path / "restored")
    run = sohoa("restore", str(snapshot), env=env)
    assert run.returncode == 0, run.stderr
    assert _verified(env) == _verified(deployment.env) == described["audit_events"]
    reuse = sohoa("reuse", "--personal-id", "014098702690", "--json", env=env)
    assert [r["doc_type"] for r in json.loads(reuse.stdout)] == ["marriage_certificate"]
    # A second restore into the now full deployment is refused, and loses nothing.
    again = sohoa("restore", str(snapshot), env=env)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert _verified(env) == described["audit_events"]


def test_restore_into_empty_postgresql_and_s3_then_carry_on(
    deployment: Deployment, snapshot: Path, s3_endpoint: S3Endpoint, tmp_path: Path
) -> None:
    with postgres_database(prefix="sohoa_restore") as pg_url:
        env = sohoa_env(tmp_path / "data", SOHOA_DATABASE_URL=pg_url,
                        SOHOA_STORE_URL=s3_endpoint.store_url(f"restore-{secrets.token_hex(4)}"))
        run = sohoa("restore", str(snapshot), env=env)
        assert run.returncode == 0, run.stderr
        events = _verified(env)
        assert events == json.loads((snapshot / "backup.json").read_text())["audit_events"]
        # The restored deployment takes new work: ids go on after the restored ones.
        more = sohoa("process", str(REPO / "samples" / "dossier" / "giay-chung-nhan-dang-ky-doanh-nghiep.png"),
                     "--dossier", "000.00.19.H99-261207-0022", env=env)
        assert more.returncode == 0, more.stderr[-2000:]
        assert _verified(env) > events
        # And a backup of PostgreSQL + S3 restores into SQLite with the same records.
        second = tmp_path / "b2"
        assert sohoa("backup", str(second), env=env).returncode == 0
        back = sohoa_env(tmp_path / "back")
        assert sohoa("restore", str(second), env=back).returncode == 0
        assert _verified(back) == _verified(env)


def test_the_snapshot_holds_what_only_the_wal_holds(tmp_path: Path) -> None:
    """The issue's loss: a copy of sohoa.db alone missed the events still in sohoa.db-wal."""
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'sohoa.db'}"
    db = open_database(url)
    try:
        with db.engine.connect() as conn:  # no checkpoint moves the events into the main file
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the schema into the main file
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        for n in range(40):
            record_event(db, actor="test", action="dossier.read", subject=f"dossier:{n}", details={"n": n})
        assert (data / "sohoa.db-wal").stat().st_size > 0
        copied = tmp_path / "copied.db"
        shutil.copy(data / "sohoa.db", copied)
        with sqlite3.connect(copied) as conn:
            in_copy = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        report = backup(url, f"file://{data / 'objects'}", tmp_path / "backup")
    finally:
        db.dispose()
    assert in_copy < 40
    assert report.manifest.audit_events == 40
    env = sohoa_env(tmp_path / "restored")
    assert sohoa("restore", str(tmp_path / "backup"), env=env).returncode == 0
    assert _verified(env) == 40


def test_bad_backups_and_destinations_are_refused(snapshot: Path, deployment: Deployment, tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    run = sohoa("backup", str(full), env=deployment.env)
    assert run.returncode == 2 and "not an empty folder" in run.stderr
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    damaged = tmp_path / "damaged"
    shutil.copytree(snapshot, damaged)
    with open(damaged / RECORDS_FILE, "r+b") as f:
        f.seek(200)
        f.write(b"\xff")
    env = sohoa_env(tmp_path / "target")
    run = sohoa("restore", str(damaged), env=env)
    assert run.returncode == 1 and "damaged" in run.stderr
    assert not (tmp_path / "target").exists()
    run = sohoa("restore", str(tmp_path), env=env)
    assert run.returncode == 2 and "not a sohoa backup" in run.stderr


def test_a_postgresql_snapshot_is_one_moment_while_events_are_written(tmp_path: Path) -> None:
    """Every table read in one transaction: the audit head in the backup is the head of the events
    in the backup, however many a writer appends meanwhile; the restored trail carries on."""
    from sqlalchemy import Engine, event, func, select

    from storage.audit import verify_chain
    from storage.models import AuditEvent, AuditHead

    with postgres_database(prefix="sohoa_snapshot") as pg_url:
        db = open_database(pg_url)
        stop = threading.Event()
        written = [0]

        def writer() -> None:
            while not stop.is_set():
                record_event(db, actor="clerk", action="dossier.read", subject=f"dossier:{written[0]}")
                written[0] += 1

        def slow_head(conn, _cursor, statement, *_args) -> None:
            # The backup reads the head after the events: give the writer time to append more.
            if threading.current_thread() is main and conn.dialect.name == "postgresql" \
                    and "FROM audit_head" in statement:
                time.sleep(0.5)

        main = threading.current_thread()
        thread = threading.Thread(target=writer)
        thread.start()
        event.listen(Engine, "before_cursor_execute", slow_head)
        try:
            while written[0] < 20:
                time.sleep(0.05)
            before = written[0]
            report = backup(pg_url, f"file://{tmp_path / 'objects'}", tmp_path / "backup")
            assert written[0] > before + 5  # the writer went on during the backup
        finally:
            event.remove(Engine, "before_cursor_execute", slow_head)
            stop.set()
            thread.join()
            db.dispose()
    restored_url = f"sqlite:///{tmp_path / 'restored' / 'sohoa.db'}"
    from storage.backup import restore

    restore(tmp_path / "backup", restored_url, f"file://{tmp_path / 'restored' / 'objects'}")
    restored = open_database(restored_url)
    try:
        with restored.session() as session:
            events = session.scalar(select(func.count()).select_from(AuditEvent))
            head = session.get(AuditHead, 1)
            last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert events == report.manifest.audit_events >= 20
        assert (head.seq, head.last_hash) == (last.seq, last.hash)
        record_event(restored, actor="clerk", action="dossier.read", subject="after restore")
        chain = verify_chain(restored)
        assert chain.ok and chain.events == events + 1
    finally:
        restored.dispose()
