"""OCR: text, word boxes in the upright original's frame, confidences, NFC, parallel pages."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from pipeline.cleanup import to_grey
from pipeline.ingest import read_source
from pipeline.pagework import process_page, process_pages
from samples.damage import Damage


def cer(got: str, truth: str) -> float:
    return Levenshtein.distance(got, truth) / max(1, len(truth))


def test_damaged_upside_down_page_is_read(make_page) -> None:
    damage = Damage(rotation=180, skew_deg=-2.2, lighting=0.6, blur_sigma=0.9, noise_std=10, jpeg_quality=65)
    page, truth = make_page(11, damage, lines=4)
    done = process_page(page, lang="vie")
    assert done.rotation == 180
    assert cer(done.text, truth) < 0.02, done.text
    assert done.text == unicodedata.normalize("NFC", done.text)
    assert 0.7 < done.mean_confidence <= 1.0 and done.flags == ()
    assert [w.line for w in done.words] == sorted(w.line for w in done.words)
    assert max(w.line for w in done.words) == len(truth.splitlines()) - 1
    # Boxes are in the upright original's pixel frame: each one is darker than around it.
    grey = to_grey(done.image).astype(float)
    h, w = grey.shape
    for word in done.words:
        box = word.box
        assert 0 <= box.left < box.right <= w and 0 <= box.top < box.bottom <= h
        inside = grey[box.top : box.bottom, box.left : box.right].mean()
        m = box.height
        around = grey[max(0, box.top - m) : box.bottom + m, max(0, box.left - m) : box.right + m]
        assert inside < (around.sum() - inside * box.width * box.height) / (around.size - box.width * box.height) - 8


def test_word_boxes_follow_the_deskew(make_page) -> None:
    page, truth = make_page(12, Damage(rotation=90, skew_deg=3.0), lines=3)
    done = process_page(page, lang="vie")
    first = truth.split()[0]
    word = next(w for w in done.words if w.text == first)
    # The first word of the first line sits near the upright page's top left margin.
    h, w = done.image.shape[:2]
    assert word.box.left < 0.25 * w and word.box.top < 0.45 * h


def test_born_digital_pages_skip_ocr(resources: Path) -> None:
    pages = read_source(resources / "link.pdf")
    done = process_page(pages[0])
    assert done is pages[0]


def test_pages_in_parallel_keep_their_order(make_page) -> None:
    made = [make_page(seed, Damage(skew_deg=1.0), lines=1) for seed in (13, 14, 15)]
    done = process_pages([p for p, _ in made], lang="vie", workers=2)
    assert [p.index for p in done] == [p.index for p, _ in made]
    for page, (_, truth) in zip(done, made, strict=True):
        assert cer(page.text, truth) < 0.05


def test_rows_join_side_by_side_lines_and_keep_reading_order() -> None:
    from core.model import Box
    from pipeline.ocr import arrange_rows

    items = [
        ("ỦY", 0.9, Box(100, 100, 60, 40), (1, 1, 1)),
        ("BAN", 0.9, Box(170, 102, 80, 38), (1, 1, 1)),
        ("CỘNG", 0.9, Box(1200, 98, 120, 44), (2, 1, 1)),  # the other half of the header, same row
        ("HÒA", 0.9, Box(1330, 99, 90, 41), (2, 1, 1)),
        ("Số:", 0.9, Box(100, 200, 70, 40), (1, 1, 2)),
    ]
    words, text = arrange_rows(items, 72 / 300)
    assert text == "ỦY BAN CỘNG HÒA\nSố:"
    assert [w.line for w in words] == [0, 0, 0, 0, 1]


def test_known_confusions_are_mended() -> None:
    from pipeline.ocr import _fix_known_confusions

    assert _fix_known_confusions("m2", "1735,89") == "m²"
    assert _fix_known_confusions("m2", "phòng") == "m2"
    assert _fix_known_confusions("120m?", "") == "120m²"
    assert _fix_known_confusions("m2?", "1164,26") == "m²" and _fix_known_confusions("m°", "442") == "m²"
    assert _fix_known_confusions("_HUNG", "tiếng") == "HUNG" and _fix_known_confusions("____", "") == "____"
    assert _fix_known_confusions("ho_ten", "") == "ho_ten"


def test_a_capital_u_closing_a_parenthesis_is_the_i_and_the_parenthesis() -> None:
    from pipeline.ocr import _mend_closing_paren, dictionary_words

    known = dictionary_words("vie")
    assert _mend_closing_paren("haÙ", 1, known) == "hai)"  # "(... mươi hai)" read "haÙ"
    assert _mend_closing_paren("mươU", 1, known) == "mươi)"
    assert _mend_closing_paren("haÙ", 0, known) == "haÙ"  # no parenthesis open on the line
    assert _mend_closing_paren("xqÙ", 1, known) == "xqÙ"  # "xqi" is no word
    assert _mend_closing_paren("HÙ", 1, known) == "HÙ" and _mend_closing_paren("Ù", 1, known) == "Ù"


def test_a_digit_between_letters_becomes_the_letter_only_when_that_makes_a_word() -> None:
    from pipeline.ocr import _is_junk, _mend_digit_in_word, dictionary_words

    known = dictionary_words("vie")
    assert _mend_digit_in_word("g1ờ", known) == "giờ"
    assert _mend_digit_in_word("g1ờ,", known) == "giờ,"
    assert _mend_digit_in_word("ch0", known) == "ch0"  # no letter after the digit
    assert _mend_digit_in_word("A1B", known) == "A1B"  # "AIB" is no word: a code stays as read
    assert _mend_digit_in_word("2020", known) == "2020" and _mend_digit_in_word("6/31", known) == "6/31"
    assert _is_junk("ˆ", 80.0) and not _is_junk("-", 80.0) and not _is_junk("/", 80.0)
    # A seal's ring read as letters with no credit at all is dropped; a syllable, or a doubted word, is kept.
    assert _is_junk("Ầ", 0.0) and _is_junk("#ở", 0.0) and _is_junk("iauasxa2", 2.0)
    assert not _is_junk("HÀNG", 2.0) and not _is_junk("Lai.", 7.0)


def test_a_misread_letter_is_mended_only_into_a_dictionary_word() -> None:
    from pipeline.ocr import _mend_misread_letter, dictionary_words

    known = dictionary_words("vie")
    assert _mend_misread_letter("ghỉ", known) == "ghi"  # the i's dot read as a hỏi tone
    assert _mend_misread_letter("(tỉm),", known) == "(tim),"
    assert _mend_misread_letter("GHỈ", known) == "GHI"
    assert _mend_misread_letter("Eull", known) == "Full"  # "Full name" on an ID card
    # Dictionary words stay as read, whichever the document meant.
    assert _mend_misread_letter("chỉ", known) == "chỉ" and _mend_misread_letter("nghỉ", known) == "nghỉ"
    assert _mend_misread_letter("Em", known) == "Em"
    # A word no dictionary knows stays too unless the mended word is one.
    assert _mend_misread_letter("Tày", known) == "Tày" and _mend_misread_letter("Eakar", known) == "Eakar"
    assert _mend_misread_letter("6/31", known) == "6/31" and _mend_misread_letter("E", known) == "E"


def test_a_page_read_the_wrong_way_up_is_flagged_as_a_poor_reading(make_page) -> None:
    """What the page work does when a page's turn went wrong: its reading is garbage, and the page
    says so (``POOR_READING``, with the reading's confidence) instead of passing as a page of text."""
    import numpy as np

    from core.model import PageWarning
    from pipeline.cleanup import clean_page
    from pipeline.ocr import ocr_page

    page, _ = make_page(12, Damage(skew_deg=1.0, lighting=0.3, noise_std=4), lines=6)
    cleaned = clean_page(page)
    assert cleaned.flags == ()
    wrong = ocr_page(replace(cleaned, ocr_image=np.ascontiguousarray(np.rot90(cleaned.ocr_image, 2))))
    (flag,) = wrong.flags
    assert flag.warning is PageWarning.POOR_READING and flag.confidence == round(wrong.mean_confidence, 3) < 0.7
    assert ocr_page(cleaned).flags == ()


def test_doubted_letters_far_flatter_than_the_print_are_dropped() -> None:
    from pipeline.ocr import _drop_flat_letters
    from pipeline.tesseract import TessWord

    def word(text: str, height: int, conf: float) -> TessWord:
        return TessWord(text=text, confidence=conf, left=0, top=0, width=60, height=height, line_key=(1, 1, 1))

    print_ = [word(t, 40, 95) for t in ("Nơi", "nhận:", "Lưu:", "VT,", "NC.")]
    kept = _drop_flat_letters([*print_, word("~nz", 9, 24), word(".", 9, 47), word("xã", 12, 90)])
    assert [w.text for w in kept] == ["Nơi", "nhận:", "Lưu:", "VT,", "NC.", ".", "xã"]  # a sure word stays
    assert _drop_flat_letters([word("~nz", 9, 24)]) == [word("~nz", 9, 24)]  # too few words to tell
