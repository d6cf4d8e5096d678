"""A page worker that dies costs its page, not the batch.

When one process of a ``ProcessPoolExecutor`` dies (the kernel's OOM killer, a crash in a C
library, an operator's SIGKILL), the pool is broken: every batch in flight fails with
``BrokenProcessPool`` and nothing more can be sent to it, so one bad page used to fail every
page of its file and the batch with them. :class:`CrashSafePool` stands in for the pool in the
executor's loop: batches in flight when a worker died are read again one page at a time, each
in a worker of their own, so the page that kills its worker again fails alone with the reason
while the others are read; the rest of the file goes on in a fresh pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from core.model import Page

log = logging.getLogger(__name__)

Task = Callable[[list[Page]], list[Page]]


def died_reason(code: int | None) -> str:
    """The one line a page gets when its worker died on it."""
    if code is not None and code < 0:
        if -code == signal.SIGKILL:
            how = "was killed (SIGKILL: out of memory, or stopped by an operator)"
        else:
            how = f"died ({signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code})"
    else:
        how = "stopped" if code is None else f"stopped with exit code {code}"
    return f"the page worker {how} while reading this page, twice; not processed"


class CrashSafePool:
    """``submit`` as a pool's, for :func:`pipeline.executor.iter_map`'s loop; what it returns has
    ``result`` and ``cancel``. ``pool`` is used while it lasts (a warm pool is never shut down
    here); a pool made to replace it, and the rescue workers, are shut down by :meth:`close`."""

    def __init__(self, pool: ProcessPoolExecutor, workers: int, initializer: Callable[..., None],
                 initargs: tuple[Any, ...], shrink: Callable[[Page], Page] | None = None) -> None:
        self._pool = pool
        self._workers = workers
        self._initializer = initializer
        self._initargs = initargs
        self._shrink = shrink  # a result without its pixels, as the workers send them back
        self._made: list[ProcessPoolExecutor] = []
        self._rescuer: ProcessPoolExecutor | None = None

    def submit(self, task: Task, batch: list[Page]) -> _Guarded:
        try:
            future = self._pool.submit(task, batch)
        except BrokenProcessPool:  # a worker died since the last batch: go on with a fresh pool
            self._renew()
            future = self._pool.submit(task, batch)
        return _Guarded(future, self, task, batch)

    def close(self) -> None:
        for pool in [*self._made, *([self._rescuer] if self._rescuer else [])]:
            pool.shutdown(wait=True, cancel_futures=True)
        self._made.clear()
        self._rescuer = None

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=self._initializer, initargs=self._initargs)

    def _renew(self) -> None:
        if not getattr(self._pool, "_broken", False):
            return
        log.warning("a page worker died; the rest of the file goes on in fresh workers")
        self._pool = self._new_pool(self._workers)
        self._made.append(self._pool)

    def rescue(self, task: Task, batch: list[Page]) -> list[Page]:
        """The pages of a batch whose worker died, each read alone in a worker of its own: the one
        that kills it again fails with the reason, the others are read."""
        self._renew()
        done = []
        for page in batch:
            if self._rescuer is None:
                self._rescuer = self._new_pool(1)
            worker = None
            try:
                future = self._rescuer.submit(task, [page])
                worker = next(iter(getattr(self._rescuer, "_processes", {}).values()), None)
                done.extend(future.result())
            except BrokenProcessPool:
                reason = died_reason(worker.exitcode if worker is not None else None)
                log.error("%s: %s", page.label, reason)
                failed = replace(page, words=(), text="", failure=reason)
                done.append(self._shrink(failed) if self._shrink else failed)
                self._rescuer.shutdown(wait=True)
                self._rescuer = None
        return done


class _Guarded:
    """A batch's future: its result, or, if its worker died, the batch read again page by page."""

    def __init__(self, future: Future[list[Page]], owner: CrashSafePool, task: Task, batch: list[Page]) -> None:
        self._future, self._owner, self._task, self._batch = future, owner, task, batch

    def result(self) -> list[Page]:
        try:
            return self._future.result()
        except BrokenProcessPool:
            log.warning("a page worker died with %d page(s) in hand; they are read again one by one",
                        len(self._batch))
            return self._owner.rescue(self._task, self._batch)
        finally:
            self._batch = []

    def cancel(self) -> bool:
        return self._future.cancel()
