"""The warm path: page workers that stay up between batches, with page work already loaded.

A one-page dossier costs little OCR; what it used to pay was start-up: a Python process, the
imports of OpenCV, numpy and the stages, probing Tesseract (its version and languages are each a
run of the program) and opening the dictionaries the mending steps ask. :func:`warm_up` pays all of
that once, where a process is made that others are forked from or that stays up:

* :class:`WarmPagePool` keeps page worker processes up between batches, warmed when they start;
  :meth:`WarmPagePool.map_pages` is the executor call of :mod:`pipeline.executor`, so a runner
  that holds one (``sohoa bench ocr --speed`` measures it) hands its batches to workers already up;
* ``sohoa serve``'s job fork server and a Celery worker's main process (``sohoa worker``) import
  ``flow.prewarmed``, which calls :func:`warm_up` and loads the document steps' models and
  vocabularies too, so every job and pool process forked from them starts warm
  (:mod:`pipeline.prewarmed` warms page work alone, for a process that only reads pages).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Self

from core.model import Page
from pipeline import tesseract
from pipeline.executor import PageBudget, PageFn, Progress, _init_pool_worker, iter_map

log = logging.getLogger(__name__)


def warm_up(lang: str = "vie") -> float:
    """Load what page work otherwise loads at its first page: the stages' modules, Tesseract's
    version and languages, the word lists of ``lang`` (and English) and the language data in the
    page cache. Returns the seconds it took; never raises (a missing Tesseract is reported by the
    page work itself, with its own message)."""
    started = time.perf_counter()
    try:
        import pipeline.pagework  # noqa: F401 - the stages and their imports (OpenCV, numpy)
        from pipeline.ocr import dictionary_words

        tesseract.version()
        installed = tesseract.languages()
        known = dictionary_words(lang)
        known("một")  # opens the word lists (mapped files: shared by every process forked after this)
        data = tesseract.tessdata_dir()
        for part in {*lang.split("+"), "eng"} & set(installed):
            # Read once so each Tesseract run finds its model in the page cache.
            with open(os.path.join(data, f"{part}.traineddata"), "rb") as fh:
                while fh.read(1 << 20):
                    pass
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation; page work reports the fault
        log.warning("page work not warmed (%s); it loads at the first page", exc)
    seconds = time.perf_counter() - started
    log.debug("page work warmed in %.2f s", seconds)
    return seconds


_warmed = False  # set in a page worker of a warm pool once its warm-up ran


def _init_warm_worker(memory_mb: int, lang: str) -> None:
    global _warmed
    _init_pool_worker(memory_mb)
    warm_up(lang)
    _warmed = True


def warmed_here() -> bool:
    """Whether this process is a warm pool's worker that has run its warm-up (a worker made to
    stand in for a dead one by :mod:`pipeline.crashsafe` has not)."""
    return _warmed


def _ready() -> int:
    time.sleep(0.1)  # long enough that a worker still starting up is given the next question
    return os.getpid()


class WarmPagePool:
    """``workers`` page worker processes kept up between batches (until :meth:`close`), each warmed
    (:func:`warm_up`) when it starts, under the page budget of :mod:`pipeline.executor`.

    Workers come from a fork server, as the per-call pool's do, and die with the process holding
    the pool. One pool serves one batch at a time: a runner with several batches at once holds one
    pool per batch slot.

    A worker that dies (the OOM killer, a crash in a C library, an operator's SIGKILL) breaks the
    executor for good: its batch is finished by :mod:`pipeline.crashsafe` in stand-in workers, and
    before and after every batch a broken executor is replaced here by a new one whose workers are
    started (and warm up) at once, so the batches after it are served warm again."""

    def __init__(self, workers: int, *, lang: str = "vie", budget: PageBudget | None = None) -> None:
        self.workers = max(1, workers)
        self.budget = budget
        self.lang = lang
        self.restarts = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        memory_mb = self.budget.memory_mb if self.budget is not None else 0
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_init_warm_worker, initargs=(memory_mb, self.lang))

    @property
    def broken(self) -> bool:
        """A worker died: the executor takes nothing more."""
        return bool(getattr(self._pool, "_broken", False))

    def _renew_if_broken(self) -> None:
        """A fresh executor for a broken one, its workers started now (not at the next batch's
        first question) so they warm up while nothing waits for them."""
        if not self.broken:
            return
        log.warning("a warm page worker died; the page workers are started again")
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        self.restarts += 1
        for _ in range(self.workers):  # each question no idle worker takes starts one
            self._pool.submit(_ready)

    def start(self) -> list[int]:
        """Start every worker now (not at the first batch) and wait until each is warm; returns
        their process ids."""
        self._renew_if_broken()
        pids: set[int] = set()
        # The pool starts a worker at a question no idle worker takes, and a worker answers only
        # once warm: ask each round as many questions as there are workers until all have answered.
        deadline = time.monotonic() + 120
        while len(pids) < self.workers and time.monotonic() < deadline:
            pids.update(f.result() for f in [self._pool.submit(_ready) for _ in range(self.workers)])
        return sorted(pids)

    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        self._renew_if_broken()
        results = []
        try:
            for done in iter_map(fn, pages, self.workers, self.budget, pool=self._pool, total=len(pages)):
                results.append(done)
                if progress:
                    progress(done)
        finally:
            self._renew_if_broken()
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
