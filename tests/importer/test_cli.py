"""``sohoa import`` at the command line: the closing table, the dry run, the former agency still
found, and bad input refused in one line (exit 2) with nothing written and no server path."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cli.main import main
from storage.db import open_database
from storage.objects import open_store
from tests.importer.deployments import add_dossier, add_reception, deployment, tiny_pdf

OLD = "UBND xã Tân Lập (tỉnh Bắc Giang)"
NEW = "UBND xã Tân Lập (tỉnh Bắc Ninh)"


@pytest.fixture
def source(tmp_path: Path, pki_dir: Path) -> tuple[str, str]:
    url, store_url = f"sqlite:///{tmp_path / 'src.db'}", f"file://{tmp_path / 'src-objects'}"
    db = open_database(url)
    dep = deployment(db, open_store(store_url), url, store_url, agency=OLD, pki=pki_dir)
    add_dossier(dep, "HS-BG-001", papers=("căn cước", "tờ khai"))
    add_dossier(dep, "HS-BG-002", papers=("giấy khai sinh",))
    db.dispose()
    return url, store_url


def test_the_closing_table_and_a_dry_run_first(source, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SOHOA_DATABASE_URL", f"sqlite:///{tmp_path / 'here.db'}")
    monkeypatch.setenv("SOHOA_STORE_URL", f"file://{tmp_path / 'here-objects'}")
    agency_map = tmp_path / "map.json"
    agency_map.write_text(json.dumps({"agencies": {OLD: NEW}}, ensure_ascii=False), encoding="utf-8")
    args = ["import", "--from-database", source[0], "--from-store", source[1], "--agency-map", str(agency_map)]

    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing was written" in out
    assert out.splitlines()[1].split()[:2] == ["dossiers", "2"]  # would copy 2
    assert not list(open_store(f"file://{tmp_path / 'here-objects'}").iter_keys())

    assert main(args) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    for column in ("copied", "already present", "merged", "conflicts", "refused"):
        assert column in header
    assert out.splitlines()[2].split()[:2] == ["documents", "3"]
    rows = {line[:18].strip() for line in out.splitlines()[1:]}
    assert {"result codes", "procedure results", "components", "learned words", "stations", "batches", "originals",
            "audit events"} <= rows
    assert "records in" in out

    assert main(["import", "--former-agency", OLD]) == 0
    assert capsys.readouterr().out.split() == ["HS-BG-001", "HS-BG-002"]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--from-database", "sqlite:///{tmp}/none.db", "--from-store", "file://{tmp}/src-objects"],
         "source database not found: none.db"),
        (["--from-database", "sqlite:///{tmp}/other.db", "--from-store", "file://{tmp}/src-objects"],
         "is not a sohoa records database"),
        (["--from-database", "{src}", "--from-store", "file://{tmp}/missing"], "source object store not found"),
        (["--from-database", "{src}"], "--from-store"),
        (["--from-database", "{src}", "--from-store", "file://{tmp}/src-objects", "--agency-map", "{tmp}/bad.json"],
         "agency map bad.json"),
    ],
)
def test_bad_input_is_one_line(source, tmp_path: Path, monkeypatch, capsys, extra: list[str], says: str) -> None:
    here = tmp_path / "here.db"
    monkeypatch.setenv("SOHOA_DATABASE_URL", f"sqlite:///{here}")
    (tmp_path / "bad.json").write_text('["not", "a", "map"]', encoding="utf-8")
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE dossiers (id INTEGER PRIMARY KEY)")
    args = [a.format(tmp=tmp_path, src=source[0]) for a in extra]
    assert main(["import", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err, err
    assert "Traceback" not in err and str(tmp_path / "missing") not in err
    assert not here.exists()  # nothing created here for a refused import


def test_a_batch_in_a_status_sohoa_does_not_know_is_refused_alone(tmp_path: Path, pki_dir: Path, monkeypatch,
                                                                   capsys) -> None:
    """A source batch whose status this version does not know (a database edited by hand, a later
    version's state) is refused in one line of the closing report; its dossier and the other
    batch come in, and the import exits 1, not with an internal error."""
    url, store_url = f"sqlite:///{tmp_path / 'src.db'}", f"file://{tmp_path / 'src-objects'}"
    db = open_database(url)
    dep = deployment(db, open_store(store_url), url, store_url, agency=OLD, pki=pki_dir)
    add_dossier(dep, "HS-BG-003", papers=("căn cước",))
    kept = add_reception(dep, "HS-BG-003", tiny_pdf("tờ khai lần một"))
    odd = add_reception(dep, "HS-BG-003", tiny_pdf("tờ khai lần hai"))
    db.dispose()
    with sqlite3.connect(tmp_path / "src.db") as src:
        src.execute("UPDATE batches SET status = 'paused' WHERE id = ?", (odd,))
        public = dict(src.execute("SELECT id, public_id FROM batches").fetchall())
    monkeypatch.setenv("SOHOA_DATABASE_URL", f"sqlite:///{tmp_path / 'here.db'}")
    monkeypatch.setenv("SOHOA_STORE_URL", f"file://{tmp_path / 'here-objects'}")

    assert main(["import", "--from-database", url, "--from-store", store_url, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["kinds"]["batch"]["copied"] == 1 and report["kinds"]["batch"]["refused"] == 1
    assert report["kinds"]["dossier"]["copied"] == 1
    assert [p["detail"] for p in report["problems"] if p["kind"] == "batch"] == [
        f"batch {public[odd]}: its status 'paused' is not one sohoa knows: left out"]
    with sqlite3.connect(tmp_path / "here.db") as here:
        assert here.execute("SELECT public_id FROM batches").fetchall() == [(public[kept],)]
