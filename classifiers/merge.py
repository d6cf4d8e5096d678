"""Readings of one value put together word by word: the form two readings share, else the marks of
whichever reading kept them.

OCR errors on Vietnamese are mostly lost marks, seldom added ones. Where two of the readings (the
page OCR and one or two readings of the value's row, ``classifiers.reread``) read a word exactly
alike, that form is taken. Otherwise, where the page's and the row's reading are the same word once
folded and one carries only marks the other has too, the one with more marks is taken; where their
marks conflict, the reading that is a possible syllable wins, and otherwise the row's reading, made
from the original pixels. Wherever the readings did not all agree the merge says so: agreement is
part of what lets a value be trusted, a merged or conflicting word never is on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from rapidfuzz import fuzz

from classifiers.syllable import is_syllable, marks_within
from classifiers.text import fold
from core.model import nfc

_WORD = re.compile(r"[^\W_]*[^\W\d_][^\W_]*", re.UNICODE)  # a word, with any digits misread in it


@dataclass(frozen=True, slots=True)
class Merged:
    """The merged text, the words taken from other readings, and whether all readings agreed word
    for word (the same letters and marks, punctuation aside)."""

    text: str
    taken: tuple[str, ...] = ()  # "PHUNG→PHÙNG"
    agreed: bool = True
    confirmed: frozenset[str] = frozenset()  # words (lower-case) two readings read exactly alike


def _cased(form: str, like: str) -> str:
    """``form`` in the case of ``like`` (the second reading's case is Tesseract's guess), unless
    ``like`` is no word at all ("D6" for "Đô", "S6" for "Số")."""
    if not like.isalpha():
        return form
    if like.isupper():
        return form.upper()
    if like[:1].isupper():
        return form[:1].upper() + form[1:].lower()
    return form.lower()


def choose(first: str, second: str) -> str:
    """One word from two readings that fold to the same letters."""
    a, b = first.lower(), second.lower()
    if a == b:
        return first
    if marks_within(a, b):
        chosen = b if is_syllable(b) or not is_syllable(a) else a
    elif marks_within(b, a):
        chosen = a
    elif is_syllable(a) != is_syllable(b):
        chosen = a if is_syllable(a) else b
    else:
        chosen = b
    return _cased(chosen, first)


def _aligned(ones: list[re.Match[str]], other: str) -> tuple[dict[int, str], bool]:
    """For each word of the first reading, the word of ``other`` read in its place (the same word
    once folded, or a one-for-one replacement that looks alike), and whether ``other`` agreed with
    the first reading word for word."""
    twos = [m.group(0) for m in _WORD.finditer(nfc(other))]
    keys_one = [fold(m.group(0)) for m in ones]
    keys_two = [fold(w) for w in twos]
    out: dict[int, str] = {}
    agreed = True
    for op, i1, i2, j1, j2 in SequenceMatcher(a=keys_one, b=keys_two, autojunk=False).get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                out[i] = twos[j]
                agreed = agreed and ones[i].group(0).lower() == twos[j].lower()
            continue
        agreed = False
        if op == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                # a letter misread in one reading only ("V6" / "VÕ"): kept as a candidate
                if fuzz.ratio(keys_one[i], keys_two[j]) >= 50:
                    out[i] = twos[j]
    return out, agreed


def _decide(word: str, others: list[str]) -> tuple[str, bool]:
    """One word from its readings (the page's first, then the rows' in order): the form two
    readings share; else, when the row readings agree on letters the page read otherwise, the
    better of the row readings; else the better of the page's and the first row's (the row read at
    the size that reads best, ``classifiers.reread``). The flag says whether two readings shared
    the form. (A vote mark by mark over three readings was tried and lost more words than it won.)"""
    readings = [word, *others]
    lowered = [r.lower() for r in readings]
    for form, reading in dict(zip(reversed(lowered), reversed(readings), strict=True)).items():
        if lowered.count(form) >= 2 and form.isalpha():
            return _cased(reading, word), True
    if not others:
        return word, False
    rows = lowered[1:]
    if len(rows) >= 2 and fold(rows[0]) == fold(rows[1]) != fold(word) and is_syllable(rows[0]):
        return _cased(choose(others[0], others[1]), word), False
    other = others[0]
    if fold(other) == fold(word):
        return choose(word, other), False
    # letters differ: only a possible syllable replaces an impossible one
    return (_cased(other, word) if not is_syllable(word) and is_syllable(other) else word), False


def merge_reads(first: str, *others: str) -> Merged:
    """``first`` (the page OCR) with each word replaced by the best of its readings (``others``,
    best reading first): the form two readings share, else :func:`choose` between the first two.
    The text between words (numbers, commas) stays as the first reading has it."""
    first = nfc(first)
    ones = list(_WORD.finditer(first))
    alignments = [_aligned(ones, other) for other in others]
    agreed = all(a for _, a in alignments)
    confirmed: set[str] = set()
    out, taken, pos = [], [], 0
    for i, match in enumerate(ones):
        read = match.group(0)
        word, shared = _decide(read, [a[i] for a, _ in alignments if i in a])
        if shared:
            confirmed.add(word.lower())
        out.append(first[pos:match.start()])
        if word != read:
            taken.append(f"{read}→{word}")
        out.append(word)
        pos = match.end()
    out.append(first[pos:])
    return Merged("".join(out), tuple(taken), agreed, frozenset(confirmed))
