"""Every scanned page is in the signed scan of its paper: a blank page is kept and marked, through
the whole flow (Circular 01/2023, Art. 7: the image count equals the paper's page count)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image

from core.settings import Settings
from flow.policy import BLANK_PAGES_FIELD, PAGE_FLAGS_FIELD
from flow.run import process_paths

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dossier"


def test_a_blank_back_side_is_signed_with_its_paper(tmp_path: Path) -> None:
    """A marriage certificate, the blank back of it (scanner noise on white), a business
    registration: two papers, three pages signed, the blank one named in its paper's record and no
    page left out."""
    marriage = tmp_path / "1-giay-chung-nhan-ket-hon.jpg"
    shutil.copy(SAMPLES / "giay-chung-nhan-ket-hon.jpg", marriage)
    business = tmp_path / "3-giay-chung-nhan-dang-ky-doanh-nghiep.png"
    shutil.copy(SAMPLES / "giay-chung-nhan-dang-ky-doanh-nghiep.png", business)
    back = tmp_path / "2-mat-sau.png"
    noise = np.random.default_rng(3).normal(247, 4, (3508, 2480)).clip(0, 255).astype(np.uint8)
    Image.fromarray(noise).save(back, dpi=(300, 300))
    settings = Settings(data_dir=tmp_path / "data", workers=1)

    result = process_paths([marriage, back, business], settings, dossier_code="HS-MAT-SAU-1", certify=False,
                           out_dir=tmp_path / "out")

    summary = result.summary
    assert [d.pages for d in summary.documents] == [
        (f"{marriage.name} p.1", f"{back.name} p.1"), (f"{business.name} p.1",)]
    first = summary.documents[0]
    assert first.fields[BLANK_PAGES_FIELD]["value"] == "p.2"
    assert BLANK_PAGES_FIELD not in first.needs_review and PAGE_FLAGS_FIELD not in first.fields
    assert BLANK_PAGES_FIELD not in summary.documents[1].fields
    signed = sorted((tmp_path / "out").glob("*.pdf"))
    assert len(signed) == 2
    page_counts = []
    for path in signed:
        with pikepdf.open(path) as pdf:
            assert "/AcroForm" in pdf.Root  # the digitizing official's signature
            page_counts.append(len(pdf.pages))
    assert page_counts == [2, 1]  # every scanned page, the blank one too
