"""OCR: words, boxes and confidences of a cleaned page, through Tesseract.

Tesseract reads ``Page.ocr_image`` (cleaned, deskewed, resampled); every box is mapped back into the
pixel frame of ``Page.image`` (the upright original) so the searchable PDF's invisible text sits on
the words the reader sees and extractors can point at them. All text is NFC.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import replace

import numpy as np

from pipeline import tesseract
from pipeline.cleanup import TARGET_DPI, ocr_to_image, to_grey, working_scale
from pipeline.model import Box, Page, Word, nfc

log = logging.getLogger(__name__)

_JUNK_CONF = 35.0  # Tesseract reports specks and rules as low-confidence punctuation


def _is_junk(text: str, conf: float) -> bool:
    """Low-confidence tokens with no letter or digit are specks, rules or border remnants."""
    return conf < _JUNK_CONF and not any(ch.isalnum() for ch in text)


ROW_TOLERANCE_PT = 3.5  # rows whose tops are closer than this are one row of text


def row_geometry(boxes: Sequence[Box]) -> tuple[float, float]:
    """(top, bottom) in pixels of one row of text as the searchable PDF draws it: the median word
    bottom as baseline, the median word height as size (robust to a tall capital, and to the tilt
    left on a line of a skewed original)."""
    bottom = float(np.median([b.bottom for b in boxes]))
    height = float(np.median([b.height for b in boxes]))
    return bottom - height, bottom


def arrange_rows(
    items: Sequence[tuple[str, float, Box, Hashable]], pt_per_px: float
) -> tuple[tuple[Word, ...], str]:
    """Words (text, confidence 0..1, box, source-line key) as rows of the page, top to bottom, each
    read left to right; returns the words numbered by row and the page text.

    Lines that sit side by side (a form's label and value, the two halves of an administrative
    header) become one row, as a reader sees them — and as pdfplumber reads the searchable PDF back:
    rows whose tops (per :func:`row_geometry`) lie within ``ROW_TOLERANCE_PT`` are merged until
    none do, a margin wider than pdfplumber's 3 pt, so the PDF reads back into exactly these rows.
    """
    groups: dict[Hashable, list[tuple[str, float, Box]]] = {}
    for text, conf, box, key in items:
        groups.setdefault(key, []).append((text, conf, box))
    rows = list(groups.values())
    while True:
        rows.sort(key=lambda ws: row_geometry([b for _, _, b in ws])[0])
        merged: list[list[tuple[str, float, Box]]] = []
        last_top = None
        changed = False
        for row in rows:
            top = row_geometry([b for _, _, b in row])[0] * pt_per_px
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
        row.sort(key=lambda w: (w[2].left, w[2].top))
        texts.append(" ".join(t for t, _, _ in row))
        words.extend(Word(text=t, confidence=c, box=b, line=n) for t, c, b in row)
    return tuple(words), "\n".join(texts)


def ocr_page(page: Page, *, lang: str = "vie+eng") -> Page:
    """Word boxes (in the upright original's pixel frame), text and mean confidence of one page."""
    if page.blank:
        return replace(page, words=(), text="", mean_confidence=0.0)
    image = page.ocr_image if page.ocr_image is not None else to_grey(page.image)
    cleaned = page.ocr_image is not None
    found = tesseract.words(image, lang=lang, dpi=round(TARGET_DPI if cleaned else page.dpi))
    h, w = page.image.shape[:2]
    scale = working_scale(h, w, page.dpi)
    items: list[tuple[str, float, Box, Hashable]] = []
    for tw in found:
        text = nfc(tw.text)
        if not text or _is_junk(text, tw.confidence):
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
    words, text = arrange_rows(items, 72.0 / (page.dpi or TARGET_DPI))
    mean = float(np.mean([wd.confidence for wd in words])) if words else 0.0
    log.info("%s: %d words, mean confidence %.2f", page.label, len(words), mean)
    return replace(page, words=tuple(words), text=nfc(text), mean_confidence=mean)
