"""Crash safety: a process killed between writing blobs and committing their records leaves only
unreferenced blobs, which ``sohoa store gc`` removes; nothing recorded is ever lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.main import main
from storage.audit import verify_chain
from storage.db import Database
from storage.gc import collect_garbage
from storage.models import Document
from storage.objects import ObjectStore, open_store
from storage.records import referenced_keys

REPO = Path(__file__).resolve().parents[2]

# The child archives one document normally, then another whose commit it never reaches: the
# engine's "commit" event (fired before the COMMIT is sent) announces it and waits to be killed.
CHILD = textwrap.dedent("""
    import sys, time
    from sqlalchemy import event
    from storage.db import open_database
    from storage.objects import open_store
    from storage.archive import archive_document
    from tests.storage.builders import make_certified, make_document, make_dossier

    db, store = open_database(sys.argv[1]), open_store(sys.argv[2])
    done = archive_document(db, store, dossier=make_dossier("HS-OK"), document=make_document(1), batch_id=None,
                            source_keys=[], certified=None, actor="t")
    print("DONE", done.pdf_key, flush=True)

    def hang(conn):
        print("COMMITTING", flush=True)
        time.sleep(120)

    event.listen(db.engine, "commit", hang)
    doc = make_document(2)
    archive_document(db, store, dossier=make_dossier("HS-KILLED"), document=doc, batch_id=None, source_keys=[],
                     certified=make_certified(doc), actor="t")
    print("NOT KILLED", flush=True)
""")

LOOP = textwrap.dedent("""
    import sys
    from storage.db import open_database
    from storage.objects import open_store
    from storage.archive import archive_document
    from tests.storage.builders import make_certified, make_document, make_dossier

    db, store = open_database(sys.argv[1]), open_store(sys.argv[2])
    for i in range(1000):
        doc = make_document(100 + i)
        archive_document(db, store, dossier=make_dossier(f"HS-{i % 7}"), document=doc, batch_id=None,
                         source_keys=[], certified=make_certified(doc, f"CT-{i}") if i % 2 else None, actor="t")
        print(i, flush=True)
""")


def _run_child(script: str, db: Database, store_url: str, until: str) -> list[str]:
    """Run ``script`` in a new process and SIGKILL it once it prints a line starting with ``until``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, db.url, store_url],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith(until):
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    return lines


@pytest.fixture(params=[("sqlite", "local"), ("postgresql", "s3")], ids=["sqlite-local", "postgresql-s3"])
def crash_setup(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Database, str]:
    """A database and a store URL (credentials included, so the child can open it too): the embedded
    pair and the production pair."""
    db_kind, store_kind = request.param
    db = request.getfixturevalue("sqlite_db" if db_kind == "sqlite" else "pg_db")
    if store_kind == "local":
        return db, f"file://{tmp_path / 'objects'}"
    return db, request.getfixturevalue("s3_endpoint").store_url(f"crash-{os.urandom(4).hex()}")


def _documents(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Document))


def test_kill_between_blobs_and_records(crash_setup: tuple[Database, str], monkeypatch, capsys) -> None:
    db, crash_store_url = crash_setup
    crash_store = open_store(crash_store_url)
    lines = _run_child(CHILD, db, crash_store_url, until="COMMITTING")
    assert lines[-1] == "COMMITTING" and "NOT KILLED" not in lines
    assert _documents(db) == 1
    keep = referenced_keys(db)
    stored = set(crash_store.iter_keys())
    assert keep < stored  # nothing referenced is missing; the killed document's blobs are orphans
    orphans = stored - keep
    assert len(orphans) == 2  # its PDF and its certified copy
    assert verify_chain(db).ok

    monkeypatch.setenv("SOHOA_DATABASE_URL", db.url)
    monkeypatch.setenv("SOHOA_STORE_URL", crash_store_url)
    assert main(["store", "gc", "--min-age", "0"]) == 0
    assert "removed 2 unreferenced" in capsys.readouterr().out
    assert set(crash_store.iter_keys()) == keep
    for key in keep:
        crash_store.get_bytes(key)


def test_kill_at_random_points_loses_nothing(sqlite_db: Database, local_store: ObjectStore) -> None:
    for stop_after in ("17",):
        _run_child(LOOP, sqlite_db, local_store.url, until=stop_after)
        keep = referenced_keys(sqlite_db)
        assert keep <= set(local_store.iter_keys()), "a record points at a missing blob"
        assert verify_chain(sqlite_db).ok
    report = collect_garbage(sqlite_db, local_store, min_age=timedelta(0))
    assert set(local_store.iter_keys()) == referenced_keys(sqlite_db)
    assert len(report.removed) <= 2  # at most the blobs of the document in flight


def test_gc_spares_young_blobs(sqlite_db: Database, local_store: ObjectStore) -> None:
    obj = local_store.put_bytes(b"just written, record not yet committed")
    report = collect_garbage(sqlite_db, local_store)
    assert report.removed == () and report.spared_young == 1 and local_store.exists(obj.key)
    dry = collect_garbage(sqlite_db, local_store, min_age=timedelta(0), dry_run=True)
    assert dry.removed == (obj.key,) and local_store.exists(obj.key)


def test_gc_removes_temp_files_left_by_a_crash_mid_write(
    sqlite_db: Database, local_store: ObjectStore
) -> None:
    kept = local_store.put_bytes(b"complete blob")
    path = local_store.local_path(kept.key)
    assert path is not None
    leftover = path.parent / ".tmp-crashed"
    leftover.write_bytes(b"half a blo")
    os.utime(leftover, (0, 0))
    report = collect_garbage(sqlite_db, local_store, min_age=timedelta(minutes=5))
    assert not leftover.exists() and local_store.exists(kept.key)
    assert report.removed == () and report.spared_young == 1
