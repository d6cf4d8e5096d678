"""Where page work runs: an in-process pool by default.

Page work (clean-up + OCR) is CPU-bound and Tesseract is single-threaded once ``OMP_THREAD_LIMIT=1``,
so processes, one per core, are the unit of parallelism. The orchestrator only needs ``map_pages``;
a Celery-backed executor (``workers/``) offers the same call, so stage code never knows where it runs.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol

from pipeline.model import Page

log = logging.getLogger(__name__)

PageFn = Callable[[Page], Page]
Progress = Callable[[Page], None]


class PageExecutor(Protocol):
    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        """Apply ``fn`` to every page and return the results in input order."""
        ...


def _init_worker() -> None:
    # Tesseract's OpenMP threads and OpenCV's pool oversubscribe the cores when pages run in parallel.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import cv2

    cv2.setNumThreads(1)


def iter_map(fn: PageFn, pages: Iterable[Page], workers: int) -> Iterator[Page]:
    """Apply ``fn`` to pages as they come and yield the results in order.

    With ``workers > 1`` the pages go to that many processes, never more than two pages per worker
    in flight, so a 500-page file does not sit in memory twice. Workers come from a fork server,
    not a plain fork: callers such as the API or a Celery client have threads, and a child forked
    from a threaded process can inherit a held lock and deadlock. Starting workers costs about a
    second, so a single page runs here.
    """
    pages = iter(pages)
    if workers > 1:
        head = list(itertools.islice(pages, 2))
        if len(head) < 2:
            workers = 1
        pages = itertools.chain(head, pages)
    if workers <= 1:
        _init_worker()
        for page in pages:
            done = fn(page)
            del page  # neither the page nor its result is held while the next page is read
            yield done
            del done
        return
    context = multiprocessing.get_context("forkserver")
    window: deque[Future[Page]] = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker) as pool:
        try:
            for page in pages:
                window.append(pool.submit(fn, page))
                while len(window) > 2 * workers:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()


class ProcessPoolPageExecutor:
    """The embedded executor: a pool of worker processes, one per core by default, per call, so no
    idle processes stay behind a CLI run or a test."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        results = []
        for done in iter_map(fn, pages, self.workers):
            results.append(done)
            if progress:
                progress(done)
        return results


def default_executor(workers: int) -> PageExecutor:
    return ProcessPoolPageExecutor(workers)
