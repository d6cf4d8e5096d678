"""The searchable PDF/A-2b: original pixels (lossless, upright), invisible text that reads back
exactly, PDF/A identification, XMP and an sRGB OutputIntent."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pdfplumber
import pikepdf
import pytest

from core.errors import InputError
from pipeline.ingest import read_source
from pipeline.ocr import DisplayFrame
from pipeline.pagework import process_page
from pipeline.pdfa import build_searchable_pdf
from samples.damage import Damage


def _images(pdf: pikepdf.Pdf) -> list[pikepdf.Stream]:
    return [x for p in pdf.pages for x in p.obj.Resources.XObject.values() if x.Subtype == "/Image"]


def test_ocr_text_reads_back_exactly_and_pixels_are_lossless(make_page) -> None:
    page, _ = make_page(21, Damage(rotation=90, skew_deg=1.5, noise_std=6), lines=4)
    done = process_page(page, lang="vie")
    data = build_searchable_pdf([done], title="Giấy khai sinh", author="UBND xã Hòa Phước",
                                keywords=["hộ tịch"], created=datetime(2026, 1, 2, tzinfo=UTC))
    with pdfplumber.open(io.BytesIO(data)) as pl:
        assert pl.pages[0].extract_text() == done.text
        # The original is displayed deskewed (by the drawing matrix) on a page grown to hold it.
        frame = DisplayFrame.of(done.image.shape, done.skew_angle)
        assert frame.angle != 0
        assert float(pl.pages[0].width) == pytest.approx(frame.width * 72 / done.dpi, abs=0.01)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        [image] = _images(pdf)
        assert image.Filter == "/FlateDecode"
        assert np.array_equal(np.asarray(pikepdf.PdfImage(image).as_pil_image()), done.image)
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == "Giấy khai sinh"
        assert str(pdf.docinfo["/Title"]) == "Giấy khai sinh"
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1" and int(intent.DestOutputProfile.N) == 3
        font = pdf.pages[0].obj.Resources.Font.F1
        assert font.DescendantFonts[0].FontDescriptor.FontFile2 is not None
        assert "/ToUnicode" in font
        assert not pdf.is_encrypted


def test_same_input_same_bytes(make_page) -> None:
    page, _ = make_page(22, lines=1)
    done = process_page(page, lang="vie")
    when = datetime(2026, 5, 1, tzinfo=UTC)
    assert build_searchable_pdf([done], title="x", created=when) == build_searchable_pdf(
        [done], title="x", created=when
    )


def test_jpeg_goes_in_as_is_even_when_turned(resources: Path) -> None:
    [page] = read_source(resources / "baiona_color.jpg")
    original = (resources / "baiona_color.jpg").read_bytes()
    done = process_page(page, lang="eng")
    turned = done.__class__(**{**done.__dict__, "rotation": 90, "image": np.rot90(page.image, k=-1)})
    for variant in (done, turned):
        data = build_searchable_pdf([variant], title="baiona")
        with pikepdf.open(io.BytesIO(data)) as pdf:
            [image] = _images(pdf)
            assert image.Filter == "/DCTDecode" and image.read_raw_bytes() == original
        with pdfplumber.open(io.BytesIO(data)) as pl:
            assert pl.pages[0].extract_text() == variant.text
            h, w = variant.image.shape[:2]
            assert float(pl.pages[0].width) / float(pl.pages[0].height) == pytest.approx(w / h, rel=0.01)


def test_born_digital_and_blank_pages(resources: Path) -> None:
    pages = [process_page(p) for p in read_source(resources / "link.pdf")]
    [blank] = [process_page(p) for p in read_source(resources / "blank.pdf")]
    assert blank.blank and blank.text == ""
    data = build_searchable_pdf([*pages, blank], title="link")
    with pdfplumber.open(io.BytesIO(data)) as pl:
        assert [p.extract_text() for p in pl.pages] == [p.text for p in [*pages, blank]]


def test_no_pages_is_an_input_error() -> None:
    with pytest.raises(InputError):
        build_searchable_pdf([], title="empty")


_BUILD_IN_A_NEW_PROCESS = """
import hashlib, sys
from datetime import UTC, datetime
import numpy as np
from core.model import Box, Page, Word
from pipeline.pdfa import build_searchable_pdf
page = Page("a.png", "00" * 32, 0, np.full((400, 300), 255, np.uint8), 100.0, text="Hà Nội",
            words=(Word("Hà", 0.9, Box(10, 10, 40, 20), 0), Word("Nội", 0.9, Box(60, 10, 50, 20), 0)))
pdf = build_searchable_pdf([page], title="t", created=datetime(2026, 12, 7, tzinfo=UTC))
sys.stdout.write(hashlib.sha256(pdf).hexdigest())
"""


def test_same_pages_same_bytes_in_any_process() -> None:
    """Whichever process (a pool worker, a Celery worker on another machine) assembles a document,
    the same pages and date make the same PDF, so the store keeps one blob (no build-time stamps
    in the font program or the colour profile)."""
    import subprocess
    import sys
    import time

    first = subprocess.run([sys.executable, "-c", _BUILD_IN_A_NEW_PROCESS], capture_output=True, text=True,
                           check=True).stdout
    time.sleep(1.1)  # the stamps that made them differ counted seconds
    second = subprocess.run([sys.executable, "-c", _BUILD_IN_A_NEW_PROCESS], capture_output=True, text=True,
                            check=True).stdout
    assert len(first) == 64 and first == second
