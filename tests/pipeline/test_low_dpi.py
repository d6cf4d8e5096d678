"""Pages scanned at 150 and 200 dpi: under 200 dpi clean-up enlarges them to about 300 dpi for
Tesseract; at 200 they are read as they are (enlarged they read no better: ``python -m bench.photos
dpi``). Both read within 1% CER, and word boxes still land on the scan as it was."""

from __future__ import annotations

import numpy as np
import pytest

from bench.ocr import cer
from pipeline.cleanup import clean_page
from pipeline.pagework import process_page
from samples.damage import Damage


@pytest.mark.parametrize(("dpi", "enlarged"), [(150, 2.0), (200, 1.0)])
def test_low_dpi_scan_is_read_and_its_boxes_land_on_its_ink(dpi: int, enlarged: float, make_page) -> None:
    damage = Damage(skew_deg=1.5, lighting=0.3, blur_sigma=0.5, noise_std=3.0, jpeg_quality=80)
    low, truth = make_page(31, damage, lines=4, dpi=dpi)
    cleaned = clean_page(low)
    assert cleaned.ocr_image is not None
    # The OCR image is the scan at the working scale, grown only by the deskew's canvas.
    assert cleaned.ocr_image.shape[1] == pytest.approx(enlarged * low.image.shape[1], rel=0.05)
    read = process_page(low)
    assert cer(read.text, truth) <= 0.01, read.text
    # The boxes are in the scan's own pixels: each word's box lies on the page and holds ink.
    grey = low.image.mean(axis=2) if low.image.ndim == 3 else low.image
    h, w = grey.shape
    assert read.words
    for word in read.words:
        box = word.box
        assert 0 <= box.left and box.left + box.width <= w + 2 and 0 <= box.top and box.top + box.height <= h + 2
        assert np.min(grey[box.top:box.top + box.height, box.left:box.left + box.width]) < 128, word.text
