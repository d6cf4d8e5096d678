"""Text normalisation shared by the classifier and the extractors.

OCR of Vietnamese loses or swaps tone marks far more often than base letters, so matching is done on
accent-folded, lower-cased text. Folding works character by character and keeps the string length,
so a position found in the folded line is the same position in the printed line and the value can be
sliced from the original (with its marks) after the label was found in the folded copy.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.model import Box, Page, Word, nfc

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
    """One OCR line with the character span of each of its words, so a value sliced out of the
    line text can be traced back to the words (their confidences and boxes) it came from."""

    page: int  # index of the page within the document
    text: str
    spans: tuple[tuple[int, int], ...]  # (start, end) in ``text`` of each word
    words: tuple[Word, ...]

    @property
    def folded(self) -> str:
        return fold(self.text)

    def words_in(self, start: int, end: int) -> tuple[Word, ...]:
        if not self.words:
            return ()
        return tuple(w for (s, e), w in zip(self.spans, self.words, strict=True) if e > start and s < end)

    def confidence(self, start: int, end: int, default: float) -> float:
        """The lowest word confidence in a span: one bad word is enough to doubt a value."""
        words = self.words_in(start, end)
        return min((w.confidence for w in words), default=default)

    def box(self, start: int, end: int) -> Box | None:
        words = self.words_in(start, end)
        if not words:
            return None
        box = words[0].box
        for w in words[1:]:
            box = box.union(w.box)
        return box


def page_lines(page: Page, page_index: int = 0) -> list[Line]:
    """The page's lines in reading order, from its OCR words when it has them, else from its text
    (a born-digital text layer or a test that only has text), with full confidence."""
    if page.words:
        by_line: dict[int, list[Word]] = {}
        for word in page.words:
            if word.text.strip():
                by_line.setdefault(word.line, []).append(word)
        lines = []
        for number in sorted(by_line):
            words = sorted(by_line[number], key=lambda w: w.box.left)
            parts, spans, pos = [], [], 0
            for w in words:
                token = nfc(w.text.strip())
                spans.append((pos, pos + len(token)))
                parts.append(token)
                pos += len(token) + 1
            lines.append(Line(page_index, " ".join(parts), tuple(spans), tuple(words)))
        return lines
    text = page.text_layer if page.text_layer is not None and not page.text else page.text
    return [text_line(raw, page_index) for raw in nfc(text).split("\n") if raw.strip()]


def text_line(raw: str, page_index: int = 0) -> Line:
    """A line without OCR words (confidence unknown): spans are whitespace-separated tokens."""
    text = " ".join(raw.split())
    spans, pos = [], 0
    for token in text.split(" "):
        spans.append((pos, pos + len(token)))
        pos += len(token) + 1
    return Line(page_index, text, tuple(spans), ())
