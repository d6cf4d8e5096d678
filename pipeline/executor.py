"""Where page work runs: an in-process pool by default.

Page work (clean-up + OCR) is CPU-bound and Tesseract is single-threaded once ``OMP_THREAD_LIMIT=1``,
so processes, one per core, are the unit of parallelism. The orchestrator only needs ``map_pages``;
a Celery-backed executor (``workers/``) offers the same call, so stage code never knows where it runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
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


class SerialExecutor:
    """Runs pages one after the other in this process: for one page, tests and debugging."""

    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        results = []
        for page in pages:
            done = fn(page)
            results.append(done)
            if progress:
                progress(done)
        return results


class ProcessPoolPageExecutor:
    """A pool of worker processes, one per core by default, created per call.

    A pool per call leaves no idle processes behind a CLI run or a test. Workers come from a fork
    server, not a plain fork: callers such as the API or a Celery client have threads, and a child
    forked from a threaded process can inherit a held lock and deadlock.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        if self.workers == 1 or len(pages) <= 1:
            return SerialExecutor().map_pages(fn, pages, progress)
        results: list[Page | None] = [None] * len(pages)
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(pages)), mp_context=context, initializer=_init_worker
        ) as pool:
            futures: dict[Future[Page], int] = {pool.submit(fn, page): i for i, page in enumerate(pages)}
            try:
                for future in as_completed(futures):
                    done = future.result()
                    results[futures[future]] = done
                    if progress:
                        progress(done)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return [page for page in results if page is not None]


def default_executor(workers: int) -> PageExecutor:
    return ProcessPoolPageExecutor(workers)
