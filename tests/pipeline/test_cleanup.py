"""Clean-up: upright by lossless quarter turns, deskew, flattening, borders, blank pages, scale."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.cleanup import binarize, clean_page, flatten, ocr_to_image, to_grey, turn, working_scale
from pipeline.ingest import read_source
from pipeline.model import Page
from pipeline.ocr_bench import Damage


@pytest.mark.parametrize(("rotation", "skew"), [(0, 2.3), (90, -1.7), (180, 0.6), (270, -3.4)])
def test_orientation_and_skew_are_found(rotation: int, skew: float, make_page) -> None:
    damage = Damage(rotation=rotation, skew_deg=skew, light=0.5, blur=0.8, noise=8, jpeg_quality=70)
    page, _ = make_page(3, damage, lines=6)
    cleaned = clean_page(page)
    assert cleaned.rotation == (360 - rotation) % 360
    assert cleaned.skew_angle == pytest.approx(-skew, abs=0.3)
    # The displayed image is the original turned losslessly, nothing else.
    assert np.array_equal(cleaned.image, turn(page.image, cleaned.rotation))
    assert not cleaned.blank and cleaned.ocr_image is not None
    # The OCR image is flattened grey: paper pushed to white, ink left dark.
    assert np.mean(cleaned.ocr_image == 255) > 0.8 and cleaned.ocr_image.min() < 100


def test_uneven_light_is_flattened_and_diacritics_survive(make_page) -> None:
    page, _ = make_page(4, Damage(light=0.6, noise=6))
    clean_ref, _ = make_page(4)
    flat = flatten(to_grey(page.image))
    ink = binarize(flat) == 0
    ref = binarize(to_grey(clean_ref.image)) == 0
    # Ink where the clean page has ink (dots and tone marks included), paper elsewhere.
    assert np.mean(ink == ref) > 0.98
    assert np.sum(ink & ref) > 0.9 * np.sum(ref)
    ocr = clean_page(page).ocr_image
    assert ocr is not None
    corners = [ocr[:50, :50].mean(), ocr[-50:, -50:].mean(), ocr[:50, -50:].mean(), ocr[-50:, :50].mean()]
    assert min(corners) > 245


def test_black_scanner_border_is_removed(make_page) -> None:
    page, _ = make_page(5, Damage(border=True))
    ocr = clean_page(page).ocr_image
    assert ocr is not None
    assert ocr[:, :10].min() >= 200 and ocr[:10, :].min() >= 200


def test_blank_pages_are_flagged(resources: Path, make_page) -> None:
    noisy = np.clip(np.random.default_rng(1).normal(235, 6, (1200, 900)), 0, 255).astype(np.uint8)
    page = Page(source="blank.png", source_sha256="", index=0, image=noisy, dpi=300)
    assert clean_page(page).blank
    [pdf_blank] = read_source(resources / "blank.pdf")
    assert clean_page(pdf_blank).blank
    text, _ = make_page(6, lines=1)
    assert not clean_page(text).blank


def test_low_resolution_is_upsampled_and_boxes_map_back(make_page) -> None:
    page, _ = make_page(7, lines=2, dpi=150)
    cleaned = clean_page(page)
    assert cleaned.ocr_image is not None
    assert cleaned.ocr_image.shape[1] == pytest.approx(2 * page.image.shape[1], abs=4)
    assert working_scale(*page.image.shape[:2], 150) == 2.0
    x, y = ocr_to_image(
        100, 60, ocr_shape=cleaned.ocr_image.shape, image_shape=cleaned.image.shape, dpi=150,
        angle=cleaned.skew_angle,
    )
    assert (x, y) == pytest.approx((50, 30), abs=1)


def test_very_large_pages_are_capped_for_ocr() -> None:
    assert working_scale(20000, 20000, 300) < 0.33
    assert working_scale(3508, 2480, 300) == 1.0
    assert working_scale(3508 * 2, 2480 * 2, 600) == 0.5


def test_clean_page_is_pure(make_page) -> None:
    page, _ = make_page(8, Damage(rotation=180), lines=3)
    before = page.image.copy()
    cleaned = clean_page(page)
    assert np.array_equal(page.image, before) and page.rotation == 0
    assert replace(cleaned, image=page.image).source == page.source
