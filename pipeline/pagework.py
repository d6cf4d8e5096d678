"""The unit of page work: clean-up then OCR of one page.

A plain module-level function over picklable values, so the same code runs in a process pool
(``concurrent.futures``) or a Celery task. Born-digital pages keep their own text layer and skip
both clean-up and OCR (their pixels are a rendering, upright by construction); blank pages are
flagged and not OCR'd.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

import cv2

from pipeline.cleanup import clean_page
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


def init_worker() -> None:
    """Process-pool initializer: one thread per worker process for Tesseract and OpenCV, or the
    workers fight over the cores (measured several times slower)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    cv2.setNumThreads(1)


def _process_for_pool(page: Page, lang: str) -> Page:
    return process_page(page, lang=lang)


def iter_processed(pages: Iterable[Page], *, lang: str = "vie+eng", workers: int = 1) -> Iterator[Page]:
    """Process pages as they come, yielding them in order; with ``workers > 1`` in that many
    processes, never holding more than two pages per worker in flight (a 500-page file must not
    sit in memory twice)."""
    pages = iter(pages)
    if workers > 1:
        # Starting worker processes costs about a second: not worth it for a single page to OCR.
        head: list[Page] = []
        for page in pages:
            head.append(page)
            if sum(1 for p in head if not p.born_digital) > 1:
                break
        else:
            workers = 1
        pages = itertools.chain(head, pages)
    if workers <= 1:
        init_worker()
        for page in pages:
            yield process_page(page, lang=lang)
        return
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # Not fork: this process may hold threads (OpenCV's pool, a web server's) whose locks a forked
    # child would inherit locked. A fork server starts clean, once, and forks workers from there.
    context = multiprocessing.get_context("forkserver")
    window: deque[Future[Page]] = deque()
    with ProcessPoolExecutor(max_workers=workers, initializer=init_worker, mp_context=context) as pool:
        for page in pages:
            if page.born_digital:
                window.append(_done(page))
            else:
                window.append(pool.submit(_process_for_pool, page, lang))
            while len(window) > 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _done(page: Page) -> Future[Page]:
    future: Future[Page] = Future()
    future.set_result(page)
    return future


def process_pages(
    pages: Sequence[Page], *, lang: str = "vie+eng", workers: int = 1,
    on_done: Callable[[Page], None] | None = None,
) -> list[Page]:
    """All pages, in order; several worker processes when ``workers > 1`` and more than one page
    needs OCR."""
    todo = sum(1 for p in pages if not p.born_digital)
    out = []
    for done in iter_processed(pages, lang=lang, workers=workers if todo > 1 else 1):
        if on_done:
            on_done(done)
        out.append(done)
    return out
