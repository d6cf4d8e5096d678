"""The main job end to end on the committed sample dossier, through the real command line:
real Tesseract, OpenCV, pikepdf, the trained classifier, pyHanko signatures, the local object store
and SQLite records."""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from cli.main import main
from core.settings import load_settings
from signing.keys import trust_roots
from signing.verify import verify_pdf
from storage.db import open_database
from storage.objects import open_store
from storage.records import dossier_by_code

REPO = Path(__file__).resolve().parent.parent
DOSSIER = REPO / "samples" / "dossier"
TRUTH = json.loads((DOSSIER / "ho-so-mau.gt.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Process the sample dossier once for every test of this module (OCR is the slow part)."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    out_dir = tmp_path_factory.mktemp("e2e-out")
    inputs = [str(DOSSIER / name) for name in _input_files()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOHOA_DATA_DIR", str(data_dir))
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = main(["process", *inputs, "--dossier", "HS-E2E-0001", "--procedure", "1.001612",
                         "--out", str(out_dir), "--json"])
        assert code == 0
        settings = load_settings()
    return {"result": json.loads(buffer.getvalue()), "settings": settings, "out": out_dir, "data": data_dir}


def _input_files() -> list[str]:
    names: list[str] = []
    for doc in TRUTH["documents"]:
        if doc["file"] not in names:
            names.append(doc["file"])
    return names


def test_every_document_is_found_and_classified(processed: dict) -> None:
    found = [d["doc_type"] for d in processed["result"]["documents"]]
    assert found == [doc["doc_type"] for doc in TRUTH["documents"]]


def test_key_fields_are_read_right(processed: dict) -> None:
    for doc, truth in zip(processed["result"]["documents"], TRUTH["documents"], strict=True):
        for name in ("personal_id", "full_name", "date_of_birth", "enterprise_code", "husband_name"):
            if name in truth["fields"]:
                got = doc["fields"].get(name, {}).get("value")
                assert got == truth["fields"][name], (truth["doc_type"], name)


def test_each_certified_copy_verifies(processed: dict) -> None:
    roots = trust_roots(processed["settings"])
    documents = processed["result"]["documents"]
    assert documents
    for doc in documents:
        pdf = Path(doc["certified_path"]).read_bytes()
        report = verify_pdf(pdf, roots=roots, allow_fetching=False)
        assert report.status == "PASSED", (doc["doc_type"], report.to_dict())
        assert doc["certification_number"]


def test_each_stored_object_matches_its_hash(processed: dict) -> None:
    settings = processed["settings"]
    store = open_store(settings.resolved_store_url)
    keys = list(store.iter_keys())
    # originals (3 files) + per document a searchable PDF and a certified copy, at least
    assert len(keys) >= 3 + 2 * len(TRUTH["documents"])
    for key in keys:
        data = store.get_bytes(key)
        assert key.endswith(hashlib.sha256(data).hexdigest())


def test_records_link_the_dossier_to_its_documents(processed: dict) -> None:
    db = open_database(processed["settings"].resolved_database_url)
    dossier = dossier_by_code(db, "HS-E2E-0001")
    assert dossier is not None
    assert dossier.procedure_code == "1.001612"
    assert len(dossier.documents) == len(TRUTH["documents"])
    assert dossier.applicant_personal_id == TRUTH["applicant"]["personal_id"]


def test_processing_the_same_files_again_reuses_the_records(processed: dict, tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOHOA_DATA_DIR", str(processed["data"]))
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = main(["process", str(DOSSIER / "giay-chung-nhan-ket-hon.jpg"), "--dossier", "HS-E2E-0002",
                         "--json", "--no-certify"])
    assert code == 0
    again = json.loads(buffer.getvalue())["documents"]
    assert len(again) == 1
    assert again[0]["reused_from"] is not None


def test_the_signed_manifest_verifies_and_covers_every_stored_object(
    processed: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    out: Path = processed["out"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for doc in processed["result"]["documents"]:
        assert doc["certified_key"] in manifest["objects"]
        assert doc["pdf_key"] in manifest["objects"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOHOA_DATA_DIR", str(processed["data"]))
        capsys.readouterr()
        code = main(["verify", str(out / "manifest.json"), "--signature", str(out / "manifest.json.p7s")])
    assert code == 0, capsys.readouterr()


def test_verify_command_passes_a_certified_copy_and_matches_the_record(
    processed: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = processed["result"]["documents"][0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOHOA_DATA_DIR", str(processed["data"]))
        capsys.readouterr()
        code = main(["verify", doc["certified_path"], "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["status"] == "PASSED"
    assert report["record_match"] is True
