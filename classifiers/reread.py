"""Readings of one value's row alone: cut out of the original scan, straightened, read by Tesseract.

The page OCR reads the cleaned page (flattened, paper pushed to white, resampled), where the small
marks above upper-case letters are often lost ("PHÙNG" read "PHUNG", "THÊU" read "THEU") and a lexicon can only guess them back. The
original grey pixels still hold those marks: the value's row, cut out along the page's skew and read
as one text line (``--psm 7``), gives them back far more often. Measured on the rows where the page
OCR and a row reading disagreed (held-out bench names and places, seed 101): of 295 words, the page
OCR read 232 right, the row at its own 300 dpi 277, at 0.8 of it 288, at 1.5 or 2 times fewer
(upscaling blurs the marks), binarised 280. Hence ``SCALES``: the first row reading at 0.8, a
second at 1.0 to settle words where the first and the page disagree.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Protocol

import cv2
import numpy as np

from core.errors import ExternalToolError
from core.model import Page, Word, nfc

log = logging.getLogger(__name__)

class OcrWord(Protocol):
    text: str
    confidence: float  # 0..100, as the OCR engine reports it


# Reads one row cut from the scan at the given dpi (``pipeline.tesseract.read_line`` in the flow):
# the OCR engine is handed in, so field extraction stays a function of its arguments.
LineReader = Callable[[np.ndarray, int], Sequence[OcrWord]]
SCALES = (0.8, 1.0)
_PAD = 0.45  # of the row height, around the words: room for the marks above and below


def row_crop(page: Page, words: Sequence[Word]) -> np.ndarray | None:
    """The rectangle around ``words`` (one row) in the deskewed frame, sampled from the original
    page pixels in grey, or None without an image or words."""
    if page.image is None or not words:
        return None
    image = page.image if page.image.ndim == 2 else cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
    h, w = image.shape[:2]
    angle = math.radians(page.skew_angle)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = w / 2.0, h / 2.0
    lefts, rights, ys, heights = [], [], [], []
    for word in words:
        x = word.box.left + word.box.width / 2 - cx
        y = word.box.top + word.box.height / 2 - cy
        u, v = cos * x + sin * y, -sin * x + cos * y  # the same turn as classifiers.text rows use
        lefts.append(u - word.box.width / 2)
        rights.append(u + word.box.width / 2)
        ys.append(v)
        heights.append(word.box.height)
    height = float(max(heights))
    pad = _PAD * height
    u0, u1 = min(lefts) - pad, max(rights) + pad
    v0 = sum(ys) / len(ys) - height / 2 - pad
    out_w, out_h = int(u1 - u0), int(height + 2 * pad)
    if out_w < 4 or out_h < 4:
        return None
    # destination (s, t) → source: turn (u0 + s, v0 + t) back into the page frame
    matrix = np.array([[cos, -sin, cos * u0 - sin * v0 + cx], [sin, cos, sin * u0 + cos * v0 + cy]])
    return cv2.warpAffine(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderValue=255)


def reread_row(page: Page, words: Sequence[Word], read_line: LineReader, scale: float = 1.0) -> tuple[str, float] | None:
    """The row's text as Tesseract reads it alone from the crop resized by ``scale``, with its
    weakest word's confidence (0..1); None when there is nothing to read or Tesseract gave nothing."""
    crop = row_crop(page, words)
    if crop is None:
        return None
    if scale != 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    dpi = round((page.dpi or 300) * scale)
    try:
        found = read_line(crop, dpi)
    except ExternalToolError as exc:
        log.warning("second reading failed: %s", exc)
        return None
    if not found:
        return None
    text = nfc(" ".join(w.text for w in found))
    return text, min(w.confidence for w in found) / 100.0
