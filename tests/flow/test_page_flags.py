"""A page the page work could not vouch for sends its document to review, through the whole flow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.model import DossierStatus, ReviewState
from core.settings import Settings
from flow.policy import PAGE_FLAGS_FIELD
from flow.run import process_paths
from storage.records import document_by_id

RESOURCES = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "ocrmypdf-resources"
RULES_PAGE = RESOURCES / "truetype_font_nomapping.pdf"


@pytest.mark.skipif(not RULES_PAGE.is_file(), reason="shared test data missing")
def test_a_scan_whose_turn_nothing_decides_goes_to_review_with_its_flag(tmp_path: Path) -> None:
    """A scan of a page of rules and one word: neither its marks nor a reading tell which way is
    up. It must not be filed quietly (as ``other``, no field): the document needs review, the
    flag is in its fields, the records and the dossier status."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(RULES_PAGE))
    try:
        image = np.asarray(pdf[0].render(scale=300 / 72).to_pil().convert("L"))
    finally:
        pdf.close()
    scan = tmp_path / "scan.png"
    Image.fromarray(image).save(scan, dpi=(300, 300))
    settings = Settings(data_dir=tmp_path / "data", workers=1)

    result = process_paths([scan], settings, dossier_code="HS-FLAGGED-1", certify=False)

    (document,) = result.summary.documents
    flagged = document.fields[PAGE_FLAGS_FIELD]
    assert flagged["needs_review"] is True and "p.1 orientation_uncertain" in str(flagged["value"])
    assert PAGE_FLAGS_FIELD in document.needs_review
    assert document.review_state == ReviewState.NEEDS_REVIEW
    assert result.summary.dossier_status is DossierStatus.NEEDS_REVIEW
    from storage.db import open_database

    db = open_database(settings.resolved_database_url)
    try:
        record = document_by_id(db, document.document_id)
    finally:
        db.dispose()
    assert record is not None and record.review_state == ReviewState.NEEDS_REVIEW
