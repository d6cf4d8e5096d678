"""Words whose marks Tesseract may have lost or mistaken, read once more, each alone, at the full
height of the reader: capitals with stacked marks first, then the marks of real typography.

Upper-case Vietnamese stacks a tone mark on a circumflex or a breve (NGUYỄN, QUYỀN, HIỀN). Tesseract's
recogniser scales every line to 36 pixels high, from the highest mark to the lowest descender of the
line, and an upper-case name on a line of lower-case labels keeps only a few pixels for its tone: it
is the commonest error left on our damaged pages (NGUYỄN read "NGUYÊN", HIỀN read "HIẾN" or "HIỂN",
QUYỀN read "QUYỂN"), and on names and titles, which fields and reuse depend on.

A capital word cut tightly from the original scan and read as one raw line (``--psm 13``: no layout
analysis, the image is the line) gives its marks the whole height. On 66 damaged bench pages
(seeds 2024, 7, 5, 99, 11, 13 and 1, 3, 42, 100, 17; six pages each) this mended 14 words and
changed no right one; on 156 (``sohoa bench ocr`` pages of those seeds, 6 to 24 each) the mean
character error went from 0.094% to 0.073%, 21 pages better and none worse. What made it safe,
each tried and measured there:

- the word alone in its own image: words laid side by side in one image were read worse than the
  first reading (the recogniser reads across them);
- ``--psm 13``, not ``--psm 7``: a single-line segmentation stretches the word's box back down to
  the row's descenders and made right words wrong (QUYỀN read "QUYỂN");
- the cut: a fifth of the word's height above and below, three tenths at each end; a tighter or
  looser cut changed right words;
- a reading replaces the first only when it differs in tone marks alone, drops none, and is
  trusted more (LIỀN is never turned into LIÊN).

At first only capitals with a circumflex or a breve that may carry a tone above it were read (Ậ, Ệ,
Ộ, Ặ carry theirs below), and only when Tesseract trusts them under ``SURE``: about five words a
page, read in one Tesseract run for all the pages of a batch. The classes below were added for
real documents, each measured on the tuned split only (real documents 507, 542 and 11, damage seed
5; Decree 30 seeds 5 and 6; the generator's seed 5).

Small letters lose the same tones on real typography: in Times New Roman, Tesseract's ``vie`` model
reads "cổ" as "cô", "biểu" as "biêu", "xuất" as "xuât", even on an undamaged 300 dpi render, and is
sure of it (the wrong readings come at confidence 60 to 96, as right ones do). So every word in small
letters read with a circumflex or a breve and no tone at all is read again by itself, with half its
height above and below (a tighter cut found fewer of the lost tones; the neighbouring rows are left
in: whitening them around the word lost most of the gain). Its own reading wins only when it puts
one tone on that circumflex or breve and changes nothing else, and the result is a possible
Vietnamese syllable (:mod:`pipeline.syllables`: "xuầt" is not one): a tone read where the first
reading saw none is, on these pages, a tone that is there. About thirty words an A4 page of real
text, in the same Tesseract run as the capitals. On the tuned real documents (damage seed 5) the
mean order-free word error went from 6.55% to 4.94%, 27 words mended and none made wrong.

Capitals lose more than stacked tones on real typography: a bold title set tight under another
line gives its marks to the line above (PHÓ GIÁM ĐỐC read "PHO GIAM", VĂN read "VAN", CHỦ read
"CHU"), and a tone is taken for another (TỈNH read "TĨNH"). So every unsure capital word with a
vowel is read again; one read with no mark at all is cut with half its height above and below, like
the small letters, and takes its own reading when that only adds marks and makes a possible
syllable. Tuned real documents 4.94% -> 4.41%; Decree 30 letters (tuned seed 5) mean CER 0.37% ->
0.30%; the generator's tuned seed 5 (12 pages) 0.05% -> 0.03%.

Hỏi and sắc are taken for each other in small letters too ("tỉnh" read "tính"). A word read with one
tone Tesseract trusts under ``TONED_UNSURE`` is read again the same way and takes a reading with
another tone only when that one is trusted at ``TONED_SURE`` or more (and more than the first): on
the tuned real documents and Decree 30 seeds 5 and 6, the swaps so trusted were all right, the less
trusted ones mostly wrong ("kiểm" read alone "kiếm" at 86). Tuned real documents 4.41% -> 4.27%.

A capital word Tesseract barely trusts is often a title's word misread whole (ĐỐC under PHÓ GIÁM
read "ĐÓOC" at 5): it is read twice, with the tight cut and the loose one, and takes a reading that
is a syllable trusted at 90 or more whatever its letters. Decree 30 seed 5: 0.30% -> 0.25% mean CER,
worst 0.96% -> 0.77%; generator seed 5 0.03% -> 0.02%.

A word in small letters with a mark that no syllable is written as ("Quyét") is read alone too, and
takes a reading with the same letters and other marks that is a syllable. Tuned real documents
3.79% -> 3.71%.

The cost: about fifty words an A4 page of real text are read alone (271 on the five tuned real
pages, against 4 before these classes), about 6 ms of Tesseract's CPU each in one run for the batch:
that run took 1.6 to 1.7 s of CPU on the five pages against 0.27 s, about 0.27 s more a page (a
page's whole clean-up and OCR is about 2 s of CPU here).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.errors import ExternalToolError
from core.model import Page, nfc
from pipeline import tesseract
from pipeline.cleanup import TARGET_DPI
from pipeline.second_reading import cut_from_original
from pipeline.syllables import is_syllable
from pipeline.tesseract import TessWord

log = logging.getLogger(__name__)

# Capitals whose tone, if any, sits on top of another mark.
STACKING = frozenset("ÂẤẦẨẪÊẾỀỂỄÔỐỒỔỖĂẮẰẲẴ")
SURE = 95.0  # Tesseract's 0..100: words trusted this much are right in every bench page
PAD_ENDS = 0.3  # of the word's height, before and after it
PAD_ABOVE_BELOW = 0.2
# Small letters with a circumflex or a breve and no tone.
BARE_STACKING = frozenset("âêôăÂÊÔĂ")
BARE_PAD_ABOVE_BELOW = 0.5
# A reading that adds marks is taken even when trusted less than the first, but not one Tesseract
# itself doubts: a capital GIA read alone as "GIÁ" at 43 (the generator's tuned seed 5).
ADDED_MARKS_FLOOR = 50.0
TONED_UNSURE = 90.0
TONED_SURE = 90.0
# A capital word trusted under this is cut like the small letters and may take a reading with other
# letters, when that one is a syllable trusted at ``TONED_SURE`` (ĐỐC under a title read "ĐÓOC" at 5).
DOUBTED = 50.0
RAW_LINE_PSM = 13

_CORE = re.compile(r"^(\W*)(\w+)(\W*)$")  # a word and the punctuation around it
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng as combining marks


def _without_tones(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(ch for ch in unicodedata.normalize("NFD", text) if ch not in _TONES))


def _tones(text: str) -> int:
    return sum(ch in _TONES for ch in unicodedata.normalize("NFD", text))


def _letters(text: str) -> list[str]:
    return [ch for ch in nfc(text) if ch.isalpha()]


def _base(ch: str) -> str:
    """A letter without any of its marks (tone, circumflex, breve, horn); Đ stays Đ."""
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))


def _marks_of(ch: str) -> set[str]:
    return {c for c in unicodedata.normalize("NFD", ch) if unicodedata.combining(c)}


def _unmarked(text: str) -> bool:
    return not any(_marks_of(ch) for ch in text)


def is_capital_candidate(word: TessWord) -> bool:
    """An upper-case word of two letters or more with a vowel, which Tesseract is not sure of: its
    tone may sit on another mark, have been taken for another (TỈNH read "TĨNH"), or be lost with
    every other mark (a bold title's marks squeezed under the line above: PHÓ read "PHO")."""
    letters = _letters(word.text)
    return (word.confidence < SURE and len(letters) >= 2 and all(ch.isupper() for ch in letters)
            and any(_base(ch) in "AEIOUY" for ch in letters))


def _marks(text: str) -> str:
    """The punctuation of a word, in order."""
    return "".join(ch for ch in text if not ch.isalnum())


def _gains_marks(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with marks added on some of its letters, none taken away or changed."""
    if len(a) != len(b) or a == b:
        return False
    return all(x == y or (_base(x) == _base(y) and _marks_of(x) < _marks_of(y)) for x, y in zip(a, b, strict=True))


def is_bare_candidate(word: TessWord) -> bool:
    """A word in small letters (a capital first allowed) of two letters or more, read with a
    circumflex or a breve and no tone at all: the reading Tesseract gives a tone stacked on a
    circumflex in a serif face when it loses the tone ("cổ" read "cô", "biểu" read "biêu")."""
    letters = _letters(word.text)
    return (len(letters) >= 2 and not all(ch.isupper() for ch in letters)
            and any(ch in BARE_STACKING for ch in letters) and _tones(word.text) == 0)


def is_toned_candidate(word: TessWord) -> bool:
    """A word in small letters (a capital first allowed) of two letters or more, read with one
    tone that Tesseract is unsure of: hỏi and sắc are taken for each other ("tỉnh" read "tính",
    "tổng" read "tống")."""
    letters = _letters(word.text)
    return (word.confidence < TONED_UNSURE and len(letters) >= 2 and not all(ch.isupper() for ch in letters)
            and _tones(word.text) == 1)


def is_misspelt_candidate(word: TessWord) -> bool:
    """A word in small letters (a capital first allowed), with a mark, that no Vietnamese syllable
    is written as: a mark lost or taken for another ("Quyết" read "Quyét")."""
    letters = _letters(word.text)
    core = _CORE.match(nfc(word.text))
    return (core is not None and core.group(2).isalpha() and len(letters) >= 2
            and not all(ch.isupper() for ch in letters) and not _unmarked(word.text)
            and not is_syllable("".join(letters)))


def is_candidate(word: TessWord) -> bool:
    """A word read once more by itself: a capital word it is unsure of, a word in small letters
    with a bare circumflex or breve, with a tone it is unsure of, or spelt as no syllable is."""
    return (is_capital_candidate(word) or is_bare_candidate(word) or is_toned_candidate(word)
            or is_misspelt_candidate(word))


def _gains_stacked_tone(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one tone put on one of its bare circumflexes or breves, and
    nothing else changed."""
    if len(a) != len(b) or _tones(a) or _tones(b) != 1:
        return False
    changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(changed) == 1 and changed[0][0] in BARE_STACKING and _without_tones(changed[0][1]) == changed[0][0]


def better_marks(first: TessWord, second: Sequence[TessWord]) -> bool:
    """Whether the word's own reading should replace the first: one word, the same letters and
    punctuation with other tone marks, none dropped (OCR loses marks far more often than it adds
    them), and trusted more. A word first read with no mark at all, or in small letters with a bare
    circumflex or breve, takes its own reading only when that adds marks and changes nothing else
    (for small letters: one tone, on that circumflex or breve), and the syllable it makes is a
    possible Vietnamese one (see :mod:`pipeline.syllables`); then even when trusted less than the
    first (the marks Tesseract adds where there are none are rarer than the ones it loses), as long
    as Tesseract does not doubt it (``ADDED_MARKS_FLOOR``). A capital word Tesseract doubts
    (``DOUBTED``) takes a syllable with the same punctuation read alone at ``TONED_SURE`` or more,
    whatever its letters; a word in small letters with one unsure tone, another tone read as surely."""
    if len(second) != 1:
        return False
    a, b = nfc(first.text), nfc(second[0].text)
    syllable = is_syllable("".join(_letters(b)))
    if (first.confidence < DOUBTED and is_capital_candidate(first) and second[0].confidence >= TONED_SURE
            and a != b and _marks(a) == _marks(b) and not any(ch.isdigit() for ch in b) and syllable):
        return True
    if is_misspelt_candidate(first) and not is_bare_candidate(first):
        return (len(a) == len(b) and a != b and all(_base(x) == _base(y) for x, y in zip(a, b, strict=True))
                and second[0].confidence >= ADDED_MARKS_FLOOR and syllable)
    if is_bare_candidate(first) or _unmarked(a):
        gains = _gains_stacked_tone(a, b) if is_bare_candidate(first) else _gains_marks(a, b)
        return gains and second[0].confidence >= ADDED_MARKS_FLOOR and syllable
    if second[0].confidence <= first.confidence:
        return False
    if is_toned_candidate(first):
        return (second[0].confidence >= TONED_SURE and a != b and _without_tones(a) == _without_tones(b)
                and _tones(b) == 1 and syllable)
    return a != b and _without_tones(a) == _without_tones(b) and _tones(b) >= _tones(a)


@dataclass(frozen=True)
class MarkReading:
    """The candidate words of one page and their cuts from the original, in the same order."""

    words: tuple[TessWord, ...]
    cuts: tuple[np.ndarray, ...]


def plan_mark_reading(found: Sequence[TessWord], page: Page, grey: Callable[[], np.ndarray],
                      ocr_shape: tuple[int, ...]) -> MarkReading | None:
    """The candidates of ``found`` (words in the OCR image's frame) cut from ``grey()``, the upright
    original in grey (asked for only when there are candidates); None when the page has none."""
    planned = [(word, pad) for word in found if is_candidate(word) for pad in _pads(word)]
    if not planned:
        return None
    pixels = grey()
    cuts = []
    for w, pad in planned:
        box = (w.left - PAD_ENDS * w.height, w.top - pad * w.height,
               w.left + w.width + PAD_ENDS * w.height, w.top + w.height + pad * w.height)
        cuts.append(cut_from_original(page, pixels, ocr_shape, box, scale=1.0))
    return MarkReading(tuple(w for w, _ in planned), tuple(cuts))


def _pads(word: TessWord) -> tuple[float, ...]:
    """How much room above and below each cut of a word gets (a word may be read twice): a capital
    read with marks gets the tight cut its stacked tones were measured with; one read with none, or
    a word in small letters, the loose one; a doubted capital with marks both."""
    if not is_capital_candidate(word) or _unmarked(word.text):
        return (BARE_PAD_ABOVE_BELOW,)
    return (PAD_ABOVE_BELOW, BARE_PAD_ABOVE_BELOW) if word.confidence < DOUBTED else (PAD_ABOVE_BELOW,)


def read_marks(plans: Sequence[MarkReading], *, lang: str) -> list[list[list[TessWord]]] | None:
    """Each plan's words read again, each alone, in one Tesseract run for all of them; None when
    Tesseract fails (the first readings stand)."""
    images = [cut for plan in plans for cut in plan.cuts]
    try:
        words = tesseract.words_of_images(images, lang=lang, psm=RAW_LINE_PSM, dpi=round(TARGET_DPI))
    except ExternalToolError as exc:
        log.warning("reading capitals again failed (%s); the first reading is kept", exc)
        return None
    out, start = [], 0
    for plan in plans:
        out.append(words[start:start + len(plan.cuts)])
        start += len(plan.cuts)
    return out


def with_first_punctuation(first: TessWord, second: Sequence[TessWord]) -> Sequence[TessWord]:
    """A word in small letters read alone, with the punctuation of its first reading: the cut
    reaches a little past the word's ends, and a comma or a period of the line, or a speck, comes
    into the reading ("tổng" read alone "tổng,"). Capitals keep their own reading's: their
    punctuation is compared."""
    if len(second) != 1 or not (is_bare_candidate(first) or is_toned_candidate(first) or is_misspelt_candidate(first)):
        return second
    a, b = _CORE.match(nfc(first.text)), _CORE.match(nfc(second[0].text))
    if a is None or b is None:
        return second
    return [replace(second[0], text=a.group(1) + b.group(2) + a.group(3))]


def apply_mark_reading(found: Sequence[TessWord], plan: MarkReading,
                       again: Sequence[Sequence[TessWord]]) -> list[TessWord]:
    """``found`` with the planned words whose own reading has better marks (see
    :func:`better_marks`) in their place: the new text and confidence, the first reading's box and
    line; of a word read twice, the first of its readings that is better. Planned words no longer in
    ``found`` (another reading replaced them) are left alone."""
    mended = {}
    for word, second in zip(plan.words, again, strict=True):
        second = with_first_punctuation(word, second)
        if word not in mended and better_marks(word, second):
            log.debug("capital read again: %s -> %s", word.text, second[0].text)
            mended[word] = replace(word, text=second[0].text, confidence=second[0].confidence)
    return [mended.get(word, word) for word in found]
