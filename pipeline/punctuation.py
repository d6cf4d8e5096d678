"""A period or a comma after a number or a short abbreviation in capitals, told apart by its pixels.

Tesseract's Vietnamese model reads the period of a numbered item as a comma ("5, Dân tộc" for
"5. Dân tộc") on about one form in three, with high confidence. The two marks differ plainly on
the page: a comma's tail hangs below the digits' baseline, a period sits on it. Measured on our
damaged samples at 300 dpi: periods end 0–0.03 of the digits' height below the baseline and are
0.17–0.24 of it tall; commas end 0.17–0.22 below and are 0.35–0.44 tall. Only a word that is a
number and one such mark is looked at; anything unclear is left as read.

Capitals sit on the baseline as digits do, so an abbreviation of two to four plain capitals and its
mark is told the same way: Decree 30 letters print "KT." before a signer's title, which the model
reads "KT," on about one letter in three (Decree 30 tuned seeds 5 and 6). The same model reads the
comma after an abbreviation in a letter's list of recipients as a semicolon ("- Lưu: VT, NC." read
"VT;"); a semicolon has a dot above its comma, at the letters' mid-height, and one read where no
such dot is on the page is the comma. Decree 30 seed 5 mean CER 0.22% -> 0.17%, seed 6 0.18% -> 0.13%.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from pipeline.tesseract import TessWord

INK_LEVEL = 160
# A number, or an abbreviation in capitals without marks ("KT." and "TM." before a signer's title,
# "VT," in a letter's list of recipients): letters with no descender, whose baseline is the digits'.
_NUMBER_AND_MARK = re.compile(r"^(?:\d{1,3}|[A-Z]{2,4})[.,]$")
_ABBREVIATION_SEMICOLON = re.compile(r"^[A-Z]{2,4};$")
PERIOD_MAX_DROP = 0.08  # how far below the baseline a period may end, in digit heights
COMMA_MIN_DROP = 0.12
PERIOD_MAX_HEIGHT = 0.3
COMMA_MIN_HEIGHT = 0.3


def _mark_shape(image: np.ndarray, word: TessWord) -> tuple[float, float] | None:
    """(how far the last mark ends below the digits' baseline, its height), in digit heights."""
    below = max(2, round(0.3 * word.height))  # room for a comma's tail under the word's box
    crop = image[max(0, word.top): word.top + word.height + below, max(0, word.left): word.left + word.width]
    if crop.size == 0:
        return None
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.compare(crop, INK_LEVEL, cv2.CMP_LT), connectivity=8)
    marks = sorted((tuple(int(v) for v in stats[k]) for k in range(1, count) if stats[k, 4] >= 4),
                   key=lambda s: s[0] + s[2])
    if len(marks) < 2:
        return None
    *digits, mark = marks
    top = min(d[1] for d in digits)
    base = max(d[1] + d[3] for d in digits)
    height = base - top
    if height <= 0 or mark[1] < top + 0.5 * height:
        return None  # the last mark does not sit low: not a period or a comma
    return (mark[1] + mark[3] - base) / height, mark[3] / height


def _dot_above(image: np.ndarray, word: TessWord) -> bool | None:
    """Whether ink sits right of the word's letters in the upper part of their height (the dot of a
    semicolon), None when the letters cannot be told."""
    crop = image[max(0, word.top): word.top + word.height, max(0, word.left): word.left + word.width]
    if crop.size == 0:
        return None
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.compare(crop, INK_LEVEL, cv2.CMP_LT), connectivity=8)
    parts = [tuple(int(v) for v in stats[k]) for k in range(1, count) if stats[k, 4] >= 4]
    letters = [p for p in parts if p[3] >= 0.6 * crop.shape[0]]
    if not letters:
        return None
    right = max(p[0] + p[2] for p in letters)
    top, base = min(p[1] for p in letters), max(p[1] + p[3] for p in letters)
    return any(p[0] >= right - 1 and p[1] + p[3] <= top + 0.75 * (base - top) and p[3] < 0.4 * (base - top)
               for p in parts if p not in letters)


def mend_number_marks(words: Sequence[TessWord], image: np.ndarray) -> list[TessWord]:
    """The words with each number's trailing period or comma set to what its pixels show, and an
    abbreviation's semicolon with no dot above its comma read as the comma it is."""
    out: list[TessWord] = []
    for word in words:
        if _ABBREVIATION_SEMICOLON.match(word.text) and _dot_above(image, word) is False:
            word = replace(word, text=word.text[:-1] + ",")
        if _NUMBER_AND_MARK.match(word.text):
            shape = _mark_shape(image, word)
            if shape is not None:
                drop, height = shape
                if word.text.endswith(",") and drop <= PERIOD_MAX_DROP and height < PERIOD_MAX_HEIGHT:
                    word = replace(word, text=word.text[:-1] + ".")
                elif word.text.endswith(".") and drop >= COMMA_MIN_DROP and height >= COMMA_MIN_HEIGHT:
                    word = replace(word, text=word.text[:-1] + ",")
        out.append(word)
    return out
