"""The unit of page work: clean-up then OCR of one page.

A plain module-level function over picklable values, so the same code runs in a process pool
(``concurrent.futures``) or a Celery task. Born-digital pages keep their own text layer and skip
both clean-up and OCR (their pixels are a rendering, upright by construction); blank pages are
flagged and not OCR'd.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial

import cv2

from pipeline.cleanup import clean_page
from pipeline.executor import ProcessPoolPageExecutor, iter_map
from pipeline.model import Page
from pipeline.ocr import ocr_page

log = logging.getLogger(__name__)


def process_page(page: Page, *, lang: str = "vie+eng") -> Page:
    """Clean-up and OCR of one page (born-digital pages pass through with their text layer).

    The OCR image is dropped once read (``ocr_image`` is None in the result): nothing downstream
    needs it, and it would be pickled back from every worker."""
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
        return replace(cleaned, ocr_image=None)
    return replace(ocr_page(cleaned, lang=lang), ocr_image=None)


def iter_processed(pages: Iterable[Page], *, lang: str = "vie+eng", workers: int = 1) -> Iterator[Page]:
    """Process pages as they come, yielding them in order, in ``workers`` processes (see
    :func:`pipeline.executor.iter_map`)."""
    return iter_map(partial(process_page, lang=lang), pages, workers)


def process_pages(
    pages: Sequence[Page], *, lang: str = "vie+eng", workers: int = 1,
    on_done: Callable[[Page], None] | None = None,
) -> list[Page]:
    """All pages, in order; several worker processes when ``workers > 1``."""
    return ProcessPoolPageExecutor(workers).map_pages(partial(process_page, lang=lang), pages, on_done)
