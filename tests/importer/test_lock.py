"""Two imports of the same source at once, as two real processes: the second is turned away in one
line with exit 2 while the first goes on and finishes; on PostgreSQL (an advisory lock) and on
SQLite (a lock file the kernel drops with its process)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.db import open_database
from storage.objects import open_store
from tests.importer.deployments import add_dossier, deployment
from tests.support.servers import postgres_database

AGENCY = "UBND xã Vĩnh Trạch (tỉnh Bạc Liêu)"


def _imported(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM import_sources")).scalar() or 0)
    except Exception:  # noqa: BLE001 - not created yet by the run being watched
        return 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_second_import_of_the_same_source_is_turned_away(tmp_path: Path, pki_dir: Path, backend: str) -> None:
    src_url, src_store = f"sqlite:///{tmp_path / 'src.db'}", f"file://{tmp_path / 'src-objects'}"
    src_db = open_database(src_url)
    src = deployment(src_db, open_store(src_store), src_url, src_store, agency=AGENCY, pki=pki_dir)
    for i in range(1, 5):
        add_dossier(src, f"HS-VT-00{i}", papers=(f"giấy {i}",))
    src_db.dispose()

    sqlite = contextlib.nullcontext(f"sqlite:///{tmp_path / 'here.db'}")
    with postgres_database(prefix="sohoa_lock") if backend == "postgresql" else sqlite as url:
        open_database(url).dispose()  # migrated before the race, as a deployment in service is
        env = {**os.environ, "SOHOA_DATABASE_URL": url, "SOHOA_STORE_URL": f"file://{tmp_path / 'objects'}",
               "SOHOA_TEST_IMPORT_PAUSE": "0.3"}
        command = [sys.executable, "-m", "cli.main", "import", "--from-database", src_url, "--from-store", src_store,
                   "--batch-size", "1"]
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while _imported(url) < 1:  # the first has begun
                assert first.poll() is None, first.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)
            second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        finally:
            out, err = first.communicate(timeout=300)
        assert second.returncode == 2, second.stdout + second.stderr
        assert second.stderr.strip() == (
            "sohoa: error: another import of this source into this deployment is running: "
            "wait for it to end, then run again")
        assert second.stdout == ""
        assert first.returncode == 0, out + err
        assert out.splitlines()[1].split()[:2] == ["dossiers", "4"]
        # (That the lock goes with its process, SIGKILL included, is the resume test's: every run
        # again there follows a killed one.)
