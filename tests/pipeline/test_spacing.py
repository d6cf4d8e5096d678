"""Word spaces Tesseract missed: split by typography, by a real gap in the pixels confirmed by the
dictionaries, and close pieces joined — never a split the pixels or the words do not support."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.ocr import dictionary_words
from pipeline.spacing import restore_spaces
from pipeline.tesseract import TessWord
from samples.fonts import font

FONT = font("dejavu-serif", 50)
SPACE = round(FONT.getlength(" "))


def draw_line(pieces: list[tuple[str, int]]) -> tuple[np.ndarray, list[tuple[str, int, int, int, int]]]:
    """A 300 dpi line of text: each piece drawn after a gap of the given pixels; returns the image
    and each piece's ink box (text, left, top, width, height)."""
    img = Image.new("L", (2400, 140), 255)
    draw = ImageDraw.Draw(img)
    x, boxes = 40, []
    for text, gap in pieces:
        x += gap
        left, top, right, bottom = draw.textbbox((x, 40), text, font=FONT)
        draw.text((x, 40), text, font=FONT, fill=0)
        boxes.append((text, left, top, right - left, bottom - top))
        x = right
    return np.asarray(img), boxes


def word(text: str, left: int, top: int, width: int, height: int, line: int = 1) -> TessWord:
    return TessWord(text=text, confidence=91.0, left=left, top=top, width=width, height=height,
                    line_key=(1, 1, line))


def merged(boxes: list, first: int, last: int) -> TessWord:
    """What Tesseract reports when it runs pieces ``first..last`` together: one word, one box."""
    part = boxes[first : last + 1]
    left, top = part[0][1], min(b[2] for b in part)
    right, bottom = part[-1][1] + part[-1][3], max(b[2] + b[4] for b in part)
    return word("".join(b[0] for b in part), left, top, right - left, bottom - top)


@pytest.fixture(scope="module")
def known():
    return dictionary_words("vie")


def texts(words: list[TessWord]) -> list[str]:
    return [w.text for w in words]


def test_a_real_space_inside_a_reported_word_is_put_back(known) -> None:
    image, boxes = draw_line([("Sinh", 0), ("ngày", SPACE), ("/", SPACE), ("Date", SPACE), ("of", SPACE),
                              ("birth:", SPACE), ("25/01/1947", SPACE)])
    words = [word(*b) for b in boxes[:4]] + [merged(boxes, 4, 5), word(*boxes[6])]
    out = restore_spaces(words, image, known)
    assert texts(out) == ["Sinh", "ngày", "/", "Date", "of", "birth:", "25/01/1947"]
    of, birth = out[4], out[5]
    # The halves' boxes end and start at the gap in the pixels.
    assert of.left == boxes[4][1] and abs((of.left + of.width) - (boxes[4][1] + boxes[4][3])) <= 2
    assert abs(birth.left - boxes[5][1]) <= 2 and birth.left + birth.width == boxes[5][1] + boxes[5][3]


def test_no_split_without_a_gap_or_without_words_on_both_sides(known) -> None:
    # "fullname" printed as one word: both halves are words, but there is no space in the pixels.
    image, boxes = draw_line([("Họ", 0), ("tên", SPACE), ("fullname", SPACE)])
    words = [word(*b) for b in boxes]
    assert texts(restore_spaces(words, image, known)) == ["Họ", "tên", "fullname"]
    # A wide gap inside an unknown name: the pixels say space, the words do not.
    image, boxes = draw_line([("Khq", 0), ("rvwx", SPACE), ("Nam", SPACE)])
    words = [merged(boxes, 0, 1), word(*boxes[2])]
    assert texts(restore_spaces(words, image, known)) == ["Khqrvwx", "Nam"]


def test_punctuation_glued_to_the_next_word_is_spaced() -> None:
    image, boxes = draw_line([("xã", 0), ("Tân", SPACE), ("Định,huyện", SPACE), ("V/v", SPACE),
                              ("và/hoặc", SPACE), ("125,6", SPACE), ("lienhe@saomai.vn", SPACE)])
    out = restore_spaces([word(*b) for b in boxes], image, lambda w: False)
    assert texts(out) == ["xã", "Tân", "Định,", "huyện", "V/v", "và/hoặc", "125,6", "lienhe@saomai.vn"]
    dinh, huyen = out[2], out[3]
    assert dinh.left == boxes[2][1] and dinh.left + dinh.width <= huyen.left


def test_a_slash_with_spaces_on_both_sides_is_its_own_word(known) -> None:
    image, boxes = draw_line([("Số", 0), ("ĐDCN", SPACE), ("/", SPACE), ("Personal", SPACE), ("02609", SPACE)])
    words = [word(*boxes[0]), merged(boxes, 1, 3), word(*boxes[4])]
    assert texts(restore_spaces(words, image, known)) == ["Số", "ĐDCN", "/", "Personal", "02609"]
    image, boxes = draw_line([("Ngày", 0), ("và/hoặc", SPACE)])
    assert texts(restore_spaces([word(*b) for b in boxes], image, known)) == ["Ngày", "và/hoặc"]


def test_a_space_inside_a_word_is_closed_when_only_the_join_is_a_word(known) -> None:
    image, boxes = draw_line([("Họ", 0), ("tên", SPACE), ("ĐẶN", SPACE), ("G", 2), ("TRỌNG", SPACE),
                              ("TRUNG", SPACE), ("AN", SPACE), ("TOÀN", 3)])
    out = restore_spaces([word(*b) for b in boxes], image, known)
    # "AN TOÀN" stays two words: both are words on their own.
    assert texts(out) == ["Họ", "tên", "ĐẶNG", "TRỌNG", "TRUNG", "AN", "TOÀN"]
    assert out[2].left == boxes[2][1] and out[2].left + out[2].width == boxes[3][1] + boxes[3][3]


def test_sorted_word_file_is_searched_exactly(tmp_path) -> None:
    from pipeline.tesseract import SortedWords, word_list

    words = sorted({"a", "an", "ánh", "đặng", "người", "of", "zebra", "ư", "birth"}, key=lambda w: w.encode())
    path = tmp_path / "w.words"
    path.write_bytes(b"\n".join(w.encode() for w in words))
    found = SortedWords(str(path))
    assert all(w in found for w in words)
    assert not any(w in found for w in ("", "b", "anh", "ngườ", "zebras", "aa", "đặ", "of\nbirth"))
    # The recogniser's own dictionaries, as installed.
    assert "người" in word_list("vie") and "birth" in word_list("eng") and "ofbirth" not in word_list("eng")


def test_word_lists_without_a_writable_cache(tmp_path, monkeypatch) -> None:
    from pipeline import tesseract

    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    tesseract.word_list.cache_clear()
    try:
        words = tesseract.word_list("vie")
        assert isinstance(words, frozenset) and "người" in words and "ofbirth" not in words
    finally:
        tesseract.word_list.cache_clear()


def test_a_box_reaching_over_the_next_word_is_not_split_at_the_space_before_it(known) -> None:
    # Tesseract's box for "tính" ran on over the "/" after it; the space between the two then lay
    # inside the box and "tính" came out as "tí" + "nh".
    image, boxes = draw_line([("Giới", 0), ("tính", SPACE), ("/", SPACE), ("Sex:", SPACE)])
    words = [word(*b) for b in boxes]
    slash = boxes[2]
    words[1] = word("tính", boxes[1][1], boxes[1][2], slash[1] + slash[3] - boxes[1][1], boxes[1][4])
    out = restore_spaces(words, image, known)
    assert texts(out) == ["Giới", "tính", "/", "Sex:"]
    assert out[1].left + out[1].width <= out[2].left
