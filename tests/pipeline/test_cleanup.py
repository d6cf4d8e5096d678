"""Clean-up: upright by lossless quarter turns, deskew, flattening, borders, blank pages, scale."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.model import Page
from pipeline.cleanup import (
    binarize,
    clean_page,
    content_box,
    drop_red_ink,
    flatten,
    ocr_to_image,
    remove_scribbles,
    to_grey,
    turn,
    working_scale,
)
from pipeline.ingest import read_source
from samples.damage import Damage


@pytest.mark.parametrize(("rotation", "skew"), [(0, 2.3), (90, -1.7), (180, 0.6), (270, -3.4)])
def test_orientation_and_skew_are_found(rotation: int, skew: float, make_page) -> None:
    damage = Damage(rotation=rotation, skew_deg=skew, lighting=0.5, blur_sigma=0.8, noise_std=8, jpeg_quality=70)
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
    page, _ = make_page(4, Damage(lighting=0.6, noise_std=6))
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


def test_red_seal_ink_is_dropped_and_black_print_under_it_stays() -> None:
    page = np.full((400, 600, 3), 245, np.uint8)
    cv2.putText(page, "CHU TICH", (40, 220), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (20, 20, 20), 6)
    seal = np.full_like(page, 255)
    cv2.circle(seal, (300, 200), 150, (215, 70, 80), 14)
    cv2.circle(seal, (300, 200), 60, (215, 70, 80), -1)
    text = to_grey(page) < 60  # the print's strokes, edges left out
    page = cv2.multiply(page, seal, scale=1 / 255)  # the seal's ink over the print, as stamped
    grey = drop_red_ink(page)
    ring = (np.hypot(*np.mgrid[-200:200, -300:300]) - 150).__abs__() < 4
    near_text = cv2.dilate(text.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert grey[ring & ~near_text].min() > 180  # the seal is as light as the paper
    assert grey[text].max() < 110  # black print stays dark, under the seal too
    assert (text & ring).any()
    # Blue ink (signatures, filled-in values) and black print are left as they were.
    blue = np.full((50, 50, 3), (25, 35, 120), np.uint8)
    assert np.array_equal(drop_red_ink(blue), to_grey(blue))


def test_signature_is_erased_but_frames_rules_and_text_stay() -> None:
    ocr = np.full((900, 1400), 255, np.uint8)
    cv2.rectangle(ocr, (20, 20), (1380, 880), 0, 4)  # a certificate's frame
    cv2.line(ocr, (100, 700), (1300, 700), 0, 3)  # a rule
    cv2.putText(ocr, "Nguyen Van An", (600, 640), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 0, 5)
    xs = np.arange(620, 1100)
    loops = (420 + 90 * np.sin((xs - 620) / 18.0) * np.cos((xs - 620) / 70.0)).astype(np.int32)
    cv2.polylines(ocr, [np.stack([xs, loops], axis=1).reshape(-1, 1, 2)], False, 0, 4)
    cv2.line(ocr, (600, 470), (1150, 455), 0, 3)  # the fast stroke across it
    out = remove_scribbles(ocr)
    assert out[340:510, 620:1100].min() == 255  # the signature is gone
    assert out[19:22, 30:1370].max() == 0 and out[700, 110:1290].max() == 0  # frame and rule stay
    assert np.array_equal(out[580:660, 580:1200], ocr[580:660, 580:1200])  # the name stays


def test_signer_name_under_seal_and_signature_is_read() -> None:
    """A generated marriage certificate whose seal and signature once swallowed the signer's title
    and name: both lines are read now, and no row of symbols stands for the signature."""
    import random

    from pipeline.ocr import ocr_page
    from samples.generator import generate_document

    doc = generate_document("marriage_certificate", random.Random("sohoa-bench-ocr/7/17"))
    truth = doc.text.split("\f")[0].splitlines()
    page = Page(source="kethon.png", source_sha256="0" * 64, index=0, image=doc.pages[0], dpi=300)
    lines = ocr_page(clean_page(page), lang="vie").text.splitlines()
    signer, title = truth[-1], truth[-2]
    assert signer in lines and title in lines
    assert all(any(ch.isalnum() for ch in line) and "YY" not in line for line in lines)


def test_content_box_holds_all_the_print_and_little_else(make_page) -> None:
    page, _ = make_page(12, Damage(skew_deg=1.5, lighting=0.4, noise_std=6), lines=3)
    big = np.full((3000, 2400, 3), 250, np.uint8)
    h, w = page.image.shape[:2]
    big[900 : 900 + h, 700 : 700 + w] = page.image if page.image.ndim == 3 else page.image[..., None]
    ocr = clean_page(replace(page, image=big)).ocr_image
    assert ocr is not None
    left, top, right, bottom = content_box(ocr)
    ink = np.argwhere(ocr < 200)
    # The box pads by 60 px what the quarter-size copy shows; a thin mark above a capital, too faint
    # there, may sit closer to its edge, never outside it.
    assert left <= ink[:, 1].min() - 30 and right >= ink[:, 1].max() + 30
    assert top <= ink[:, 0].min() - 30 and bottom >= ink[:, 0].max() + 30
    assert (right - left) * (bottom - top) < 0.5 * ocr.size
    blank = np.full((800, 600), 255, np.uint8)
    assert content_box(blank) == (0, 0, 600, 800)


def test_copied_id_card_and_upside_down_certificate_are_turned_right() -> None:
    """Pages the pooled up/down test got wrong: a copied ID card (QR code, fingerprints and photo
    outweighed its text lines, so it was turned upside down) and an upside-down business
    registration left as it was."""
    from bench.extract import bench_documents

    cards = bench_documents(8, 202, ["cccd"], vocabulary="held-out")
    firms = bench_documents(8, 202, ["business_registration"], vocabulary="held-out")
    for doc in (cards[5], cards[7], firms[7]):
        applied = int(doc.damage[0].get("rotation", 0))
        page = Page(source=f"{doc.doc_type}.png", source_sha256="0" * 64, index=0, image=doc.pages[0], dpi=300)
        assert clean_page(page).rotation == (360 - applied) % 360, doc.doc_type
    assert int(firms[7].damage[0]["rotation"]) == 180


def test_rules_under_values_are_erased_and_the_values_read() -> None:
    """A ruled form (a prescription) whose rules touch the values printed on them: Tesseract read
    "PHANHÔNGHOÀI HẠNH -" and lost "Viêm mũi dị ứng" before the rules were erased."""
    import random

    from pipeline.ocr import ocr_page
    from samples.generator import generate_document

    doc = generate_document("other", random.Random("sohoa-bench-ocr/5/7"))
    truth = doc.text.split("\f")[0].splitlines()
    page = Page(source="donthuoc.png", source_sha256="0" * 64, index=0, image=doc.pages[0], dpi=300)
    cleaned = clean_page(page)
    assert cleaned.ocr_image is not None
    # No ink run as long as a rule is left on the OCR image.
    ink = (cleaned.ocr_image < 200).astype(np.uint8)
    assert not cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, 120), np.uint8)).any()
    text = ocr_page(cleaned, lang="vie").text.splitlines()
    for wanted in ("Họ tên người bệnh: PHAN HỒNG HOÀI HẠNH", "Chẩn đoán: Viêm mũi dị ứng"):
        assert wanted in truth and wanted in text


def test_dot_leaders_of_a_form_are_erased_and_its_labels_and_values_read() -> None:
    """A form's blanks are rows of dots ("Quê quán: ........"): Tesseract read them as "1111 HH TH
    cv" and lost the labels beside them ("QUÊ QUÁ", "Dân tỘC"). A value typed over a leader keeps
    its dots under it, and an ellipsis of three dots is text, not a leader."""
    from PIL import Image, ImageDraw

    from pipeline.ocr import ocr_page
    from samples.damage import damage_page
    from samples.fonts import font

    image = Image.new("L", (2000, 700), 255)
    draw = ImageDraw.Draw(image)
    face = font("dejavu-serif", 50)
    rows = [("Quê quán: ", None), ("Dân tộc: ", None), ("Họ và tên: ", "NGUYỄN VĂN AN"), ("Ghi chú... ", None)]
    for n, (label, value) in enumerate(rows):
        y = 80 + 140 * n
        draw.text((100, y), label, font=face, fill=0)
        start = 100 + face.getlength(label)
        draw.text((start, y), "." * 60, font=face, fill=0)
        if value:
            draw.text((start + 200, y - 12), value, font=face, fill=0)
    scan = damage_page(np.asarray(image), Damage(skew_deg=1.5, blur_sigma=0.5, noise_std=3, jpeg_quality=70))
    page = Page(source="form.png", source_sha256="0" * 64, index=0, image=scan, dpi=300)
    text = ocr_page(clean_page(page), lang="vie").text
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "Quê quán:" and lines[1] == "Dân tộc:", text
    assert "NGUYỄN VĂN AN" in lines[2], text
    assert lines[3].startswith("Ghi chú"), text
