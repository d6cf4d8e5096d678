"""Second readings of names, places and numbers on real scans: generated with names and places the
lexicon does not know, damaged, cleaned up and read by Tesseract."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

from classifiers.extract import NAME_FIELDS, PLACE_FIELDS, document_lines, extract_fields, extract_from_lines
from classifiers.second import read_again
from classifiers.text import fold
from core.model import Document, Page
from pipeline import tesseract

CASES = (("residence_confirmation", 3), ("birth_certificate", 4), ("application_form", 3), ("death_certificate", 3))


@pytest.fixture(scope="module")
def held_out_scans() -> list:
    """Real OCR of damaged scans whose people and places come from the held-out vocabulary."""
    from pipeline.pagework import process_page
    from samples import holdout
    from samples.generator import generate_document

    out = []
    with holdout.vocabulary("held-out"):
        samples = [generate_document(t, random.Random(f"reread-test/{t}"), layout=layout, damage=0.8)
                   for t, layout in CASES]
    for sample in samples:
        pages = tuple(process_page(Page(f"{sample.doc_type}.png", "", i, image, 300.0))
                      for i, image in enumerate(sample.pages))
        out.append((sample, pages))
    return out


@pytest.mark.timeout(300)
def test_a_row_read_again_has_the_letters_printed(held_out_scans: list) -> None:
    checked = 0
    for sample, pages in held_out_scans:
        lines = document_lines(Document(pages))
        values: dict = {}
        extract_from_lines(sample.doc_type, lines, values)
        for name in NAME_FIELDS:
            if name in sample.fields and name in values:
                again = read_again(values[name], lines, pages, tesseract.read_line, 0.8)
                assert again is not None, name
                letters = " ".join(re.findall(r"[A-Z]+", fold(again).upper()))  # punctuation aside
                assert letters == fold(sample.fields[name]).upper(), (name, again, sample.fields[name])
                checked += 1
    assert checked >= len(CASES)


@pytest.mark.timeout(300)
def test_second_readings_make_held_out_names_and_places_right_never_silently_wrong(held_out_scans: list) -> None:
    right = {True: 0, False: 0}
    for sample, pages in held_out_scans:
        for reread in (True, False):
            fields = extract_fields(Document(pages, doc_type=sample.doc_type), 
                                    read_line=tesseract.read_line if reread else None).fields
            for name, truth in sample.fields.items():
                f = fields[name]
                if name in NAME_FIELDS or name in PLACE_FIELDS:
                    right[reread] += f.value == truth
                if reread:
                    assert f.value == truth or f.needs_review, (name, f, truth)
    assert right[True] > right[False], right


def test_no_second_reading_without_pixels() -> None:
    # a page known only by its text (a born-digital layer) keeps what it says
    page = Page("t", "", 0, None, 300.0, text="Họ và tên: KHÚC THỊ THEU\nNơi cư trú: xã Trúc Bach, tỉnh Hà Tĩnh")  # type: ignore[arg-type]
    fields = extract_fields(replace(Document((page,)), doc_type="residence_confirmation")).fields
    assert fields["full_name"].value == "KHÚC THỊ THEU" and fields["full_name"].needs_review
    assert fields["place_of_residence"].needs_review
