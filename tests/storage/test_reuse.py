"""Reuse look-ups by personal ID and type, the ``sohoa reuse`` command and the portal export."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cli.main import main
from core.errors import InputError
from storage.archive import archive_document, set_review
from storage.db import Database
from storage.export import export_dossier
from storage.objects import ObjectStore
from storage.reuse import find_reusable
from tests.storage.builders import make_certified, make_document, make_dossier

PID = "001090012345"


def _archive(db, store, seed, *, code, certify=False, **kw):
    doc = make_document(seed, **kw)
    return archive_document(
        db,
        store,
        dossier=make_dossier(code),
        document=doc,
        batch_id=None,
        source_keys=[],
        certified=make_certified(doc, f"CT-{seed:04d}/2026") if certify else None,
        actor="t",
    )


def test_latest_valid_result_per_type(db: Database, local_store: ObjectStore) -> None:
    old = _archive(db, local_store, 10, code="HS-1", doc_type="birth_certificate")
    time.sleep(0.01)
    new = _archive(db, local_store, 11, code="HS-2", doc_type="birth_certificate", certify=True)
    time.sleep(0.01)
    _archive(db, local_store, 12, code="HS-3", doc_type="birth_certificate", needs_review=True)
    cccd = _archive(db, local_store, 13, code="HS-3", doc_type="cccd")
    _archive(db, local_store, 14, code="HS-4", doc_type="cccd", personal_id="079200001234")

    (birth,) = find_reusable(db, PID, "birth_certificate")
    assert birth.document_id == new.document_id and birth.certified is not None
    assert birth.certified.certification_number == "CT-0011/2026" and birth.dossier_code == "HS-2"
    results = find_reusable(db, PID)
    assert [r.doc_type for r in results] == ["cccd", "birth_certificate"]
    assert results[0].document_id == cccd.document_id
    assert find_reusable(db, PID, "land_use_certificate") == []
    assert old.document_id not in {r.document_id for r in results}


def test_reviewed_result_becomes_reusable(db: Database, local_store: ObjectStore) -> None:
    pending = _archive(db, local_store, 20, code="HS-R", doc_type="cccd", needs_review=True)
    assert find_reusable(db, PID) == []
    set_review(db, pending.document_id, state="reviewed", actor="cán bộ", fields={"personal_id": PID})
    (result,) = find_reusable(db, PID)
    assert result.document_id == pending.document_id and result.review_state == "reviewed"


def test_reused_document_is_found_with_its_original(db: Database, local_store: ObjectStore) -> None:
    first = _archive(db, local_store, 30, code="HS-O", certify=True)
    again = _archive(db, local_store, 30, code="HS-P")
    assert again.reused_from == first.document_id
    (result,) = find_reusable(db, PID, "cccd")
    assert result.original_id == first.document_id
    assert result.certified is not None  # the original's certified copy serves the reused record


def test_bad_personal_id() -> None:
    with pytest.raises(InputError):
        find_reusable(None, "12345")  # type: ignore[arg-type]


def test_cli_reuse_json(
    sqlite_db: Database,
    local_store: ObjectStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setenv("SOHOA_DATABASE_URL", sqlite_db.url)
    monkeypatch.setenv("SOHOA_STORE_URL", local_store.url)
    _archive(sqlite_db, local_store, 40, code="HS-J", doc_type="cccd", certify=True)
    assert main(["reuse", "--personal-id", PID, "--type", "cccd", "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["doc_type"] == "cccd" and item["fields"]["full_name"] == "NGUYỄN VĂN AN"
    assert item["certified"]["certification_number"] == "CT-0040/2026"
    assert main(["reuse", "--personal-id", PID]) == 0
    assert "HS-J" in capsys.readouterr().out
    assert main(["reuse", "--personal-id", "abc"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_export_uses_portal_field_names(db: Database, store: ObjectStore) -> None:
    _archive(db, store, 50, code="HS-E1", certify=True)
    certified = _archive(db, store, 51, code="HS-E2", doc_type="birth_certificate", certify=True)
    reused = _archive(db, store, 50, code="HS-E2")
    data = export_dossier(db, store, "HS-E2")
    assert data["MaHoSo"] == "HS-E2" and data["MaTTHC"] == "1.000001"
    assert data["DuocSoHoa"] == 1 and data["DuocTaiSuDung"] == 1
    first, second = data["DanhSachGiayToKetQua"]
    assert first["MaGiayToKetQua"] == "CT-0051/2026" and first["DuocTaiSuDung"] == 0
    assert second["DuocTaiSuDung"] == 1 and second["TenGiayTo"] == "Căn cước công dân"
    assert (
        certified.certified_key in first["DuongDanTepTinKetQua"]
        or first["DuongDanTepTinKetQua"].startswith("file://")
        and first["DuongDanTepTinKetQua"].endswith(certified.certified_key)
    )
    assert reused.reused_from is not None
    with pytest.raises(InputError):
        export_dossier(db, store, "HS-none")


def test_cli_export(
    sqlite_db: Database, local_store: ObjectStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOHOA_DATABASE_URL", sqlite_db.url)
    monkeypatch.setenv("SOHOA_STORE_URL", local_store.url)
    _archive(sqlite_db, local_store, 60, code="HS-Đ1")
    out = tmp_path / "hs.json"
    assert main(["export", "HS-Đ1", "-o", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) >= {"MaHoSo", "MaTTHC", "DuocSoHoa", "DuocTaiSuDung", "DanhSachGiayToKetQua"}
    assert set(data["DanhSachGiayToKetQua"][0]) >= {
        "MaGiayToKetQua",
        "DuongDanTepTinKetQua",
        "DuocSoHoa",
        "DuocTaiSuDung",
    }
    assert main(["export", "HS-none"]) == 2
