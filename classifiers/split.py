"""Splitting a scanned stack of pages into the documents it holds.

Reception scans a whole dossier in one go, so one PDF carries several papers. Three signals start a
new document: a QR separator sheet (a nearly blank page whose only content is a code: reception's
own sheet, not a page of any paper), a title page (a known document title in capitals, or the
national motto, at the head of the page), and a page without a title that the classifier is sure is
of another type than the document it would join (an unknown paper after a certificate). A page that
says it continues ("Trang 2/3") never starts a document.

Blank pages are pages of the paper (Circular 01/2023, Art. 7: the image count equals the paper's
page count), so none is dropped: a blank page stays with the document before it (a back side, an
empty page inside the paper), or with the next one when the stack opens with it. A blank page is
still a hint of a boundary, since reception used to slip a blank sheet between papers: the page
after it starts a document unless it continues the same paper (it says so, or it is of the same
known type). Only the QR separator sheet is dropped, with the blank back of that sheet when one
follows it directly (a duplex scan of the separator); its payload travels on to the first page with
ink of the next document in ``qr_payloads``. The flow marks the blank pages it keeps
(``PageWarning.BLANK_PAGE``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz

from classifiers.classify import classify_text
from classifiers.features import title_scores
from classifiers.text import page_lines, squash
from core.doctypes import OTHER
from core.model import Page
from core.result_code import parse_result_qr

log = logging.getLogger(__name__)

TITLE_SCORE = 0.86  # fuzzy title match (0–1) that makes a page a title page
NEARLY_BLANK_LETTERS = 60  # fewer OCR letters than this: a page that may be a separator sheet
SURE = 0.9  # the classifier's confidence that counts as sure of a page's type
_MOTTO = squash("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
_CONTINUED = re.compile(r"\btrang\s*([2-9]|\d{2,})\s*(/|tren)\s*\d+")


class PageRole(StrEnum):
    BLANK = "blank"
    QR_SEPARATOR = "qr_separator"
    FIRST = "first"  # starts a document
    CONTINUATION = "continuation"


def page_text(page: Page) -> str:
    return page.text or page.text_layer or ""


def letter_count(page: Page) -> int:
    return sum(c.isalpha() for c in page_text(page))


def ink_fraction(image: np.ndarray | None) -> float:
    """Share of dark pixels, ignoring a margin where scanners leave edge shadows."""
    if image is None or image.size == 0:
        return 0.0
    h, w = image.shape[:2]
    inner = image[h // 20: h - h // 20, w // 20: w - w // 20]
    step = max(1, min(inner.shape[:2]) // 800)
    sample = inner[::step, ::step]
    grey = sample.mean(axis=2) if sample.ndim == 3 else sample
    return float((grey < 128).mean())


def is_blank(page: Page) -> bool:
    if page.blank:
        return True
    if page_text(page).strip() or page.words:
        return False
    return ink_fraction(page.image) < 0.002


def qr_payloads(page: Page) -> tuple[str, ...]:
    """The page's QR payloads, as the page work found them (every page's codes are read there)."""
    return page.qr_payloads


def head_rows(page: Page, count: int = 16) -> list[str]:
    """The first rows of the page in visual order (rebuilt from word boxes: Tesseract may list a
    header's columns or a form's labels before the title)."""
    return [line.text for line in page_lines(page)[:count]]


def _upper(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) / len(letters) >= 0.8


def is_title_page(page: Page) -> bool:
    """A known title in capitals, or the national motto, among the page's first rows.

    Titles are printed in capitals; the same words in a sentence or a list of attachments
    ("Bản sao Giấy khai sinh") are not a title.
    """
    rows = head_rows(page)
    if _CONTINUED.search(squash(" ".join(rows))):
        return False
    capitals = [row for row in rows if _upper(row)]
    scores = title_scores("\n".join(capitals))
    if max(scores.values(), default=0.0) >= TITLE_SCORE:
        return True
    return any(fuzz.partial_ratio(_MOTTO, squash(row)) >= 88 for row in capitals[:6])


def page_type(page: Page) -> tuple[str, float]:
    """The page's own type and confidence (for ``other``: the best real type's, so low means sure)."""
    return classify_text(page_text(page))


def page_role(page: Page) -> tuple[PageRole, tuple[str, ...]]:
    """What a page is in the stack, with the QR payloads it carries."""
    payloads = qr_payloads(page)
    if payloads and letter_count(page) < NEARLY_BLANK_LETTERS:
        return PageRole.QR_SEPARATOR, payloads
    if is_blank(page):
        return PageRole.BLANK, ()
    if is_title_page(page) or any(parse_result_qr(p) for p in payloads):
        return PageRole.FIRST, payloads
    return PageRole.CONTINUATION, payloads


def _changes_type(page: Page, current: list[Page]) -> bool:
    """A page without a title that is confidently another type than the document it would join
    (a shop's price list after a birth certificate) starts a document of its own."""
    if letter_count(page) < 150 or _CONTINUED.search(squash(" ".join(head_rows(page)))):
        return False  # too little to judge, or the page says it continues
    here, here_confidence = page_type(page)
    there, there_confidence = page_type(current[0])
    if here == there == OTHER:
        # unknown papers rarely run over pages; one that opens with a heading in capitals is new
        return any(_upper(row) and len(row.split()) >= 2 for row in head_rows(page, 5))
    if here == there:
        return False
    sure = SURE
    if here != OTHER and there != OTHER:
        return here_confidence >= sure and there_confidence >= sure
    # "other" is reported with the best real type's (low) confidence: sure means that is low
    if here == OTHER:
        return here_confidence <= 1 - sure and there_confidence >= sure
    return here_confidence >= sure and there_confidence <= 1 - sure


def _continues_after_blank(page: Page, current: list[Page]) -> bool:
    """After a blank page, does this page (no title) go on with the paper before the blank? When it
    says it continues, when it and the paper are of the same known type (the second page of a form
    after the blank back of its first), or when the classifier is sure of no type for it but it
    reads like some paper's page (a form's list of attachments and signatures). A page surely of
    no known type (a receipt's note) starts a document of its own, as after a blank sheet."""
    if _CONTINUED.search(squash(" ".join(head_rows(page)))):
        return True
    inked = [p for p in current if not is_blank(p)]
    if not inked:
        return True  # the document so far is blank pages only: this page is its first with ink
    here, confidence = page_type(page)
    if here == OTHER:  # "other" comes with the best real type's confidence
        return confidence > 1 - SURE
    return here == page_type(inked[0])[0]


def split_documents(pages: Sequence[Page]) -> list[tuple[Page, ...]]:
    """Pages in scan order → documents (tuples of pages in order). Every page is in exactly one
    document except QR separator sheets (and the blank back of one, directly after it)."""
    documents: list[list[Page]] = []
    current: list[Page] | None = None
    leading: list[Page] = []  # blank pages not yet in a document (the stack or a section opens with them)
    pending: tuple[str, ...] = ()
    after_blank = after_separator = False
    for page in pages:
        role, payloads = page_role(page)
        if role == PageRole.QR_SEPARATOR:
            log.info("%s: QR separator sheet", page.label)
            current, after_blank, after_separator = None, False, True
            pending += payloads
            continue
        if role == PageRole.BLANK:
            if after_separator:
                log.info("%s: the blank back of the QR separator sheet before it", page.label)
                after_separator = False
                continue
            if current is None:
                leading.append(page)
            else:
                current.append(page)
                after_blank = True
            continue
        after_separator = False
        if payloads and not page.qr_payloads:
            page = replace(page, qr_payloads=payloads)
        starts = (role == PageRole.FIRST or current is None
                  or (after_blank and not _continues_after_blank(page, current))
                  or (not after_blank and _changes_type(page, current)))
        after_blank = False
        if starts:
            if pending:
                page = replace(page, qr_payloads=tuple(dict.fromkeys(pending + page.qr_payloads)))
                pending = ()
            current = [*leading, page]
            leading = []
            documents.append(current)
        else:
            current.append(page)
    if leading:  # blank pages with no paper after them: the last document's, or a document of their own
        if documents and not pending:
            documents[-1].extend(leading)
        else:
            documents.append(leading)
    if pending:
        log.warning("QR separator payload(s) %s after the last document were not attached", pending)
    return [tuple(doc) for doc in documents]
