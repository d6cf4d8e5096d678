"""Page images compressed for the PDF ahead of time (pipeline.pdf_images): taken only for the very
pixels that were encoded, and the PDF the same bytes as one that encoded them itself."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pikepdf

from core.model import Page
from pipeline.cleanup import turn
from pipeline.pdf_images import PreparedImages, encode_image
from pipeline.pdfa import build_searchable_pdf

WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def _page(index: int, colour: bool) -> Page:
    rng = np.random.default_rng(index)
    shape = (420, 300, 3) if colour else (420, 300)
    image = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return Page(source="scan.png", source_sha256="a" * 64, index=index, image=image, dpi=150.0)


def test_prepared_pages_make_the_same_pdf_and_are_encoded_on_their_own_thread() -> None:
    pages = [_page(0, colour=True), _page(1, colour=False)]
    threads: set[str] = set()
    with PreparedImages(pages) as prepared:
        prepared._pool.submit(lambda: threads.add(threading.current_thread().name)).result()
        made = build_searchable_pdf(pages, title="t", created=WHEN, prepared=prepared)
        assert prepared.take(pages[0]) is None  # given once
    assert threads and all(name.startswith("sohoa-pdf-images") for name in threads)
    assert made == build_searchable_pdf(pages, title="t", created=WHEN)
    with pikepdf.open(io.BytesIO(made)) as pdf:
        image = pdf.pages[0].obj.Resources.XObject.Im0
        assert np.array_equal(pikepdf.PdfImage(image).as_pil_image(), pages[0].image)  # lossless


def test_changed_pixels_are_never_taken_from_what_was_prepared() -> None:
    page = _page(2, colour=True)
    with PreparedImages([page]) as prepared:
        turned = replace(page, image=turn(page.image, 180), rotation=180)  # a page the clean-up turned
        assert prepared.take(turned) is None
    copy = _page(3, colour=False)
    with PreparedImages([copy]) as prepared:
        back = replace(copy, image=copy.image.copy())  # the same pixels, sent to a worker and back
        assert prepared.take(back) == encode_image(copy.image)
    edited = _page(4, colour=False)
    with PreparedImages([edited]) as prepared:
        pixels = edited.image.copy()
        pixels[0, 0] ^= 1
        assert prepared.take(replace(edited, image=pixels)) is None


def test_nothing_is_held_past_the_budget_and_a_source_jpeg_is_left_to_the_pdf() -> None:
    pages = [_page(5, colour=True), _page(6, colour=True)]
    with PreparedImages(pages, budget=1) as prepared:
        assert prepared.take(pages[1]) is None  # the first one's bytes fill the budget...
        assert prepared.take(pages[0]) is not None  # ...which it started under
    jpeg = replace(_page(7, colour=True), source_jpeg=b"\xff\xd8not used here")
    with PreparedImages([jpeg]) as prepared:
        assert prepared.take(jpeg) is None


def test_later_pages_are_encoded_when_done_and_a_turned_page_once_upright() -> None:
    pages = [_page(8, colour=False), _page(9, colour=True), _page(10, colour=False)]
    with PreparedImages(pages, ahead=1) as prepared:
        upright = replace(pages[0], image=turn(pages[0].image, 90), rotation=90)  # the clean-up turned it
        prepared.done(upright)
        assert prepared.take(upright) == encode_image(upright.image)  # encoded again, upright
        assert prepared.take(pages[1]) is None  # not ahead, and not done yet
        prepared.done(pages[2])
        assert prepared.take(pages[2]) == encode_image(pages[2].image)
        failed = replace(pages[1], failure="the page took longer than 5 s")
        prepared.done(failed)  # a failed page goes into no PDF
        assert prepared.take(failed) is None
        assert prepared._held == 0  # nothing counted for the encodings let go of
