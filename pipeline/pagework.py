"""The unit of page work: clean-up then OCR of one page.

A plain module-level function over picklable values, so the same code runs in a process pool
(``concurrent.futures``) or a Celery task. Born-digital pages keep their own text layer and skip
both clean-up and OCR (their pixels are a rendering, upright by construction); blank pages are
flagged and not OCR'd.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import cv2

from pipeline.cleanup import clean_page
from pipeline.model import Page
from pipeline.ocr import ocr_page

log = logging.getLogger(__name__)


def process_page(page: Page, *, lang: str = "vie+eng") -> Page:
    """Clean-up and OCR of one page (born-digital pages pass through with their text layer)."""
    if page.born_digital:
        log.info("%s: born-digital text layer kept, OCR skipped", page.label)
        return page
    try:
        cleaned = clean_page(page)
    except (MemoryError, cv2.error, ValueError) as exc:
        # An odd page must not sink the file: OCR its plain pixels instead.
        log.warning("%s: clean-up failed (%s); OCR of the page as it is", page.label, exc)
        cleaned = page
    if cleaned.blank:
        return cleaned
    return ocr_page(cleaned, lang=lang)


def init_worker() -> None:
    """Process-pool initializer: one thread per worker process for Tesseract and OpenCV, or the
    workers fight over the cores (measured several times slower)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    cv2.setNumThreads(1)


def _process_for_pool(page: Page, lang: str) -> Page:
    return process_page(page, lang=lang)


def process_pages(
    pages: Sequence[Page], *, lang: str = "vie+eng", workers: int = 1,
    on_done: Callable[[Page], None] | None = None,
) -> list[Page]:
    """All pages, in order; several worker processes when ``workers > 1`` and there is more than one
    page worth OCR'ing."""
    todo = sum(1 for p in pages if not p.born_digital)
    if workers <= 1 or todo <= 1:
        init_worker()
        out = []
        for page in pages:
            done = process_page(page, lang=lang)
            if on_done:
                on_done(done)
            out.append(done)
        return out
    os.environ["OMP_THREAD_LIMIT"] = "1"
    with ProcessPoolExecutor(max_workers=min(workers, todo), initializer=init_worker) as pool:
        results: Iterator[Page] = pool.map(_process_for_pool, pages, [lang] * len(pages))
        out = []
        for done in results:
            if on_done:
                on_done(done)
            out.append(done)
        return out
