"""Text normalisation shared by the classifier and the extractors.

OCR of Vietnamese loses or swaps tone marks far more often than base letters, so matching is done on
accent-folded, lower-cased text. Folding works character by character and keeps the string length,
so a position found in the folded line is the same position in the printed line and the value can be
sliced from the original (with its marks) after the label was found in the folded copy.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from core.model import Box, Page, Word, nfc

_SPECIAL = {"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ơ": "o", "ư": "u"}


def fold_char(char: str) -> str:
    """One character without its marks, lower-cased; always exactly one character."""
    if char in _SPECIAL:
        return _SPECIAL[char]
    base = unicodedata.normalize("NFD", char)[0]
    if unicodedata.combining(base):
        return " "
    folded = base.lower()
    return folded if len(folded) == 1 else base


def fold(text: str) -> str:
    """NFC text → lower-case ASCII-ish text of the same length (marks dropped, đ→d)."""
    return "".join(fold_char(c) for c in nfc(text))


def squash(text: str) -> str:
    """Folded text with runs of whitespace collapsed: the classifier's input."""
    return re.sub(r"\s+", " ", fold(text)).strip()


@dataclass(frozen=True, slots=True)
class Line:
    """One visual row of a page, with the character span of each of its words and of each of its
    cells (runs of words separated by a wide gap: table columns, label and value columns, the two
    halves of a paired field), so a value sliced out of the text can be traced back to the words
    (their confidences and boxes) it came from and stopped at a column edge."""

    page: int  # index of the page within the document
    text: str
    spans: tuple[tuple[int, int], ...]  # (start, end) in ``text`` of each word
    words: tuple[Word, ...]
    cells: tuple[tuple[int, int], ...] = ()  # (start, end) of each cell; empty: the whole line
    height: float = 0.0  # typical word height in pixels (0 without boxes)

    @property
    def folded(self) -> str:
        return fold(self.text)

    def words_in(self, start: int, end: int) -> tuple[Word, ...]:
        if not self.words:
            return ()
        return tuple(w for (s, e), w in zip(self.spans, self.words, strict=True) if e > start and s < end)

    def confidence(self, start: int, end: int, default: float) -> float:
        """The lowest word confidence in a span: one bad word is enough to doubt a value. Specks
        read as punctuation ("__", "—") say nothing about the value and are left out."""
        words = self.words_in(start, end)
        telling = [w for w in words if any(c.isalnum() for c in w.text)] or list(words)
        return min((w.confidence for w in telling), default=default)

    def box(self, start: int, end: int) -> Box | None:
        words = self.words_in(start, end)
        if not words:
            return None
        box = words[0].box
        for w in words[1:]:
            box = box.union(w.box)
        return box

    def cell_at(self, pos: int) -> tuple[int, int]:
        for start, end in self.cells:
            if start <= pos < end:
                return start, end
        return 0, len(self.text)

    def cells_after(self, pos: int) -> list[tuple[int, int]]:
        return [(s, e) for s, e in self.cells if s >= pos]

    def left_at(self, pos: int) -> float | None:
        """The x of the word at a character position (None without boxes)."""
        for (s, e), w in zip(self.spans, self.words, strict=False):
            if e > pos:
                return float(w.box.left)
        return None


@dataclass
class _Unit:
    words: list[Word]
    centre: float  # deskewed y of the centre
    height: float
    left: float
    right: float
    lefts: list[float]
    rights: list[float]


def _deskew(page: Page) -> tuple[float, float, float, float]:
    h, w = page.image.shape[:2] if page.image is not None else (0, 0)
    angle = math.radians(page.skew_angle)
    return math.cos(angle), math.sin(angle), w / 2.0, h / 2.0


def page_lines(page: Page, page_index: int = 0) -> list[Line]:
    """The page's visual rows top to bottom, from its OCR words when it has them, else from its text
    (a born-digital text layer or a test that only has text), with unknown confidence.

    Tesseract splits a table row or a label/value pair with a wide gap into separate blocks and
    lists them one after the other; rows are rebuilt here from the word boxes (turned back by the
    page's skew angle) so a label and its value in another column are on one line again.
    """
    if not page.words:
        text = page.text or page.text_layer or ""
        return [text_line(raw, page_index) for raw in nfc(text).split("\n") if raw.strip()]
    cos, sin, cx, cy = _deskew(page)
    by_line: dict[int, list[Word]] = {}
    for word in page.words:
        text = word.text.strip()
        if not text or (word.confidence < 0.5 and not any(c.isalnum() for c in text)):
            continue  # specks and rules read as punctuation
        by_line.setdefault(word.line, []).append(word)
    units: list[_Unit] = []
    for words in by_line.values():
        xs, ys = [], []
        for w in words:
            x, y = w.box.left + w.box.width / 2 - cx, w.box.top + w.box.height / 2 - cy
            xs.append(cos * x + sin * y)
            ys.append(-sin * x + cos * y)
        order = sorted(range(len(words)), key=lambda i: xs[i])
        words = [words[i] for i in order]
        xs = [xs[i] for i in order]
        halves = [w.box.width / 2 for w in words]
        height = sorted(w.box.height for w in words)[len(words) // 2]
        units.append(_Unit(words, sum(ys) / len(ys), float(height), xs[0] - halves[0], xs[-1] + halves[-1],
                           [x - hw for x, hw in zip(xs, halves, strict=True)],
                           [x + hw for x, hw in zip(xs, halves, strict=True)]))
    units.sort(key=lambda u: u.centre)
    rows: list[list[_Unit]] = []
    for unit in units:
        for row in reversed(rows[-4:]):
            centre = sum(u.centre for u in row) / len(row)
            height = max(max(u.height for u in row), unit.height)
            disjoint = all(unit.right <= u.left + 0.2 * height or unit.left >= u.right - 0.2 * height for u in row)
            if abs(unit.centre - centre) < 0.45 * height and disjoint:
                row.append(unit)
                break
        else:
            rows.append([unit])
    rows.sort(key=lambda r: sum(u.centre for u in r) / len(r))
    return [_row_line(row, page_index) for row in rows]


def _row_line(row: list[_Unit], page_index: int) -> Line:
    row = sorted(row, key=lambda u: u.left)
    height = max(u.height for u in row)
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    words: list[Word] = []
    cells: list[tuple[int, int]] = []
    pos, cell_start, last_right = 0, 0, None
    for unit in row:
        for word, left, right in zip(unit.words, unit.lefts, unit.rights, strict=True):
            token = nfc(word.text.strip())
            if last_right is not None and left - last_right > 1.3 * height and parts:
                cells.append((cell_start, pos - 1))
                cell_start = pos
            spans.append((pos, pos + len(token)))
            parts.append(token)
            words.append(word)
            pos += len(token) + 1
            last_right = right
    cells.append((cell_start, max(cell_start, pos - 1)))
    return Line(page_index, " ".join(parts), tuple(spans), tuple(words), tuple(cells), float(height))
def text_line(raw: str, page_index: int = 0) -> Line:
    """A line without OCR words (confidence unknown): spans are whitespace-separated tokens."""
    text = " ".join(raw.split())
    spans, pos = [], 0
    for token in text.split(" "):
        spans.append((pos, pos + len(token)))
        pos += len(token) + 1
    return Line(page_index, text, tuple(spans), ())
