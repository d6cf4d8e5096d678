"""OCR: words, boxes and confidences of a cleaned page, through Tesseract.

Tesseract reads ``Page.ocr_image`` (cleaned, deskewed, resampled); every box is mapped back into the
pixel frame of ``Page.image`` (the upright original) so the searchable PDF's invisible text sits on
the words the reader sees and extractors can point at them. All text is NFC.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from statistics import median

import numpy as np

from core.model import Box, Page, PageFlag, PageWarning, Word, nfc
from pipeline import tesseract
from pipeline.cleanup import TARGET_DPI, content_box, ocr_to_image, to_grey, working_scale
from pipeline.punctuation import mend_number_marks
from pipeline.second_reading import Rereading, apply_rereading, plan_rereading, read_again
from pipeline.spacing import restore_spaces
from pipeline.stacked_marks import MarkReading, apply_mark_reading, plan_mark_reading, read_marks
from pipeline.syllables import is_syllable

log = logging.getLogger(__name__)

_JUNK_CONF = 35.0  # Tesseract reports specks and rules as low-confidence punctuation
# A token Tesseract gives no credit at all, when it is a lone letter or no Vietnamese syllable, is a
# seal's ring, a signature's stroke or a stamp's frame read as letters ("Ầ", "iauasxa2" on the real
# documents' seals and signature boxes). A syllable is kept however doubted: a name's HẰNG read
# "HÀNG" at 2 is still most of the name.
_NO_CREDIT = 5.0
JUNK_LINE_CONF = 0.5  # lines whose best word is below this (0..1) are dropped
# A page of ink read at a mean confidence below this is flagged ``POOR_READING``: upright pages of
# the generator read at 0.94..0.95, the same pages read upside down at 0.45..0.54, and the upright
# serif certificate the orientation once turned read at 0.64. Nothing read at all is poor too.
POOR_READING = 0.70


_LONE_MARKS = frozenset("ˆ˜`´¨ˇ˘˙˚^~'")  # a tone or vowel mark read on its own, away from its letter


def _is_junk(text: str, conf: float) -> bool:
    """Low-confidence tokens with no letter or digit are specks, rules or border remnants; runs of
    underscores and bars are pieces of table rules whatever Tesseract's confidence; a mark with no
    letter under it is a speck read as a circumflex or a tilde; a lone letter or a token that is no
    syllable, which Tesseract gives no credit at all, is ink that is not print."""
    if all(ch in _LONE_MARKS for ch in text):
        return True  # (the circumflex and the caron are modifier letters to Python: alphabetic)
    if conf < _NO_CREDIT:
        letters = "".join(ch for ch in text if ch.isalpha())
        return len(letters) <= 1 or not is_syllable(letters)
    if not any(ch.isalnum() for ch in text):
        return conf < _JUNK_CONF or any(ch in "_|~" for ch in text)
    return False


_SQUARE_METRES = re.compile(r"^(\d[\d.,]*)?m(?:2\??|\?|°)([.,;:)]?)$")
_RULE_STUB = re.compile(r"^_+(?=\w)|(?<=\w)_+$")


def _fix_known_confusions(text: str, previous: str) -> str:
    """Tesseract reads the superscript of m² (areas on land certificates) as "2", "?", "2?" or "°":
    after a number, "m2" is square metres. A stub of a fill-in rule glued to a word ("_HUNG") is
    not part of it."""
    if "_" in text and any(ch.isalnum() for ch in text):
        text = _RULE_STUB.sub("", text)
    text = text.replace("\u2044", "/")  # a fraction slash: documents print the plain one ("V/v")
    match = _SQUARE_METRES.match(text)
    if match and (match.group(1) or previous[-1:].isdigit()):
        return f"{match.group(1) or ''}m²{match.group(2)}"
    return text


_DIGIT_AS_LETTER = {"1": "i", "0": "o"}
_DIGIT_IN_WORD = re.compile(r"^([^\W\d_]+)([10])([^\W\d_]+)([.,;:)]?)$")


def _mend_digit_in_word(text: str, known: Callable[[str], bool]) -> str:
    """A 1 or 0 between letters of a word ("g1ờ") is the i or o Tesseract took for a digit, when
    the word with the letter is in a dictionary. Numbers, codes and dates have no letters on both
    sides and are never touched."""
    match = _DIGIT_IN_WORD.match(text)
    if not match:
        return text
    before, digit, after, tail = match.groups()
    letter = _DIGIT_AS_LETTER[digit]
    if before.isupper() and after.isupper():
        letter = letter.upper()
    word = before + letter + after
    return word + tail if known(word.lower()) else text


# A closing parenthesis after an i is read as one capital U, the i's dot as its tone mark ("hai)" read
# "haÙ"): the i-forms to try for each, the one the mark suggests first.
_U_FOR_I_PAREN = {"U": "i", "Ù": "ìi", "Ú": "íi", "Ủ": "ỉi", "Ũ": "ĩi", "Ụ": "ịi"}


def _mend_closing_paren(text: str, open_parens: int, known: Callable[[str], bool]) -> str:
    """A lower-case word ending in a capital U-form, on a line with a parenthesis still open, is
    the word ending in i and the parenthesis closing it, when that word is in a dictionary
    (Vietnamese writes no capital after small letters)."""
    if open_parens <= 0 or len(text) < 2 or text[-1] not in _U_FOR_I_PAREN:
        return text
    stem = text[:-1]
    if not (stem.isalpha() and stem.islower()):
        return text
    for letter in _U_FOR_I_PAREN[text[-1]]:
        if known((stem + letter).lower()):
            return stem + letter + ")"
    return text


_WORD_IN_PUNCTUATION = re.compile(r"^(\W*)(\w+)(\W*)$")
# Letters Tesseract reads for others, the letter meant: the dot of an i taken for a hỏi tone ("ghi"
# read "ghỉ", "tim" read "tỉm"), an F whose foot is lost to noise read as an E ("Full name" read
# "Eull name" on ID cards).
_READ_FOR = str.maketrans({"ỉ": "i", "Ỉ": "I"})
_FIRST_READ_FOR = str.maketrans({"E": "F"})


def _mend_misread_letter(text: str, known: Callable[[str], bool]) -> str:
    """A word that is in no dictionary, mended when one letter Tesseract is known to misread,
    replaced by the letter it stands for, makes it a dictionary word ("ghỉ" is "ghi", "Eull" is
    "Full"). A dictionary word is never touched ("chỉ" and "nghỉ" stay), nor a name the dictionary
    does not know unless the mended word is one it does (on 156 bench pages: 9 words mended, none
    made wrong; dropping any tone this way turned the ethnic group "Tày" into "Tay")."""
    match = _WORD_IN_PUNCTUATION.match(text)
    if not match:
        return text
    before, word, after = match.groups()
    if not word.isalpha() or known(word.lower()):
        return text
    mended = (word[0].translate(_FIRST_READ_FOR) + word[1:]).translate(_READ_FOR)
    return before + mended + after if mended != word and known(mended.lower()) else text


# Tesseract's page segmentation: one column of text of varying sizes (4), not its full layout analysis
# (3). On administrative documents the full analysis takes the column of item numbers of a numbered
# form ("1.", "2.", ...) for a line of vertical text and reads it as a row of symbols; 4 keeps them
# on their lines and was as good or better for every document type in our samples.
PAGE_PSM = 4

ROW_TOLERANCE_PT = 3.5  # rows whose tops are closer than this are one row of text
MIN_SKEW = 0.05  # degrees; below this nothing is turned


@dataclass(frozen=True)
class DisplayFrame:
    """The page as the searchable PDF shows it: the upright original turned by its skew angle about
    its centre onto a canvas grown to keep the corners (the pixels stay untouched; the PDF's drawing
    matrix does the turn). Text rows are level here, so this is where rows are found and where the
    invisible text is drawn."""

    width: float
    height: float
    angle: float  # degrees, OpenCV's sign (positive turns counter-clockwise on screen)
    image_width: int
    image_height: int

    @classmethod
    def of(cls, image_shape: tuple[int, ...], skew_angle: float) -> DisplayFrame:
        h, w = image_shape[0], image_shape[1]
        angle = skew_angle if abs(skew_angle) >= MIN_SKEW else 0.0
        rad = math.radians(abs(angle))
        return cls(w * math.cos(rad) + h * math.sin(rad), h * math.cos(rad) + w * math.sin(rad), angle, w, h)

    def point(self, x: float, y: float) -> tuple[float, float]:
        if not self.angle:
            return x, y
        rad = math.radians(self.angle)
        dx, dy = x - self.image_width / 2, y - self.image_height / 2
        return (
            math.cos(rad) * dx + math.sin(rad) * dy + self.width / 2,
            -math.sin(rad) * dx + math.cos(rad) * dy + self.height / 2,
        )

    def box(self, box: Box) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of a word: its centre turned, its size kept."""
        cx, cy = self.point(box.left + box.width / 2, box.top + box.height / 2)
        return cx - box.width / 2, cy - box.height / 2, cx + box.width / 2, cy + box.height / 2


def row_geometry(boxes: Sequence[tuple[float, float, float, float]]) -> tuple[float, float]:
    """(top, bottom) in pixels of one row of text as the searchable PDF draws it, from the words'
    display boxes: the median word bottom as baseline, the median word height as size (robust to a
    tall capital or a stray mark)."""
    bottom = float(median([b[3] for b in boxes]))
    height = float(median([b[3] - b[1] for b in boxes]))
    return bottom - height, bottom


def arrange_rows(
    items: Sequence[tuple[str, float, Box, Hashable]], pt_per_px: float, frame: DisplayFrame | None = None
) -> tuple[tuple[Word, ...], str]:
    """Words (text, confidence 0..1, box, source-line key) as rows of the page, top to bottom, each
    read left to right; returns the words numbered by row and the page text.

    Lines that sit side by side (a form's label and value, the two halves of an administrative
    header) become one row, as a reader sees them — and as pdfplumber reads the searchable PDF back:
    rows whose tops in the display frame (per :func:`row_geometry`) lie within ``ROW_TOLERANCE_PT``
    are merged until none do, a margin wider than pdfplumber's 3 pt, so the PDF reads back into
    exactly these rows.
    """
    place = frame.box if frame is not None else (lambda b: (b.left, b.top, b.right, b.bottom))
    groups: dict[Hashable, list[tuple[str, float, Box, tuple[float, float, float, float]]]] = {}
    for text, conf, box, key in items:
        groups.setdefault(key, []).append((text, conf, box, place(box)))
    # Lines that overlap vertically by half their height are one row (label and value cells of a
    # table, the two halves of a header); then rows drawn closer than the tolerance are merged too,
    # which is what makes the PDF read back exactly.
    def extent(ws: list) -> tuple[float, float]:
        return float(median([d[1] for *_, d in ws])), float(median([d[3] for *_, d in ws]))

    lines = sorted(groups.values(), key=lambda ws: extent(ws)[0])
    rows: list[list[tuple[str, float, Box, tuple[float, float, float, float]]]] = []
    for line in lines:
        top, bottom = extent(line)
        if rows:
            rtop, rbottom = extent(rows[-1])
            overlap = min(bottom, rbottom) - max(top, rtop)
            if overlap >= 0.5 * min(bottom - top, rbottom - rtop):
                rows[-1] = rows[-1] + line
                continue
        rows.append(list(line))
    while True:
        rows.sort(key=lambda ws: row_geometry([d for *_, d in ws])[0])
        merged: list[list[tuple[str, float, Box, tuple[float, float, float, float]]]] = []
        last_top = None
        changed = False
        for row in rows:
            top = row_geometry([d for *_, d in row])[0] * pt_per_px
            if last_top is not None and top - last_top <= ROW_TOLERANCE_PT:
                merged[-1] = merged[-1] + row
                changed = True
            else:
                merged.append(row)
                last_top = top
        rows = merged
        if not changed:
            break
    words: list[Word] = []
    texts: list[str] = []
    for n, row in enumerate(rows):
        row.sort(key=lambda w: (w[3][0], w[3][1]))
        texts.append(" ".join(t for t, *_ in row))
        words.extend(Word(text=t, confidence=c, box=b, line=n) for t, c, b, _ in row)
    return tuple(words), "\n".join(texts)


def dictionary_words(lang: str) -> Callable[[str], bool]:
    """Whether a lower-cased word is in the dictionary of one of the page's languages or of English
    (Vietnamese documents carry English labels). The word lists load at the first question, so a
    page with nothing to ask costs nothing."""
    langs = [part for part in lang.split("+") if part]
    if "eng" not in langs and "eng" in tesseract.languages():
        langs.append("eng")
    return lambda word: any(word in tesseract.word_list(part) for part in langs)


@dataclass(frozen=True)
class _Reading:
    """One page on its way through Tesseract: the image it reads and where the read part sits."""

    page: Page
    image: np.ndarray  # the OCR image, or the page's own pixels in grey when it was not cleaned
    cleaned: bool
    crop: tuple[int, int, int, int]  # (left, top, right, bottom) of what Tesseract is given

    @classmethod
    def of(cls, page: Page) -> _Reading:
        image = page.ocr_image if page.ocr_image is not None else to_grey(page.image)
        cleaned = page.ocr_image is not None
        crop = content_box(image) if cleaned else (0, 0, image.shape[1], image.shape[0])
        return cls(page, image, cleaned, crop)

    @property
    def dpi(self) -> int:
        return round(TARGET_DPI if self.cleaned else self.page.dpi)

    def tesseract_image(self) -> np.ndarray:
        left, top, right, bottom = self.crop
        return self.image[top:bottom, left:right]


def ocr_page(page: Page, *, lang: str = "vie") -> Page:
    """Word boxes (in the upright original's pixel frame), text and mean confidence of one page."""
    return ocr_pages([page], lang=lang)[0]


def ocr_pages(pages: Sequence[Page], *, lang: str = "vie") -> list[Page]:
    """:func:`ocr_page` of several pages, with one Tesseract run for all their first readings, one
    for all their unsure lines (:mod:`pipeline.second_reading`) and one for all their capitals with
    stacked marks (:mod:`pipeline.stacked_marks`): Tesseract's start-up is paid once, not once a page."""
    readings = [_Reading.of(page) for page in pages if not page.blank]
    found: dict[int, list[tesseract.TessWord]] = {}
    for dpi in sorted({r.dpi for r in readings}):
        group = [n for n, r in enumerate(readings) if r.dpi == dpi]
        results = tesseract.words_of_images([readings[n].tesseract_image() for n in group], lang=lang,
                                            psm=PAGE_PSM, dpi=dpi)
        for n, words in zip(group, results, strict=True):
            left, top = readings[n].crop[:2]
            found[n] = [replace(tw, left=tw.left + left, top=tw.top + top) for tw in words] if left or top else words
    plans: dict[int, Rereading] = {}
    mark_plans: dict[int, MarkReading] = {}
    for n, r in enumerate(readings):
        if not r.cleaned:
            continue
        # One page's grey original at a time, made only when a plan has something to cut from it.
        grey = functools.cache(functools.partial(to_grey, r.page.image))
        if (plan := plan_rereading(found[n], r.page, r.image.shape, grey)) is not None:
            plans[n] = plan
        if (marks := plan_mark_reading(found[n], r.page, grey, r.image.shape)) is not None:
            mark_plans[n] = marks
        del grey
    # Both second readings are planned from the first and read apart: the marks' Tesseract run goes
    # beside the lines', on a core of its own where one is free (a one-page upload's second core),
    # and each is applied in the same order as before.
    beside = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sohoa-marks") if plans and mark_plans else None
    try:
        marks_read = beside.submit(read_marks, list(mark_plans.values()), lang=lang) if beside else None
        if plans:
            again = read_again(list(plans.values()), lang=lang)
            if again is not None:
                for (n, plan), words in zip(plans.items(), again, strict=True):
                    found[n] = apply_rereading(found[n], plan, words)
        marks_again = marks_read.result() if marks_read else (
            read_marks(list(mark_plans.values()), lang=lang) if mark_plans else None)
    finally:
        if beside is not None:  # not waited for when the page is stopped over its budget
            beside.shutdown(wait=False, cancel_futures=True)
    if mark_plans and marks_again is not None:
        for (n, marks), words in zip(mark_plans.items(), marks_again, strict=True):
            found[n] = apply_mark_reading(found[n], marks, words)
    finished = iter([_finish(r, found[n], lang) for n, r in enumerate(readings)])
    return [replace(page, words=(), text="", mean_confidence=0.0) if page.blank else next(finished)
            for page in pages]


FLAT = 0.45  # of the page's median height of words with letters
FLAT_CONF = 50.0


def _drop_flat_letters(found: list[tesseract.TessWord]) -> list[tesseract.TessWord]:
    """Without the doubted "words" far flatter than the page's print: letters are never that flat,
    a signature's stroke or a seal's arc read as letters is ("~nz" 9 pixels high under a Decree 30
    letter's list of recipients, its words 40)."""
    heights = [tw.height for tw in found if any(ch.isalpha() for ch in tw.text)]
    if len(heights) < 5:
        return found
    floor = FLAT * float(median(heights))
    return [tw for tw in found
            if not (tw.height < floor and tw.confidence < FLAT_CONF and any(ch.isalpha() for ch in tw.text))]


def _finish(reading: _Reading, found: list[tesseract.TessWord], lang: str) -> Page:
    """The page's words from Tesseract's: spaces restored, junk dropped, known confusions mended,
    boxes mapped back into the original's frame, arranged in rows."""
    page, image, cleaned = reading.page, reading.image, reading.cleaned
    known = dictionary_words(lang)
    found = _drop_flat_letters(mend_number_marks(restore_spaces(found, image, known), image))
    h, w = page.image.shape[:2]
    scale = working_scale(h, w, page.dpi)
    items: list[tuple[str, float, Box, Hashable]] = []
    previous: dict[Hashable, str] = {}
    open_parens: dict[Hashable, int] = {}  # "(" less ")" so far on each line
    for tw in found:
        text = nfc(tw.text)
        if not text or _is_junk(text, tw.confidence):
            continue
        text = _mend_digit_in_word(_fix_known_confusions(text, previous.get(tw.line_key, "")), known)
        text = _mend_closing_paren(text, open_parens.get(tw.line_key, 0), known)
        text = _mend_misread_letter(text, known)
        previous[tw.line_key] = text
        open_parens[tw.line_key] = open_parens.get(tw.line_key, 0) + text.count("(") - text.count(")")
        if not text:
            continue
        if cleaned:
            # The word's centre goes back through the deskew; its size only through the scale (a
            # box around the turned rectangle would grow with the skew).
            cx, cy = ocr_to_image(tw.left + tw.width / 2, tw.top + tw.height / 2, ocr_shape=image.shape,
                                  image_shape=page.image.shape, dpi=page.dpi, angle=page.skew_angle)
            bw, bh = tw.width / scale, tw.height / scale
            left, top = max(0, round(cx - bw / 2)), max(0, round(cy - bh / 2))
            right, bottom = min(w, round(cx + bw / 2)), min(h, round(cy + bh / 2))
        else:
            left, top, right, bottom = tw.left, tw.top, tw.left + tw.width, tw.top + tw.height
        box = Box(left, top, max(1, right - left), max(1, bottom - top))
        items.append((text, max(0.0, min(1.0, tw.confidence / 100.0)), box, tw.line_key))
    # A line in which Tesseract trusts no word at all is a stamp, a signature or a photo read as text.
    best: dict[Hashable, float] = {}
    for _, conf, _, key in items:
        best[key] = max(best.get(key, 0.0), conf)
    items = [item for item in items if best[item[3]] >= JUNK_LINE_CONF]
    frame = DisplayFrame.of(page.image.shape, page.skew_angle)
    words, text = arrange_rows(items, 72.0 / (page.dpi or TARGET_DPI), frame)
    mean = float(np.mean([wd.confidence for wd in words])) if words else 0.0
    log.info("%s: %d words, mean confidence %.2f", page.label, len(words), mean)
    flags = page.flags
    if mean < POOR_READING:
        log.warning("%s: poor reading (%d words, mean confidence %.2f); flagged for review", page.label,
                    len(words), mean)
        flags = (*flags, PageFlag(PageWarning.POOR_READING, round(mean, 3)))
    return replace(page, words=tuple(words), text=nfc(text), mean_confidence=mean, flags=flags)
