"""Conflicts kept until settled: the import exits 1 and names them, ``sohoa import --conflicts``
lists them, and once an admin has settled them here (the dossier's applicant typed wrong at
reception corrected, the former province's counter given a code of its own in the agency map)
``sohoa import --retry-conflicts`` takes the records behind them and those left out with them (the
dossier's batch, its signed original, its place), and exits 0."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, update

from cli.main import main
from storage.audit import verify_chain
from storage.components import DossierPlace
from storage.db import open_database
from storage.models import AuditEvent, Batch, Dossier, SourceFile, Station
from storage.objects import open_store
from storage.records import dossier_by_code
from tests.importer.deployments import add_dossier, add_place, add_reception, deployment, tiny_pdf

OLD = "UBND phường Bạc Liêu (tỉnh Bạc Liêu)"
NEW = "UBND phường Bạc Liêu (tỉnh Cà Mau)"
APPLICANT, TYPO = "001090012345", "001090012354"


def test_conflicts_listed_settled_and_retried(tmp_path: Path, pki_dir: Path, monkeypatch, capsys) -> None:
    src_url, src_store = f"sqlite:///{tmp_path / 'src.db'}", f"file://{tmp_path / 'src-objects'}"
    src_db = open_database(src_url)
    src = deployment(src_db, open_store(src_store), src_url, src_store, agency=OLD, pki=pki_dir)
    add_dossier(src, "HS-BL-001", applicant=APPLICANT, papers=("căn cước",), certify=True)
    add_dossier(src, "HS-BL-002", applicant=APPLICANT, papers=("tờ khai",))
    add_reception(src, "HS-BL-001", src.store.get_bytes(src.copies["HS-BL-001"]))
    add_place(src, "HS-BL-001", "96001", "Phường Bạc Liêu")
    with src_db.transaction() as s:
        s.execute(update(Station).values(name="Quầy 1, phường Bạc Liêu"))
    src_db.dispose()

    url, store_url = f"sqlite:///{tmp_path / 'here.db'}", f"file://{tmp_path / 'here-objects'}"
    db = open_database(url)
    here = deployment(db, open_store(store_url), url, store_url, agency=NEW, pki=pki_dir)
    # The same dossier was received here too, its applicant's ID typed with two digits swapped, at a
    # counter of this province that has the same code.
    add_dossier(here, "HS-BL-001", applicant=TYPO, papers=("căn cước",))
    add_reception(here, "HS-BL-001", tiny_pdf("another upload"))
    with db.transaction() as s:
        s.execute(update(Station).values(name="Quầy 1, phường Tân Thành"))
    monkeypatch.setenv("SOHOA_DATABASE_URL", url)
    monkeypatch.setenv("SOHOA_STORE_URL", store_url)
    agency_map = tmp_path / "map.json"
    agency_map.write_text(json.dumps({OLD: NEW}, ensure_ascii=False), encoding="utf-8")
    source = ["--from-database", src_url, "--from-store", src_store]

    assert main(["import", *source, "--agency-map", str(agency_map), "--json"]) == 1
    first = json.loads(capsys.readouterr().out)
    assert first["kinds"]["dossier"]["conflicts"] == 1 and first["kinds"]["dossier"]["copied"] == 1
    assert first["kinds"]["station"]["conflicts"] == 1
    # Left out with them: the dossier's place, the upload at that counter and its original.
    assert first["kinds"]["place"]["conflicts"] == 1
    assert first["kinds"]["batch"]["conflicts"] == 1 and first["kinds"]["source_file"]["conflicts"] == 1
    assert first["kinds"]["register"]["conflicts"] == 1  # the number of the dossier's certified copy

    assert main(["import", "--conflicts"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 6 and "6 conflicts" in err
    assert all(line.startswith(f"{src_url} + {src_store}\t") for line in lines)
    assert any("dossier HS-BL-001 is already here with a different applicant" in line for line in lines)
    assert any("station QUAY-01 is already here as another station" in line for line in lines)
    assert main(["import", "--conflicts", *source, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 6

    # Retried before anything is settled (without the map: the one given before is used): the same
    # conflicts, still exit 1, nothing taken.
    assert main(["import", *source, "--retry-conflicts", "--json"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert again["retried"] == 6 and sum(k["conflicts"] for k in again["kinds"].values()) == 6
    assert any(p["detail"].endswith("with a different applicant: left as it is") for p in again["problems"])

    # Settled: the applicant corrected here, the former counter given its own code.
    with db.transaction() as s:
        s.execute(update(Dossier).where(Dossier.code == "HS-BL-001").values(applicant_personal_id=APPLICANT))
    agency_map.write_text(json.dumps({OLD: NEW, "QUAY-01": "BL-QUAY-01"}, ensure_ascii=False), encoding="utf-8")
    assert main(["import", *source, "--agency-map", str(agency_map), "--retry-conflicts", "--json"]) == 0
    settled = json.loads(capsys.readouterr().out)
    assert sum(k["conflicts"] for k in settled["kinds"].values()) == 0
    assert settled["kinds"]["dossier"]["merged"] == 1 and settled["kinds"]["station"]["copied"] == 1
    assert settled["kinds"]["batch"]["copied"] == 1 and settled["kinds"]["source_file"]["copied"] == 1
    assert settled["kinds"]["place"]["copied"] == 1 and settled["kinds"]["register"]["copied"] == 1
    assert settled["kinds"]["copy"]["copied"] == 1

    assert main(["import", "--conflicts"]) == 0
    assert capsys.readouterr().out == ""
    try:
        with db.session() as s:
            assert sorted(s.execute(select(Station.code, Station.name)).all()) == [
                ("BL-QUAY-01", "Quầy 1, phường Bạc Liêu"), ("QUAY-01", "Quầy 1, phường Tân Thành")]
            dossier_id = s.scalar(select(Dossier.id).where(Dossier.code == "HS-BL-001"))
            assert s.get(DossierPlace, dossier_id).commune_code == "96001"
            imported = s.scalar(select(Batch).join(Station).where(Station.code == "BL-QUAY-01"))
            assert imported.dossier_id == dossier_id
            assert s.scalar(select(SourceFile.sha256).where(SourceFile.batch_id == imported.id))
            retried = s.scalars(select(AuditEvent.details).where(AuditEvent.action == "import.conflicts_retried")).all()
            assert len(retried) == 2 and retried[-1]["conflicts"]["dossier"] == 1
        # The dossier view lists the signed original the former province received.
        view = dossier_by_code(db, "HS-BL-001")
        assert [o.status for o in view.signed_originals] and view.signed_originals[0].sha256
        assert verify_chain(db).ok
        # Run again as usual: nothing left to weigh, exit 0.
        assert main(["import", *source, "--agency-map", str(agency_map)]) == 0
    finally:
        db.dispose()


def test_a_conflict_not_settled_stays_after_a_retry(tmp_path: Path, pki_dir: Path, monkeypatch, capsys) -> None:
    """A copy number its register here gave other bytes cannot be settled by a retry (the signed
    bytes carry the number): retried, it is weighed again and still reported, never dropped."""
    src_url, src_store = f"sqlite:///{tmp_path / 'src.db'}", f"file://{tmp_path / 'src-objects'}"
    src_db = open_database(src_url)
    add_dossier(deployment(src_db, open_store(src_store), src_url, src_store, agency=OLD, pki=pki_dir),
                "HS-BL-001", papers=("căn cước",), certify=True)
    src_db.dispose()
    url, store_url = f"sqlite:///{tmp_path / 'here.db'}", f"file://{tmp_path / 'here-objects'}"
    db = open_database(url)
    try:  # the same register's number 1, given here to another paper
        add_dossier(deployment(db, open_store(store_url), url, store_url, agency=OLD, pki=pki_dir),
                    "HS-BL-900", papers=("giấy khác",), certify=True)
    finally:
        db.dispose()
    monkeypatch.setenv("SOHOA_DATABASE_URL", url)
    monkeypatch.setenv("SOHOA_STORE_URL", store_url)
    source = ["import", "--from-database", src_url, "--from-store", src_store, "--json"]
    for args in (source, [*source, "--retry-conflicts"]):
        assert main(args) == 1
        kinds = json.loads(capsys.readouterr().out)["kinds"]
        assert (kinds["copy"]["conflicts"], kinds["register"]["conflicts"], kinds["dossier"]["copied"]) == (
            1, 1, 1 if args is source else 0)
        assert main(["import", "--conflicts", "--json"]) == 0
        assert sorted(c["kind"] for c in json.loads(capsys.readouterr().out)) == ["copy", "register"]
