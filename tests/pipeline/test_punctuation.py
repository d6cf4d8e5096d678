"""A number's or a capital abbreviation's trailing period or comma is set by its pixels, whatever
Tesseract read."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.punctuation import mend_number_marks
from pipeline.tesseract import TessWord
from samples.fonts import font as family_font


def printed(text: str, font: tuple[str, bool]) -> tuple[np.ndarray, TessWord]:
    """``text`` at 12 pt and 300 dpi, and the word box Tesseract would report for it."""
    fnt = family_font(font[0], 50, bold=font[1])
    img = Image.new("L", (400, 160), 255)
    draw = ImageDraw.Draw(img)
    draw.text((40, 40), text, font=fnt, fill=0)
    left, top, right, bottom = draw.textbbox((40, 40), text, font=fnt)
    word = TessWord(text=text, confidence=93.0, left=left, top=top, width=right - left, height=bottom - top,
                    line_key=(1, 1, 1))
    return np.asarray(img), word


@pytest.mark.parametrize("font", [("dejavu-serif", False), ("dejavu-sans", False), ("dejavu-serif", True)])
@pytest.mark.parametrize("number", ["5", "12", "4", "KT", "VT"])
def test_period_and_comma_are_told_apart(font: tuple[str, bool], number: str) -> None:
    image, period = printed(f"{number}.", font)
    misread = replace(period, text=f"{number},")
    assert [w.text for w in mend_number_marks([misread, period], image)] == [f"{number}."] * 2
    image, comma = printed(f"{number},", font)
    assert [w.text for w in mend_number_marks([replace(comma, text=f"{number}."), comma], image)] == [f"{number},"] * 2


def test_other_words_are_left_as_read() -> None:
    image, word = printed("125,6", ("dejavu-serif", False))
    words = [word, replace(word, text="Dân,"), replace(word, text="1234."), replace(word, text="5"),
             replace(word, text="ĐỘI,"), replace(word, text="Kt,")]
    assert mend_number_marks(words, image) == words


@pytest.mark.parametrize("font", [("dejavu-serif", False), ("dejavu-sans", False), ("dejavu-serif", True)])
@pytest.mark.parametrize("letters", ["VT", "CT", "UBND"])
def test_an_abbreviations_semicolon_with_no_dot_is_a_comma(font: tuple[str, bool], letters: str) -> None:
    image, comma = printed(f"{letters},", font)
    assert mend_number_marks([replace(comma, text=f"{letters};")], image)[0].text == f"{letters},"
    image, semicolon = printed(f"{letters};", font)
    assert mend_number_marks([semicolon], image)[0].text == f"{letters};"
