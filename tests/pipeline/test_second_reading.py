"""The second reading of unsure lines, cut from the original pixels along the page's skew."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from pipeline import tesseract
from pipeline.cleanup import clean_page, content_box
from pipeline.second_reading import better, reread_unsure_lines
from pipeline.tesseract import TessWord
from samples.damage import Damage


def tw(text: str, conf: float, left: int = 0) -> TessWord:
    return TessWord(text=text, confidence=conf, left=left, top=0, width=50, height=30, line_key=(1, 1, 1))


def test_a_second_reading_wins_only_as_the_same_kind_of_text_trusted_more() -> None:
    assert better([tw("SẠO", 65)], [tw("SAO", 91)])
    assert better([tw("tênngười", 57)], [tw("tên", 67), tw("người", 67)])
    assert not better([tw("SẠO", 65)], [tw("SAO", 60)])  # trusted less
    assert not better([tw("089090803668", 67)], [tw("089090805668", 95)])  # digits are never changed
    assert not better([tw("Kim", 66)], [tw("Km", 93)])  # a letter lost
    assert not better([tw("V/", 60)], [tw("V/%", 78)])  # punctuation added
    assert not better([tw("hai", 60)], [tw("hai", 90)])  # the same reading


def test_an_unsure_line_is_read_again_from_the_original_and_mapped_back(make_page) -> None:
    damage = Damage(skew_deg=2.5, lighting=0.4, blur_sigma=0.7, noise_std=8, jpeg_quality=75)
    page, truth = make_page(21, damage, lines=3)
    cleaned = clean_page(page)
    image = cleaned.ocr_image
    left, top, right, bottom = content_box(image)
    found = [replace(w, left=w.left + left, top=w.top + top)
             for w in tesseract.words(image[top:bottom, left:right], lang="vie", psm=4)]
    assert " ".join(w.text for w in found).split() == truth.split()
    # A first reading that lost the marks of one word and was unsure of it.
    k = max(range(len(found)), key=lambda i: len(found[i].text) if found[i].text.isalpha() else 0)
    right_word = found[k]
    stripped = unicodedata.normalize("NFC", "".join(
        ch for ch in unicodedata.normalize("NFD", right_word.text.replace("đ", "d").replace("Đ", "D"))
        if not unicodedata.combining(ch)))
    assert stripped != right_word.text, right_word.text
    found[k] = replace(right_word, text=stripped, confidence=10.0)
    again = reread_unsure_lines(found, cleaned, image.shape, lang="vie")
    assert " ".join(w.text for w in again).split() == truth.split()
    mended = next(w for w in again if w.text == right_word.text and w.line_key == right_word.line_key)
    # The second reading's box lands on the same word of the OCR image.
    assert abs(mended.left - right_word.left) < 0.5 * right_word.height
    assert abs(mended.top - right_word.top) < 0.5 * right_word.height
    # Lines Tesseract was sure of are not read again.
    assert reread_unsure_lines([replace(w, confidence=95.0) for w in found], cleaned, image.shape, lang="vie") \
        == [replace(w, confidence=95.0) for w in found]
