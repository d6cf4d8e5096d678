"""A second reading of the lines Tesseract was unsure of, from the original pixels.

The OCR image is flattened, its paper pushed to white and its rules erased; that makes the page
read well as a whole, but it thins the small marks of Vietnamese (SAO read "SẠO", LIỀN read
"LIÊN", "hai" read "hat"). The original scan still holds them. Lines in which Tesseract trusts some
word less than ``LOW_CONFIDENCE`` are cut out of the original along the page's skew, at 0.8 of
their size (what the field re-reader in ``classifiers`` found best for marks), stacked into one
image a page, and the images of the pages read together are read in one more Tesseract run (about
0.25 s for a batch of three A4 pages; 7 of 12 bench pages had such a line). On 96 damaged bench
pages the mean character error went from 0.108% to 0.093%.

A second reading replaces the first only where it is the same kind of text and Tesseract trusts
it more: the same digits (numbers are never changed here: a digit misread the other way would be
worse than a lost mark), the same punctuation, no letter fewer ("Kim" is not replaced by "Km").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from statistics import median

import cv2
import numpy as np

from core.errors import ExternalToolError
from core.model import Page
from pipeline import tesseract
from pipeline.cleanup import TARGET_DPI, ocr_to_image, to_grey
from pipeline.tesseract import TessWord

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 70.0  # Tesseract's 0..100: a line holding a word below this is read again
SCALE = 0.8  # of the OCR image's size
PAD = 0.45  # of the line's height, around its words: room for the marks above and below
GAP = 0.6  # of the tallest line, white between the stacked lines


@dataclass(frozen=True)
class _Cut:
    key: tuple[int, int, int]
    x0: float  # the cut's corner in the OCR image
    y0: float
    top: int  # where it sits in the stacked image
    height: int


def cut_from_original(page: Page, grey: np.ndarray, ocr_shape: tuple[int, ...], box: tuple[float, float, float, float],
                      *, scale: float = SCALE) -> np.ndarray:
    """The OCR-image rectangle ``box`` sampled from ``grey`` (the upright original in grey) at
    ``scale`` of the OCR image's size: the OCR image is the original scaled and deskewed, an affine
    map, so three corners fix it."""
    x0, y0, x1, y1 = box
    corners = [(x0, y0), (x1, y0), (x0, y1)]
    source = np.float32([ocr_to_image(x, y, ocr_shape=ocr_shape, image_shape=page.image.shape, dpi=page.dpi,
                                      angle=page.skew_angle) for x, y in corners])
    w, h = max(4, round((x1 - x0) * scale)), max(4, round((y1 - y0) * scale))
    target = np.float32([(0, 0), (w, 0), (0, h)])
    matrix = cv2.getAffineTransform(target, source)
    return cv2.warpAffine(grey, matrix, (w, h), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP, borderValue=255)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _marks(text: str) -> str:
    return "".join(sorted(ch for ch in text if not ch.isalnum() and not ch.isspace()))


def better(first: Sequence[TessWord], second: Sequence[TessWord]) -> bool:
    """Whether the second reading of a stretch of a line should replace the first."""
    a, b = " ".join(w.text for w in first), " ".join(w.text for w in second)
    if a == b or not b.strip():
        return False
    if _digits(a) != _digits(b) or _marks(a) != _marks(b):
        return False
    if sum(ch.isalpha() for ch in b) < sum(ch.isalpha() for ch in a):
        return False
    return min(w.confidence for w in second) > min(w.confidence for w in first)


def _groups(first: list[TessWord], second: list[TessWord]) -> list[tuple[list[TessWord], list[TessWord]]]:
    """Stretches of a line where words of the two readings overlap left to right (a word read as
    two, or two as one, stays one stretch); words alone in either reading are left out."""
    items = sorted([(w.left, w.left + w.width, 0, w) for w in first] + [(w.left, w.left + w.width, 1, w) for w in second],
                   key=lambda it: it[0])
    stretches: list[tuple[float, list[TessWord], list[TessWord]]] = []
    for left, right, which, word in items:
        if stretches and left < stretches[-1][0] - 0.3 * min(word.width, right - left):
            end, ones, twos = stretches[-1]
            stretches[-1] = (max(end, right), ones + ([word] if which == 0 else []), twos + ([word] if which else []))
        else:
            stretches.append((right, [word] if which == 0 else [], [word] if which else []))
    return [(ones, twos) for _, ones, twos in stretches if ones and twos]


@dataclass(frozen=True)
class Rereading:
    """What a page's second reading needs: the stacked image of its unsure lines, where each line
    sits in it, and the first reading's words by line."""

    stacked: np.ndarray
    cuts: tuple[_Cut, ...]
    lines: dict[tuple[int, int, int], list[TessWord]]


def plan_rereading(found: list[TessWord], page: Page, ocr_shape: tuple[int, ...],
                   grey: Callable[[], np.ndarray] | None = None) -> Rereading | None:
    """The unsure lines of ``found`` (words in the OCR image's frame) cut from the original (in
    grey: what ``grey()`` gives, when the caller has it) and stacked, or None when the page has none."""
    lines: dict[tuple[int, int, int], list[TessWord]] = {}
    for word in found:
        lines.setdefault(word.line_key, []).append(word)
    # Only words with letters count: digits are never changed here, so a line unsure only of a
    # number or of a speck of punctuation gains nothing from another run of Tesseract.
    unsure = [key for key, words in lines.items()
              if any(w.confidence < LOW_CONFIDENCE and sum(ch.isalpha() for ch in w.text) >= 2 for w in words)]
    if not unsure or page.image is None:
        return None
    pixels = to_grey(page.image) if grey is None else grey()
    cuts: list[_Cut] = []
    pieces: list[np.ndarray] = []
    top = 0
    for key in unsure:
        words = lines[key]
        height = float(median([w.height for w in words]))
        box = (min(w.left for w in words) - PAD * height, min(w.top for w in words) - PAD * height,
               max(w.left + w.width for w in words) + PAD * height, max(w.top + w.height for w in words) + PAD * height)
        piece = cut_from_original(page, pixels, ocr_shape, box)
        cuts.append(_Cut(key, box[0], box[1], top, piece.shape[0]))
        pieces.append(piece)
        top += piece.shape[0] + round(GAP * max(p.shape[0] for p in pieces))
    stacked = np.full((top, max(p.shape[1] for p in pieces)), 255, np.uint8)
    for cut, piece in zip(cuts, pieces, strict=True):
        stacked[cut.top:cut.top + cut.height, :piece.shape[1]] = piece
    return Rereading(stacked, tuple(cuts), {key: lines[key] for key in unsure})


def apply_rereading(found: list[TessWord], plan: Rereading, again: list[TessWord]) -> list[TessWord]:
    """``found`` with the stretches that ``again`` (Tesseract's words of ``plan.stacked``) reads
    better put in their place, see :func:`better`."""
    second: dict[tuple[int, int, int], list[TessWord]] = {}
    for word in again:
        middle = word.top + word.height / 2
        cut = next((c for c in plan.cuts if c.top <= middle < c.top + c.height), None)
        if cut is None:
            continue
        second.setdefault(cut.key, []).append(replace(
            word, left=round(cut.x0 + word.left / SCALE), top=round(cut.y0 + (word.top - cut.top) / SCALE),
            width=max(1, round(word.width / SCALE)), height=max(1, round(word.height / SCALE)), line_key=cut.key))
    replaced: dict[int, list[TessWord]] = {}  # id of a first-reading word -> what stands in its place
    dropped: set[int] = set()
    for key, first in plan.lines.items():
        for ones, twos in _groups(first, second.get(key, [])):
            if better(ones, twos):
                replaced[id(ones[0])] = twos
                dropped.update(id(w) for w in ones[1:])
    out: list[TessWord] = []
    for word in found:
        if id(word) in dropped:
            continue
        out.extend(replaced.get(id(word), [word]))
    return out


def read_again(plans: Sequence[Rereading], *, lang: str) -> list[list[TessWord]] | None:
    """Tesseract's words of every plan's stacked lines, in one run for all of them (a page's lines
    are one block of text: ``--psm 6``); None when Tesseract fails, and the first readings stand."""
    try:
        return tesseract.words_of_images([plan.stacked for plan in plans], lang=lang, psm=6,
                                         dpi=round(TARGET_DPI * SCALE))
    except ExternalToolError as exc:
        log.warning("second reading failed (%s); the first is kept", exc)
        return None


def reread_unsure_lines(found: list[TessWord], page: Page, ocr_shape: tuple[int, ...], *, lang: str) -> list[TessWord]:
    """``found`` (words in the OCR image's frame) with its unsure lines read again, see the module."""
    plan = plan_rereading(found, page, ocr_shape)
    if plan is None:
        return found
    again = read_again([plan], lang=lang)
    return found if again is None else apply_rereading(found, plan, again[0])
