"""``sohoa store …`` and ``sohoa bench store`` building blocks, end to end through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.store import bench_objects, bench_reuse
from cli.main import main
from storage.db import Database
from storage.objects import ObjectStore


@pytest.fixture
def env(sqlite_db: Database, local_store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> ObjectStore:
    monkeypatch.setenv("SOHOA_DATABASE_URL", sqlite_db.url)
    monkeypatch.setenv("SOHOA_STORE_URL", local_store.url)
    return local_store


def test_store_put_get_url_verify(env: ObjectStore, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "đơn đề nghị.pdf"
    src.write_bytes(b"%PDF application form")
    assert main(["store", "put", str(src)]) == 0
    key = capsys.readouterr().out.split()[0]
    assert main(["store", "put", str(src)]) == 0
    assert "already stored" in capsys.readouterr().out
    assert main(["store", "get", key, "-o", str(tmp_path / "back.pdf")]) == 0
    assert (tmp_path / "back.pdf").read_bytes() == src.read_bytes()
    capsys.readouterr()
    assert main(["store", "url", key]) == 0
    assert capsys.readouterr().out.strip().startswith("file://")
    assert main(["store", "verify"]) == 0
    path = env.local_path(key)
    assert path is not None
    path.chmod(0o644)
    path.write_bytes(b"%PDF tampered form!!!")
    assert main(["store", "verify"]) == 1
    assert f"corrupt: {key}" in capsys.readouterr().err
    assert main(["store", "get", key, "-o", str(tmp_path / "bad.pdf")]) == 1
    assert main(["store", "get", "not-a-key", "-o", str(tmp_path / "x")]) == 2
    assert main(["db", "upgrade"]) == 0


def test_bench_building_blocks(sqlite_db: Database, local_store: ObjectStore, tmp_path: Path) -> None:
    objects = bench_objects(local_store, blobs=10, blob_kb=16, large_mb=1, tmp=tmp_path)
    assert objects["lost_blobs"] == 0 and objects["extra_blobs"] == 0
    assert objects["all_new_on_first_put"] and objects["all_existing_on_second_put"]
    reuse = bench_reuse(sqlite_db, documents=3000, lookups=50)
    assert reuse["index_used"] and reuse["hit_rate"] > 0
