"""The same files processed again into the same dossier: the records already hold the answer."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.settings import Settings
from flow.run import process_paths

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


def test_another_dossier_gets_its_own_certified_copy_of_the_same_paper(tmp_path: Path) -> None:
    scan = tmp_path / "giay-chung-nhan-ket-hon.jpg"
    shutil.copy(SAMPLES / scan.name, scan)
    settings = Settings(data_dir=tmp_path / "data", workers=1)

    first = process_paths([scan], settings, dossier_code="HS-PAPER-1")
    other = process_paths([scan], settings, dossier_code="HS-PAPER-2")

    (one,), (two,) = first.documents, other.documents
    assert two.reused_from == one.document_id and two.pdf_key == one.pdf_key  # digitized once
    assert two.certified_key != one.certified_key  # the copy names its own dossier
    assert two.certification_number != one.certification_number
