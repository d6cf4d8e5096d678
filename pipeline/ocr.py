"""OCR: words, boxes and confidences of a cleaned page, through Tesseract.

Tesseract reads ``Page.ocr_image`` (cleaned, deskewed, resampled); every box is mapped back into the
pixel frame of ``Page.image`` (the upright original) so the searchable PDF's invisible text sits on
the words the reader sees and extractors can point at them. All text is NFC.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from pipeline import tesseract
from pipeline.cleanup import TARGET_DPI, ocr_to_image, to_grey
from pipeline.model import Box, Page, Word, nfc

log = logging.getLogger(__name__)

_JUNK_CONF = 35.0  # Tesseract reports specks and rules as low-confidence punctuation


def _is_junk(text: str, conf: float) -> bool:
    """Low-confidence tokens with no letter or digit are specks, rules or border remnants."""
    return conf < _JUNK_CONF and not any(ch.isalnum() for ch in text)


def ocr_page(page: Page, *, lang: str = "vie+eng") -> Page:
    """Word boxes (in the upright original's pixel frame), text and mean confidence of one page."""
    if page.blank:
        return replace(page, words=(), text="", mean_confidence=0.0)
    image = page.ocr_image if page.ocr_image is not None else to_grey(page.image)
    cleaned = page.ocr_image is not None
    found = tesseract.words(image, lang=lang, dpi=round(TARGET_DPI if cleaned else page.dpi))
    h, w = page.image.shape[:2]
    words: list[Word] = []
    lines: list[list[str]] = []
    line_of: dict[tuple[int, int, int], int] = {}
    for tw in found:
        text = nfc(tw.text)
        if not text or _is_junk(text, tw.confidence):
            continue
        if cleaned:
            corners = [
                ocr_to_image(x, y, ocr_shape=image.shape, image_shape=page.image.shape, dpi=page.dpi,
                             angle=page.skew_angle)
                for x, y in ((tw.left, tw.top), (tw.left + tw.width, tw.top),
                             (tw.left, tw.top + tw.height), (tw.left + tw.width, tw.top + tw.height))
            ]
            xs = [c[0] for c in corners]
            ys = [c[1] for c in corners]
            left, top = max(0, int(np.floor(min(xs)))), max(0, int(np.floor(min(ys))))
            right, bottom = min(w, int(np.ceil(max(xs)))), min(h, int(np.ceil(max(ys))))
        else:
            left, top, right, bottom = tw.left, tw.top, tw.left + tw.width, tw.top + tw.height
        box = Box(left, top, max(1, right - left), max(1, bottom - top))
        n = line_of.setdefault(tw.line_key, len(line_of))
        if n == len(lines):
            lines.append([])
        lines[n].append(text)
        words.append(Word(text=text, confidence=max(0.0, min(1.0, tw.confidence / 100.0)), box=box, line=n))
    text = "\n".join(" ".join(line) for line in lines)
    mean = float(np.mean([wd.confidence for wd in words])) if words else 0.0
    log.info("%s: %d words, mean confidence %.2f", page.label, len(words), mean)
    return replace(page, words=tuple(words), text=nfc(text), mean_confidence=mean)
