"""Two readings of one value put together word by word, marks from whichever reading kept them.

OCR errors on Vietnamese are mostly lost marks, seldom added ones, so where the two readings are
the same word once folded and one carries only marks the other has too, the one with more marks is
taken. Where both carry marks and they conflict, the reading that is a possible syllable wins, and
otherwise the second reading, which was made from the original pixels (``classifiers.reread``).
Wherever the readings did not agree exactly the merge says so: agreement is part of what lets a
value be trusted, a merged or conflicting word never is on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from rapidfuzz import fuzz

from classifiers.syllable import is_syllable, marks_within
from classifiers.text import fold
from pipeline.model import nfc

_WORD = re.compile(r"[^\W_]*[^\W\d_][^\W_]*", re.UNICODE)  # a word, with any digits misread in it


@dataclass(frozen=True, slots=True)
class Merged:
    """The merged text, the words taken from the second reading, and whether the readings agreed
    word for word (the same letters and marks, punctuation aside)."""

    text: str
    taken: tuple[str, ...] = ()  # "PHUNG→PHÙNG"
    agreed: bool = True
    confirmed: frozenset[str] = frozenset()  # words (lower-case) both readings read exactly alike


def _cased(form: str, like: str) -> str:
    """``form`` in the case of ``like`` (the second reading's case is Tesseract's guess)."""
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


def merge_reads(first: str, second: str) -> Merged:
    """``first`` (the page OCR) with each word replaced by the better of its two readings; the
    text between words (numbers, commas) stays as the first reading has it."""
    first, second = nfc(first), nfc(second)
    ones = list(_WORD.finditer(first))
    twos = [m.group(0) for m in _WORD.finditer(second)]
    keys_one = [fold(m.group(0)) for m in ones]
    keys_two = [fold(w) for w in twos]
    replaced: dict[int, str] = {}
    confirmed: set[str] = set()
    agreed = True
    matcher = SequenceMatcher(a=keys_one, b=keys_two, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                word = ones[i].group(0)
                if word.lower() == twos[j].lower():
                    confirmed.add(word.lower())
                else:
                    agreed = False
                    replaced[i] = choose(word, twos[j])
            continue
        agreed = False
        if op == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                word, other = ones[i].group(0), twos[j]
                # a letter misread in one reading only ("V6" / "VÕ"): the possible syllable
                if (not is_syllable(word) and is_syllable(other)
                        and fuzz.ratio(keys_one[i], keys_two[j]) >= 50):
                    replaced[i] = _cased(other, word)
    out, taken, pos = [], [], 0
    for i, match in enumerate(ones):
        out.append(first[pos:match.start()])
        word = replaced.get(i, match.group(0))
        if word != match.group(0):
            taken.append(f"{match.group(0)}→{word}")
        out.append(word)
        pos = match.end()
    out.append(first[pos:])
    return Merged("".join(out), tuple(taken), agreed, frozenset(confirmed))
