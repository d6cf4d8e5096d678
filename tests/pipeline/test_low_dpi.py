"""Pages scanned at 150 and 200 dpi are enlarged to about 300 dpi for Tesseract and read as well
as the same page at 300 dpi; word boxes still land on the scan as it was."""

from __future__ import annotations

import numpy as np
import pytest

from bench.ocr import cer
from pipeline.cleanup import clean_page, working_scale
from pipeline.pagework import process_page
from samples.damage import Damage


@pytest.mark.parametrize("dpi", [150, 200])
def test_low_dpi_scan_is_enlarged_and_read_as_well_as_at_300(dpi: int, make_page) -> None:
    damage = Damage(skew_deg=1.5, lighting=0.3, blur_sigma=0.5, noise_std=3.0, jpeg_quality=80)
    low, truth = make_page(31, damage, lines=4, dpi=dpi)
    assert working_scale(*low.image.shape[:2], dpi) == pytest.approx(300 / dpi)
    cleaned = clean_page(low)
    assert cleaned.ocr_image is not None
    assert cleaned.ocr_image.shape[1] >= 300 / dpi * low.image.shape[1] - 4  # at least 300 dpi for OCR
    read = process_page(low)
    assert cer(read.text, truth) <= 0.01, read.text
    # The boxes are in the scan's own pixels: each word's box lies on the page and holds ink.
    grey = low.image.mean(axis=2) if low.image.ndim == 3 else low.image
    h, w = grey.shape
    for word in read.words:
        box = word.box
        assert 0 <= box.left and box.left + box.width <= w + 2 and 0 <= box.top and box.top + box.height <= h + 2
        assert np.min(grey[box.top:box.top + box.height, box.left:box.left + box.width]) < 128, word.text
