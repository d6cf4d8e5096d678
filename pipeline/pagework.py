"""The unit of page work: clean-up then OCR of one page, or of a few pages read together.

Plain functions over picklable values, so the same code runs in a process pool
(``concurrent.futures``) or a Celery task. Born-digital pages keep their own text layer and skip
both clean-up and OCR (their pixels are a rendering, upright by construction); blank pages are
flagged and not OCR'd.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

import cv2

from core.model import Page
from pipeline.cleanup import clean_page
from pipeline.executor import ProcessPoolPageExecutor, iter_map
from pipeline.ocr import ocr_pages
from pipeline.upright import UprightOriginal

log = logging.getLogger(__name__)

# Pages OCR'd together in one worker: each run of Tesseract costs about 0.1 s to start, and three
# pages held at once stay within a worker's 300 MB on A4 colour scans (``SOHOA_OCR_BATCH_PAGES``).
OCR_BATCH_PAGES = 3


def _cleaned(page: Page) -> Page:
    try:
        return clean_page(page)
    except (MemoryError, cv2.error, ValueError) as exc:
        # An odd page must not sink the file: OCR its plain pixels instead.
        log.warning("%s: clean-up failed (%s); OCR of the page as it is", page.label, exc)
        return page


def process_page(page: Page, *, lang: str = "vie") -> Page:
    """Clean-up and OCR of one page (born-digital pages pass through with their text layer)."""
    return process_pages_together([page], lang=lang)[0]


def process_pages_together(pages: Iterable[Page], *, lang: str = "vie") -> list[Page]:
    """Clean-up of each page, then the OCR of all of them with one Tesseract run (see
    :func:`pipeline.ocr.ocr_pages`).

    The OCR image is dropped once read (``ocr_image`` is None in the results): nothing downstream
    needs it, and it would be pickled back from every worker."""
    out: list[Page] = []
    for page in pages:
        if page.born_digital:
            log.info("%s: born-digital text layer kept, OCR skipped", page.label)
        out.append(page if page.born_digital else _cleaned(page))
        # The next page is decoded while this loop waits for it: the original, replaced by its
        # upright copy, is not held meanwhile.
        del page
    to_read = [n for n, page in enumerate(out) if not page.born_digital and not page.blank]
    for n, done in zip(to_read, ocr_pages([out[n] for n in to_read], lang=lang), strict=True):
        out[n] = done
    return [page if page.ocr_image is None else replace(page, ocr_image=None) for page in out]


class PageWork(UprightOriginal):
    """Clean-up and OCR as the executor's page function (picklable, bound to the language), which
    takes ``batch_pages`` pages at a time where the executor can give it several."""

    def __init__(self, lang: str = "vie", batch_pages: int = OCR_BATCH_PAGES) -> None:
        self.lang = lang
        self.batch_pages = batch_pages

    def __call__(self, page: Page) -> Page:
        return process_page(page, lang=self.lang)

    def many(self, pages: Iterable[Page]) -> list[Page]:
        return process_pages_together(pages, lang=self.lang)


def iter_processed(pages: Iterable[Page], *, lang: str = "vie", workers: int = 1,
                   batch_pages: int = OCR_BATCH_PAGES) -> Iterator[Page]:
    """Process pages as they come, yielding them in order, in ``workers`` processes (see
    :func:`pipeline.executor.iter_map`)."""
    return iter_map(PageWork(lang, batch_pages), pages, workers)


def process_pages(
    pages: Sequence[Page], *, lang: str = "vie", workers: int = 1,
    on_done: Callable[[Page], None] | None = None,
) -> list[Page]:
    """All pages, in order; several worker processes when ``workers > 1``."""
    return ProcessPoolPageExecutor(workers).map_pages(PageWork(lang), pages, on_done)
