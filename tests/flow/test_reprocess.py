"""The same files processed again into the same dossier: the records already hold the answer."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.settings import Settings
from flow.run import process_paths
from signing.keys import load_certificates
from signing.verify import verify_pdf
from storage.objects import open_store

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dossier"


def _objects(settings: Settings) -> set[Path]:
    return {p for p in (settings.data_dir / "objects").rglob("*") if p.is_file()}


def test_second_run_stores_nothing_and_answers_with_the_first_results(tmp_path: Path) -> None:
    scan = tmp_path / "giay-chung-nhan-ket-hon.jpg"
    shutil.copy(SAMPLES / scan.name, scan)
    settings = Settings(data_dir=tmp_path / "data", workers=1)

    first = process_paths([scan], settings, dossier_code="HS-AGAIN-1", procedure_code="1.000894")
    stored = _objects(settings)
    again = process_paths([scan], settings, dossier_code="HS-AGAIN-1", procedure_code="1.000894")

    assert _objects(settings) == stored  # no new original, PDF, certified copy or manifest
    assert first.batch_id != again.batch_id  # the station's second hand-in is still on record
    (one,), (two,) = first.documents, again.documents
    assert one.document_id is not None and not one.already_recorded and two.already_recorded
    assert (two.document_id, two.pdf_key, two.certified_key, two.certification_number) == (
        one.document_id, one.pdf_key, one.certified_key, one.certification_number)
    assert again.manifest_key == first.manifest_key
    assert again.summary.dossier_status == first.summary.dossier_status


def _digitized_by(pdf: bytes, settings: Settings) -> list[str | None]:
    report = verify_pdf(pdf, roots=load_certificates(settings.data_dir / "pki" / "dev-root-ca.pem"))
    assert report.status == "PASSED", report.reasons
    return [s.official for s in report.signatures if s.role == "digitization"]


def test_another_dossier_gets_its_own_signed_scan_and_copy_of_the_same_paper(tmp_path: Path) -> None:
    """The same scan handed in to a second dossier, received there by another official: its
    reading and review are reused (the record names the first), but its searchable PDF is its
    own, signed by the official who received it (Circular 01/2023, Art. 8), and so is its copy."""
    scan = tmp_path / "giay-chung-nhan-ket-hon.jpg"
    shutil.copy(SAMPLES / scan.name, scan)
    settings = Settings(data_dir=tmp_path / "data", workers=1, digitizing_official="Nguyễn Văn An")
    elsewhere = settings.model_copy(update={"digitizing_official": "Trần Thị Bình"})

    first = process_paths([scan], settings, dossier_code="HS-PAPER-1")
    other = process_paths([scan], elsewhere, dossier_code="HS-PAPER-2")

    (one,), (two,) = first.documents, other.documents
    assert two.reused_from == one.document_id and two.fields == one.fields  # read and reviewed once
    assert two.pdf_key != one.pdf_key and two.pdf_sha256 != one.pdf_sha256
    store = open_store(settings.resolved_store_url)
    assert _digitized_by(store.get_bytes(one.pdf_key), settings) == ["Nguyễn Văn An"]
    assert _digitized_by(store.get_bytes(two.pdf_key), settings) == ["Trần Thị Bình"]
    assert _digitized_by(store.get_bytes(two.certified_key), settings) == ["Trần Thị Bình"]
    assert two.certified_key != one.certified_key  # the copy names its own dossier
    assert two.certification_number != one.certification_number
