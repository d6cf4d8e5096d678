"""Splitting a scanned stack into documents: title pages, blank pages (kept in their paper), QR separator
sheets (dropped)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bench.train_types import sample_text
from classifiers.split import split_documents
from core.model import Page
from tests.support.qr_image import make_qr_image

WHITE = np.full((700, 500), 255, np.uint8)


def text_page(text: str, index: int) -> Page:
    return Page("stack.pdf", "", index, WHITE, 300.0, text=text,
                words=(), mean_confidence=0.9)


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    out = {}
    for doc_type, layout in (("birth_certificate", 0), ("death_certificate", 3), ("land_use_certificate", 1),
                             ("application_form", 4)):
        out[doc_type] = sample_text(doc_type, random.Random(doc_type), layout)
    return out


def test_title_pages_start_documents(texts: dict[str, str]) -> None:
    pages = [text_page(texts["birth_certificate"], 0), text_page(texts["death_certificate"], 1),
             text_page("Trang 2/2\nGhi chú: bản sao từ sổ hộ tịch.\nNgười ký trích lục", 2),
             text_page(texts["land_use_certificate"], 3)]
    docs = split_documents(pages)
    assert [len(d) for d in docs] == [1, 2, 1]
    assert docs[1][1].index == 2


def test_blank_pages_are_kept_in_a_document(texts: dict[str, str]) -> None:
    """A blank page stays with the paper before it (its back side); the unknown page after it starts
    a document of its own, as the blank sheet between papers always did; a blank page at the end is
    the last document's, one at the start the first document's."""
    continuation = "Phần ghi chú của cơ quan tiếp nhận\nNgày tiếp nhận: 01/02/2026\nNgười tiếp nhận: TRẦN AN"
    pages = [text_page(continuation, 0), Page("s", "", 1, WHITE, 300.0, blank=True),
             text_page(continuation, 2), text_page(continuation, 3), Page("s", "", 4, WHITE, 300.0)]
    docs = split_documents(pages)
    assert [[p.index for p in d] for d in docs] == [[0, 1], [2, 3, 4]]
    leading = split_documents([Page("s", "", 0, WHITE, 300.0), text_page(texts["birth_certificate"], 1)])
    assert [[p.index for p in d] for d in leading] == [[0, 1]]


def test_a_blank_back_side_does_not_split_its_paper(texts: dict[str, str]) -> None:
    """A duplex scan: a page of a paper, its blank back, the paper's next page (the same type, no
    title), its blank back, then another paper."""
    first, second = _two_halves(texts["land_use_certificate"])
    pages = [text_page(first, 0), Page("s", "", 1, WHITE, 300.0, blank=True), text_page(second, 2),
             Page("s", "", 3, WHITE, 300.0, blank=True), text_page(texts["birth_certificate"], 4)]
    docs = split_documents(pages)
    assert [[p.index for p in d] for d in docs] == [[0, 1, 2, 3], [4]]
    says_so = text_page("Trang 2/2\nGhi chú: bản sao từ sổ hộ tịch.\nNgười ký trích lục", 2)
    docs = split_documents([text_page(texts["death_certificate"], 0), Page("s", "", 1, WHITE, 300.0), says_so])
    assert [[p.index for p in d] for d in docs] == [[0, 1, 2]]


def test_a_forms_last_page_stays_after_its_blank_back() -> None:
    """A form's last page holds its list of attachments and signatures, which reads as no type for
    sure: after the blank back of the page before, it still goes on with the form."""
    from classifiers.split import page_type
    from samples.generator import generate_text

    rng, forms = random.Random(19), []
    while len(forms) < 3:  # forms whose last page the classifier places in no type
        text = generate_text("application_form", rng).text
        if text.count("\f") == 1 and page_type(text_page(text.split("\f")[1], 2))[0] == "other":
            forms.append(text.split("\f"))
    for first, last in forms:
        pages = [text_page(first, 0), Page("s", "", 1, WHITE, 300.0, blank=True), text_page(last, 2),
                 Page("s", "", 3, WHITE, 300.0, blank=True)]
        assert [[p.index for p in d] for d in split_documents(pages)] == [[0, 1, 2, 3]]


def test_only_separator_sheets_are_dropped(texts: dict[str, str]) -> None:
    """Every page but the QR separator sheet (and the blank back of it, directly after it) is in a
    document, once, in scan order."""
    sheet = Page("s", "", 2, WHITE, 300.0, qr_payloads=("SOHOA-SEPARATOR 3",))
    pages = [text_page(texts["application_form"], 0), Page("s", "", 1, WHITE, 300.0, blank=True), sheet,
             Page("s", "", 3, WHITE, 300.0, blank=True), Page("s", "", 4, WHITE, 300.0, blank=True),
             text_page(texts["birth_certificate"], 5), Page("s", "", 6, WHITE, 300.0, blank=True)]
    docs = split_documents(pages)
    assert [[p.index for p in d] for d in docs] == [[0, 1], [4, 5, 6]]
    assert [p.qr_payloads for p in docs[1]] == [(), ("SOHOA-SEPARATOR 3",), ()]  # on its first page with ink
    only_blank = split_documents([Page("s", "", i, WHITE, 300.0, blank=True) for i in range(2)])
    assert [[p.index for p in d] for d in only_blank] == [[0, 1]]


def _two_halves(text: str) -> tuple[str, str]:
    """A paper's text cut in two pages: the title on the first, the rest (no title) on the second."""
    lines = text.splitlines()
    half = len(lines) // 2
    return "\n".join(lines[:half]), "\n".join(lines[half:])


def test_qr_separator_is_dropped_and_its_payload_kept(texts: dict[str, str]) -> None:
    sheet = np.full((1754, 1240), 255, np.uint8)
    sheet[600:900, 470:770] = make_qr_image("SOHOA-SEPARATOR 0002", 300)
    from pipeline.qr import read_qr_codes

    separator = Page("s", "", 1, sheet, 150.0, qr_payloads=read_qr_codes(sheet))  # as the page work reads it
    pages = [text_page(texts["application_form"], 0), separator, text_page(texts["birth_certificate"], 2)]
    docs = split_documents(pages)
    assert [[p.index for p in d] for d in docs] == [[0], [2]]
    assert docs[1][0].qr_payloads == ("SOHOA-SEPARATOR 0002",)


def test_payload_found_by_the_page_worker_is_used(texts: dict[str, str]) -> None:
    sheet = Page("s", "", 1, WHITE, 300.0, qr_payloads=("SEP-1",))
    continuation = text_page("tiếp theo trang trước\nNgười làm đơn ký tên", 2)
    docs = split_documents([text_page(texts["birth_certificate"], 0), sheet, continuation])
    assert [[p.index for p in d] for d in docs] == [[0], [2]]
    assert docs[1][0].qr_payloads == ("SEP-1",)


@pytest.mark.timeout(300)
def test_a_scanned_stack_splits_into_its_documents() -> None:
    """Real page work (clean-up, OCR, QR) on a generated duplex stack: a two-page application form
    with the blank back of each page, a QR separator sheet with its blank back, a land use
    certificate. The form keeps its four pages; only the separator sheet and its back are left out."""
    from pipeline.pagework import process_page
    from pipeline.qr import read_qr_codes
    from samples.generator import generate_document

    rng = random.Random(4)
    form = None
    while form is None or len(form.pages) != 2:
        form = generate_document("application_form", rng, layout=3, damage=0.6)
    land = generate_document("land_use_certificate", random.Random(8), layout=4, damage=0.6)
    blank = np.full((3508, 2480, 3), 250, np.uint8)
    sheet = np.full((3508, 2480, 3), 255, np.uint8)
    sheet[1400:1800, 1040:1440] = make_qr_image("SOHOA-SEPARATOR dossier 7", 400)[..., None]
    images = [form.pages[0], blank, form.pages[1], blank, sheet, blank, *land.pages]
    pages = []
    for i, image in enumerate(images):
        page = process_page(Page("stack.pdf", "", i, image, 300.0))
        pages.append(page if page.blank else _with_qr(page, read_qr_codes))
    docs = split_documents(pages)
    assert [[p.index for p in d] for d in docs] == [[0, 1, 2, 3], [6]]
    assert docs[1][0].qr_payloads == ("SOHOA-SEPARATOR dossier 7",)


def _with_qr(page: Page, reader) -> Page:
    from dataclasses import replace

    return replace(page, qr_payloads=reader(page.image))
