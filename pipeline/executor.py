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
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol, runtime_checkable

import cv2

from core.iters import drain, prepend
from core.logs import configure_logging
from core.memory import keep_freed_memory
from core.model import Page
from pipeline.crashsafe import CrashSafePool
from pipeline.deadline import OverTime, can_limit, time_limit

log = logging.getLogger(__name__)

PageFn = Callable[[Page], Page]
Progress = Callable[[Page], None]


class BatchPageFn(Protocol):
    """A page function that also works on several pages at once, faster than one by one (one
    Tesseract start for all of them); the executor hands it up to ``batch_pages`` pages."""

    batch_pages: int

    def __call__(self, page: Page) -> Page: ...

    def many(self, pages: Iterable[Page]) -> list[Page]: ...


@runtime_checkable
class PixelsLeftHere(Protocol):
    """A page function whose results a worker may send back without their pixels, because the
    caller can make them again from the pages it sent (see :class:`pipeline.upright.UprightOriginal`)."""

    def without_pixels(self, page: Page) -> Page: ...

    def with_pixels(self, sent: Page, done: Page) -> Page: ...


# Pixels a batch may hold: three A4 colour pages at 300 dpi (26 MB each). A 600 dpi colour scan is
# four times that and goes alone, so a worker stays within its 300 MB whatever the scans.
BATCH_IMAGE_BYTES = 80 * 2**20


def _batch_size(fn: PageFn) -> int:
    many = getattr(fn, "many", None)
    return max(1, int(getattr(fn, "batch_pages", 1))) if callable(many) else 1


def _fits(first: Page, size: int, budget: int) -> int:
    """Pages in a batch that starts with ``first``: ``size``, fewer when ``size`` pages of its kind
    would exceed ``budget`` bytes of pixels."""
    return min(size, max(1, budget // max(1, first.image.nbytes)))


def _next_batch(pages: Iterator[Page], size: int, budget: int = BATCH_IMAGE_BYTES) -> list[Page]:
    """Up to ``size`` pages (see :func:`_fits`); empty when the pages are done."""
    first = next(pages, None)
    if first is None:
        return []
    return [first, *itertools.islice(pages, _fits(first, size, budget) - 1)]


def _lazy_batches(pages: Iterator[Page], size: int, budget: int = BATCH_IMAGE_BYTES) -> Iterator[Iterator[Page]]:
    """The batches of :func:`_next_batch`, each an iterator that reads its pages only as they are
    asked for (each batch must be used up before the next is asked for). In this process a page
    is then decoded after the one before it is cleaned: with the whole batch read first, three
    colour originals waited beside the first page's clean-up."""
    while (first := next(pages, None)) is not None:
        count = _fits(first, size, budget)
        head = [first]
        del first
        yield itertools.chain(drain(head), itertools.islice(pages, count - 1))


class PageExecutor(Protocol):
    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        """Apply ``fn`` to every page and return the results in input order."""
        ...


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class PageBudget:
    """What one page's work may take where it runs: seconds of wall time, and MiB of the page
    worker's heap (``RLIMIT_DATA``, so numpy, OpenCV and Tesseract all feel it as a failed
    allocation). A page over either fails alone with the reason; the worker carries on. 0: none."""

    seconds: float = 0
    memory_mb: int = 0


def _limit_memory(memory_mb: int) -> None:
    import resource

    if memory_mb <= 0:
        return
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        soft = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    except (ValueError, OSError):
        log.warning("page memory budget not applied (RLIMIT_DATA refused)")


def data_now() -> int:
    """This process's data segment now (``VmData``: heap and private mappings), in bytes; 0 when
    /proc cannot tell. ``RLIMIT_DATA`` is measured against it."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@contextmanager
def _heap_above_now(memory_mb: int) -> Iterator[None]:
    """``memory_mb`` MiB of heap above what this process holds now, for the work in the block;
    the limit before it afterwards. For page work run in the calling process (one worker): the
    pages it holds and the flow around them are not the page's, and stay."""
    import resource

    if memory_mb <= 0 or not data_now():
        yield
        return
    before = resource.getrlimit(resource.RLIMIT_DATA)
    soft = data_now() + memory_mb * 2**20
    if before[1] != resource.RLIM_INFINITY:
        soft = min(soft, before[1])
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, before[1]))
    except (ValueError, OSError):
        log.warning("page memory budget not applied (RLIMIT_DATA refused)")
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, before)


def _over_budget(page: Page, reason: str) -> Page:
    log.error("%s: %s", page.label, reason)
    return replace(page, words=(), text="", failure=reason)


def _budgeted(run: Callable[[Iterable[Page]], list[Page]], budget: PageBudget | None,
              batch: list[Page]) -> list[Page]:
    """``run`` over a batch under the page budget. A batch over it is run again page by page, so
    only the page that is over fails (with its reason), never the pages that shared its batch."""
    if budget is None or (budget.seconds <= 0 and budget.memory_mb <= 0):
        return run(batch)
    if not can_limit():
        return run(batch)  # alarms reach the main thread only; the job's own limits still hold
    try:
        with _ends_its_programs(), time_limit(budget.seconds * len(batch)):
            return run(batch)
    except (OverTime, MemoryError):
        if len(batch) == 1:
            return [_over_budget(batch[0], _reason(sys.exc_info()[1], budget))]
    done = []
    for page in batch:
        try:
            with _ends_its_programs(), time_limit(budget.seconds):
                done.extend(run([page]))
        except (OverTime, MemoryError) as exc:
            done.append(_over_budget(page, _reason(exc, budget)))
    return done


@contextmanager
def _ends_its_programs() -> Iterator[None]:
    """Programs started in the block and still running when it is stopped over budget are ended:
    the alarm interrupts the page's wait for Tesseract, not Tesseract, which ran on by itself,
    a core's work for nobody, beside the pages that came next."""
    import psutil

    try:
        before = {child.pid for child in psutil.Process().children(recursive=True)}
    except psutil.Error:
        before = None
    try:
        yield
    except (OverTime, MemoryError):
        if before is not None:
            try:
                started = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
            except psutil.Error:
                started = []
            for child in started:
                try:
                    child.kill()
                    child.wait(1)
                except psutil.Error:
                    pass
        raise


def _reason(exc: BaseException | None, budget: PageBudget) -> str:
    if isinstance(exc, MemoryError):
        return f"the page needed more than {budget.memory_mb} MiB of memory (SOHOA_PAGE_MEMORY_MB); not processed"
    return f"the page took longer than {budget.seconds:.0f} s (SOHOA_PAGE_SECONDS); not processed"


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux ``PR_SET_PDEATHSIG``).

    A pool's worker is forked from a fork server, which exits when every holder of its "alive"
    pipe is gone. Each child is handed that pipe too, so the server outlived the process that
    started it as long as any child lived, and the children outlived both: a SIGKILL of the API
    or of a job (the OOM killer, an operator) left them running on as orphans, still writing.
    Here the child lets go of the pipe, so the fork server exits with the process that started it,
    and asks the kernel for SIGKILL when the fork server goes. Elsewhere a no-op."""
    import ctypes
    import signal
    from multiprocessing import forkserver

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    server = forkserver._forkserver  # type: ignore[attr-defined]
    inherited = getattr(server, "_forkserver_alive_fd", None)
    if inherited is not None and getattr(server, "_forkserver_pid", None) is None:  # not a server of our own
        try:
            os.close(inherited)
        except OSError:
            pass
        server._forkserver_alive_fd = None
    if os.getppid() == 1:  # the parent died before the call: nobody is left to wait for us
        os._exit(1)


def _init_pool_worker(memory_mb: int = 0) -> None:
    die_with_parent()
    # A fresh process: its warnings in the command's log format, personal IDs masked (core.logs).
    configure_logging(logging.WARNING, os.environ.get("SOHOA_LOG_FORMAT", "text"))
    _limit_memory(memory_mb)
    _init_worker()


def _init_worker() -> None:
    # Tesseract's OpenMP threads and OpenCV's pool oversubscribe the cores when pages run in parallel.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    cv2.setNumThreads(1)
    keep_freed_memory()


def iter_map(fn: PageFn, pages: Iterable[Page], workers: int, budget: PageBudget | None = None,
             pool: ProcessPoolExecutor | None = None, total: int | None = None) -> Iterator[Page]:
    """Apply ``fn`` to pages as they come and yield the results in order.

    A :class:`BatchPageFn` gets its pages in batches of ``batch_pages`` (fewer for very large
    pages, see :func:`_next_batch`); a file with fewer pages than that for every worker is shared
    out evenly instead, so two pages on two workers still run side by side. With ``workers > 1``
    the batches go to that many processes, one batch per worker in flight and one queued, so a
    500-page file does not sit in memory twice. Workers come from a fork server, not a plain
    fork: callers such as the API or a Celery client have threads, and a child forked from a
    threaded process can inherit a held lock and deadlock. Starting workers costs about a second,
    so a single page runs here, unless ``pool`` gives workers that are already up (their number is
    ``workers``; see :class:`pipeline.warm.WarmPagePool`), which are used as they are and left up.

    ``total``, the number of pages when the caller knows it (a list), lets the last batches be cut
    smaller so that the workers finish together (see :func:`_tail_size`).
    """
    pages = iter(pages)
    size = _batch_size(fn)
    if workers > 1:
        first = next(pages, None)
        head = [] if first is None else [first]
        if first is not None:
            # Batches sent to workers hold half the pixels (see below): colour A4 pages go one at a
            # time, and reading six of them ahead only to count them held 160 MB here.
            size = _fits(first, size, BATCH_IMAGE_BYTES // 2)
            del first
            head.extend(itertools.islice(pages, max(2, size * workers) - 1))
        if len(head) < 2 and pool is None:
            workers = 1
        elif len(head) < size * workers:
            size = -(-len(head) // workers)
        pages = prepend(head, pages)
    run: Callable[[Iterable[Page]], list[Page]] = fn.many if size > 1 else partial(_one, fn)  # type: ignore[attr-defined]
    if workers <= 1:
        _init_worker()
        budgeted = budget is not None and (budget.seconds > 0 or budget.memory_mb > 0)
        for batch in _lazy_batches(pages, size):
            if budgeted:
                # Under the page budget here too (one worker, on a single-core machine): a page
                # over its time or heap fails alone and the batch goes on. The batch is held as a
                # list (its pages are named if one is over; BATCH_IMAGE_BYTES bounds it), its heap
                # counted above what this process holds.
                with _heap_above_now(budget.memory_mb):  # type: ignore[union-attr]
                    done = _budgeted(run, budget, list(batch))
            else:
                # Handed over one by one and forgotten here: a page turned upright by the clean-up
                # is a new image, and the original need not wait for the rest of the batch.
                done = run(batch)
            del batch
            yield from done
            del done
        return
    light = fn if isinstance(fn, PixelsLeftHere) else None
    task = partial(_in_worker, run, light, budget)
    memory_mb = budget.memory_mb if budget is not None else 0
    if pool is not None:
        yield from _crash_safe(pool, task, pages, size, workers, light, memory_mb, total)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_pool_worker,
                             initargs=(memory_mb,)) as own:
        yield from _crash_safe(own, task, pages, size, workers, light, memory_mb, total)


def _crash_safe(pool: ProcessPoolExecutor, task: Callable[[list[Page]], list[Page]], pages: Iterator[Page],
                size: int, workers: int, light: PixelsLeftHere | None, memory_mb: int,
                total: int | None = None) -> Iterator[Page]:
    """:func:`_through_pool`, where a page worker that dies costs its page at most, never the file
    (:mod:`pipeline.crashsafe`); ``pool`` itself is left as it is (a warm pool is not shut down)."""
    safe = CrashSafePool(pool, workers, _init_pool_worker, (memory_mb,), light.without_pixels if light else None)
    try:
        yield from _through_pool(safe, task, pages, size, workers, light, total)  # type: ignore[arg-type]
    finally:
        safe.close()


def _tail_size(size: int, workers: int, left: int | None) -> int:
    """Pages in the next batch when ``left`` pages are still to be sent (None: not known).

    Batches of ``size`` to the end leave the last one to a single worker while the others idle: 8
    pages in threes on two workers took the time of 5 pages, the second worker done after 3. Once
    fewer than a batch for every worker are left, they are shared out evenly in smaller batches
    (3, 3, 1, 1: the time of 4), which costs a Tesseract start for each extra batch."""
    if left is None or left >= size * workers:
        return size
    return max(1, -(-left // workers))


def _through_pool(pool: ProcessPoolExecutor, task: Callable[[list[Page]], list[Page]], pages: Iterator[Page],
                  size: int, workers: int, light: PixelsLeftHere | None, total: int | None = None) -> Iterator[Page]:
    """The batches through ``pool``'s ``workers`` processes, results in order (see :func:`iter_map`)."""
    window: deque[tuple[Future[list[Page]], list[Page] | None]] = deque()
    try:
        # Every worker busy and one more batch queued (the window holds one above this before it
        # is emptied): each batch waits here as pages and as their pickle. Two batches a worker
        # held colour A4 pages at 337 MB here; this, 312 (250 with light results).
        in_flight = workers
        # A batch sent to a worker is also pickled there and back: half the pixels per batch
        # keep a worker within its 300 MB (colour A4 pages then go one at a time).
        sent = 0
        while batch := _next_batch(pages, _tail_size(size, workers, None if total is None else total - sent),
                                   BATCH_IMAGE_BYTES // 2):
            sent += len(batch)
            # The pool holds the batch until its result is in anyway; kept here too, it gives
            # back the pixels a light result leaves out.
            window.append((pool.submit(task, batch), batch if light else None))
            del batch
            while len(window) > in_flight:
                yield from _returned(*window.popleft(), light)
        while window:
            yield from _returned(*window.popleft(), light)
    finally:
        for future, _ in window:
            future.cancel()


def _in_worker(run: Callable[[Iterable[Page]], list[Page]], light: PixelsLeftHere | None,
               budget: PageBudget | None, batch: list[Page]) -> list[Page]:
    done = _budgeted(run, budget, batch)
    return done if light is None else [light.without_pixels(page) for page in done]


def _returned(future: Future[list[Page]], sent: list[Page] | None, light: PixelsLeftHere | None) -> list[Page]:
    done = future.result()
    if light is None or sent is None:
        return done
    return [light.with_pixels(page, result) for page, result in zip(sent, done, strict=True)]


def _one(fn: PageFn, batch: Iterable[Page]) -> list[Page]:
    return [fn(page) for page in batch]


class ProcessPoolPageExecutor:
    """The embedded executor: a pool of worker processes, one per core by default, per call, so no
    idle processes stay behind a CLI run or a test."""

    def __init__(self, workers: int, budget: PageBudget | None = None) -> None:
        self.workers = max(1, workers)
        self.budget = budget

    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        results = []
        for done in iter_map(fn, pages, self.workers, self.budget, total=len(pages)):
            results.append(done)
            if progress:
                progress(done)
        return results


def default_executor(workers: int, budget: PageBudget | None = None) -> PageExecutor:
    return ProcessPoolPageExecutor(workers, budget)
