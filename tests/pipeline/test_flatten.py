"""Phone photos of a page on a desk come out as flat sheets; scans are never touched.

The photos are drawn by the photo damage model (:mod:`samples.photo`): a pinhole camera tilted so
the sheet's far edge is a fifth or more narrower, turned a few degrees, a shadow over part of the
page, a dark desk, blur, grain and JPEG.
"""

from __future__ import annotations

import io
import random
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pytest
from PIL import Image

from bench.ocr import cer
from core.model import Page
from core.settings import Settings
from flow.run import process_paths
from pipeline.cleanup import clean_page
from pipeline.ingest import read_bytes
from pipeline.pagework import process_page
from pipeline.sheet import find_sheet, flatten_sheet
from samples.damage import Damage, damage_page, draw_damage
from samples.generator import generate_document
from samples.photo import Photo, draw_photo, photograph
from samples.plain import text_page

A4_PT = (595.3, 841.9)
DESK = (52.0, 42.0, 36.0)  # a dark wood desk
DESK_DARK = 80  # grey level: nothing on the flattened sheet's rim may be this dark (the desk is darker)


def _framed_page() -> tuple[np.ndarray, str]:
    """A residence confirmation in the framed layout (a double border 10 px wide near the edges),
    clean, at 300 dpi, with its printed text."""
    doc = generate_document("residence_confirmation", random.Random("sohoa-flatten/framed"), layout=4,
                            damage=0.0, allow_rotation=False)
    return doc.clean_pages[0], doc.text.split("\f")[0]


def _frame_edges(grey: np.ndarray) -> dict[str, np.ndarray]:
    """Per row (left, right) and per column (top, bottom) of the middle 70% of a page, the first ink
    pixel from that edge (ink: under 70% of the paper's brightness around it, so shadowed paper is
    not ink): on a framed page, the outer frame line."""
    h, w = grey.shape
    paper = cv2.dilate(grey, np.ones((15, 15), np.uint8))
    ink = grey < 0.7 * paper
    rows = slice(int(0.15 * h), int(0.85 * h))
    cols = slice(int(0.15 * w), int(0.85 * w))
    return {
        "left": np.argmax(ink[rows, : w // 4], axis=1) / w,
        "right": 1 - (np.argmax(ink[rows, ::-1][:, : w // 4], axis=1)) / w,
        "top": np.argmax(ink[: h // 4, cols], axis=0) / h,
        "bottom": 1 - (np.argmax(ink[::-1, cols][: h // 4], axis=0)) / h,
    }


@pytest.fixture(scope="module")
def framed() -> tuple[np.ndarray, str]:
    return _framed_page()


def test_phone_photo_through_the_flow_is_a_flat_sheet_read_as_well_as_a_flat_scan(
        framed: tuple[np.ndarray, str], tmp_path: Path) -> None:
    """The issue's test: a generated page photographed in perspective (far edge 22% narrower, turned
    3.5°, a shadow over a corner, on a dark desk) goes through ``process_paths``; the searchable PDF's
    page is A4, its rendered rim holds no desk-dark pixel, the page's printed frame is straight and
    where the flat page has it, and the OCR is within 0.5% CER of the same page scanned flat."""
    clean, truth = framed
    shot = photograph(clean, Photo(taper=0.22, turn_deg=3.5, desk=DESK, shadow=((0.5, 0.0), (1.0, 0.0), (1.0, 0.65)),
                                   shadow_depth=0.45, seed=7))
    assert 1 - np.hypot(*np.subtract(shot.corners[1], shot.corners[0])) \
        / np.hypot(*np.subtract(shot.corners[2], shot.corners[3])) >= 0.2  # the far edge is ≥ 20% narrower
    photo = tmp_path / "anh-chup-xac-nhan-cu-tru.jpg"
    photo.write_bytes(shot.jpeg)

    result = process_paths([photo], Settings(data_dir=tmp_path / "data", workers=1), dossier_code="HS-ANH-CHUP-1",
                           certify=False, out_dir=tmp_path / "out")

    (document,) = result.summary.documents
    (pdf_path,) = sorted((tmp_path / "out").glob("*.pdf"))
    pdf = pdfium.PdfDocument(pdf_path)
    page = pdf[0]
    width, height = page.get_size()
    # An A4 sheet, not a photo's frame: the digitizing signature's band grows page 1 above the scan.
    assert abs(width - A4_PT[0]) < 3 and height >= A4_PT[1] - 3
    scale = 100 / 72
    rendered = np.asarray(page.render(scale=scale).to_pil().convert("L"))
    pdf.close()
    rendered = rendered[rendered.shape[0] - round(A4_PT[1] * scale):]  # the scan, below the band
    with pdfplumber.open(pdf_path) as searchable:
        text = searchable.pages[0].extract_text()  # the text layer, as a reader copies it
    rim = max(3, round(0.01 * min(rendered.shape)))
    border = np.concatenate([rendered[:rim].ravel(), rendered[-rim:].ravel(), rendered[:, :rim].ravel(),
                             rendered[:, -rim:].ravel()])
    assert int(border.min()) > DESK_DARK, f"desk-dark pixels on the page's rim: {int(border.min())}"
    # Straight edges: the printed frame runs straight along each side (a trapezoid's sides would
    # slant by several per cent), and where it runs on the flat page.
    flat_small = cv2.resize(cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY), rendered.shape[::-1], interpolation=cv2.INTER_AREA)
    got, want = _frame_edges(rendered), _frame_edges(flat_small)
    for side in ("left", "right", "top", "bottom"):
        assert np.ptp(got[side]) < 0.006, f"{side} frame line bends or slants by {np.ptp(got[side]):.3f}"
        assert abs(np.median(got[side]) - np.median(want[side])) < 0.008, side
    # Read as well as the same page scanned flat.
    buf = io.BytesIO()
    Image.fromarray(clean).save(buf, format="PNG", dpi=(300, 300))
    flat = process_page(read_bytes(buf.getvalue(), "quet-phang.png")[0])
    photo_cer, flat_cer = cer(text, truth), cer(flat.text, truth)
    assert photo_cer <= flat_cer + 0.005, f"photo CER {photo_cer:.4f} against flat {flat_cer:.4f}"
    assert document.doc_type == "residence_confirmation"


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_sheet_corners_are_found_on_drawn_photos(seed: int) -> None:
    """Random photos (taper 20–30%, turned 2–5°, a shadow, desks from dark to mid grey): the corners
    within 0.5% of the frame of the sheet's true corners, just inside them, and the sheet taken for A4."""
    rng = random.Random(f"sohoa-flatten/{seed}")
    doc = generate_document("birth_certificate", rng, damage=0.0, allow_rotation=False)
    shot = photograph(doc.clean_pages[0], draw_photo(rng, frame=(1500, 2000)))
    found = find_sheet(shot.image, 72.0)
    assert found is not None
    error = np.linalg.norm(np.subtract(found.corners, shot.corners), axis=1)
    assert error.max() < 0.005 * 2000, error
    assert found.size == (2480, 3508) and found.dpi == 300.0


def test_flattened_page_replaces_the_photo_for_the_copy_people_see(framed: tuple[np.ndarray, str]) -> None:
    """The flattened page is the sheet at 300 dpi; the photo's own JPEG is no longer the page's
    pixels (the searchable PDF must not embed the photo)."""
    clean, _ = framed
    shot = photograph(clean, Photo(frame=(1500, 2000), desk=DESK, seed=3))
    (page,) = read_bytes(shot.jpeg, "anh.jpg")
    assert page.source_jpeg is not None
    flat = flatten_sheet(page)
    assert flat.image.shape == (3508, 2480, 3) and flat.dpi == 300.0
    assert flat.source_jpeg is None and flat.sheet is not None and flat.image_sha256 == page.image_sha256


def test_flat_scans_are_not_altered_or_cropped(framed: tuple[np.ndarray, str]) -> None:
    """Scans fill the frame: a clean page, a page damaged as a scanner does (skew, uneven light,
    stains, JPEG), one with the scanner's black lid on two sides, and a photo whose sheet runs off the
    frame (no whole sheet to be sure of) all come back as the very same page."""
    clean, _ = framed
    rng = random.Random("sohoa-flatten/scans")
    scans = [clean, damage_page(clean, draw_damage(clean.shape[:2], rng, allow_rotation=False)),
             damage_page(clean, replace(Damage(skew_deg=2.0, lighting=0.4), border=True))]
    cut = photograph(clean, Photo(frame=(1500, 2000), height=1.02, desk=DESK, seed=5)).image
    for image in [*scans, cut]:
        page = Page(source="scan.png", source_sha256="0" * 64, index=0, image=image, dpi=300)
        assert find_sheet(image) is None
        assert flatten_sheet(page) is page
    cleaned = clean_page(Page(source="scan.png", source_sha256="0" * 64, index=0, image=scans[1], dpi=300))
    assert cleaned.sheet is None and cleaned.image.shape == scans[1].shape
    assert np.array_equal(cleaned.image, scans[1])


def test_a_sheet_that_is_not_a4_keeps_its_own_proportions() -> None:
    """A slip 170 × 100 mm (no A-series sheet) photographed in perspective: flattened to its own
    proportions, at no less than the resolution its length would have as an A4 sheet's (the
    phone's stated 72 dpi is no measure)."""
    clean, _ = text_page(random.Random(5), width_mm=170, height_mm=100, lines=5, font_pt=12)
    shot = photograph(clean, Photo(frame=(2000, 1500), height=0.55, taper=0.2, turn_deg=-3.0, desk=DESK, seed=9))
    found = find_sheet(shot.image, 72.0)
    assert found is not None
    width, height = found.size
    assert width / height == pytest.approx(170 / 100, rel=0.03)
    assert found.dpi >= width / (297 / 25.4) - 1
