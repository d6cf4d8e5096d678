"""Parsing untrusted files away from the request threads, under a budget of CPU time and memory.

A PDF sent to the API is parsed by C libraries (qpdf, pdfium) and by pure Python (pyHanko) whose
cost depends on the file, not on its size alone: 40 MB without a line break took pyHanko 36 s of
CPU inside the serving process, slowing every other request tenfold, and nothing could stop it
there. Here each parse runs in a parse process, forked from the job runner's fork server (the
libraries already imported) and kept up between parses, at low priority, with ``RLIMIT_CPU`` and
``RLIMIT_DATA`` set for each parse and a wall-clock deadline watched from the server: the kernel
stops a parse over budget (and the process with it, replaced at the next parse), the caller gets
:class:`OverBudget` with the reason, and the serving process never held the work.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.executor import data_now, die_with_parent

log = logging.getLogger(__name__)

NICENESS = 10  # the parse yields the CPU to the request threads


@dataclass(frozen=True)
class ParseBudget:
    """What one parse of an uploaded file may take: seconds of CPU, MiB of heap above what the
    forked process starts with, and seconds of wall time (a parse blocked on nothing still ends)."""

    cpu_seconds: int = 20
    memory_mb: int = 1024
    wall_seconds: float = 60.0


class OverBudget(Exception):
    """The parse was stopped: it needed more CPU time, memory or wall time than its budget."""


class Refused(Exception):
    """The function run under the budget refused its input; carried back as the caller's own
    exception (``kind`` names it) with its status and message, which survive the pipe whatever
    the exception's constructor."""

    def __init__(self, kind: str, status: int, message: str) -> None:
        super().__init__(kind, status, message)
        self.kind, self.status, self.message = kind, status, message


WORKERS = 2  # parses at once; more wait for a free worker (each one is a core's work at most)
TASKS_PER_WORKER = 200  # a worker is retired after this many parses, so none grows for ever


class _Worker:
    """A parse process kept up between parses: starting one from the fork server cost 100 ms
    of each upload's answer on a busy machine. It dies (and is replaced) when a parse is over
    budget, and after :data:`TASKS_PER_WORKER` parses."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("forkserver")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), name="sohoa-parse", daemon=True)
        self.process.start()
        theirs.close()
        self.tasks = 0

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], budget: ParseBudget) -> tuple[Any, ...]:
        self.tasks += 1
        self.conn.send((fn, args, budget))
        deadline = time.monotonic() + budget.wall_seconds
        while not self.conn.poll(0.05):
            if not self.process.is_alive() and not self.conn.poll(0):
                self.process.join(1)
                raise OverBudget(_stopped(self.process.exitcode, budget))
            if time.monotonic() > deadline:
                raise OverBudget(f"it took longer than {budget.wall_seconds:.0f} s")
        try:
            return self.conn.recv()  # type: ignore[no-any-return]
        except EOFError as exc:  # died between the poll and the read
            self.process.join(1)
            raise OverBudget(_stopped(self.process.exitcode, budget)) from exc

    def stop(self) -> None:
        """End the process and whatever it started: a parse stopped at its wall time may be
        waiting on a program of its own (Tesseract, for a result's scanned pages), which would
        otherwise run on as an orphan. The process leads a process group of its own (see
        :func:`_serve`), so the whole group goes."""
        self.conn.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, TypeError):
            pass
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


_idle: list[_Worker] = []
_idle_lock = threading.Lock()
_slots = threading.BoundedSemaphore(WORKERS)


def run_budgeted(fn: Callable[..., Any], *args: Any, budget: ParseBudget) -> Any:
    """``fn(*args)`` in a parse process under ``budget``; its result, or the exception it raised
    (an exception with ``status`` and ``message`` comes back as :class:`Refused`, any other as
    :class:`RuntimeError` with its type and first line). ``fn`` and its arguments must pickle.
    Blocks the calling thread: call it from a worker thread, never from the event loop."""
    with _slots:
        with _idle_lock:
            worker = _idle.pop() if _idle else None
        if worker is None or not worker.process.is_alive():
            if worker is not None:
                worker.stop()
            worker = _Worker()
        kept = False
        try:
            outcome = worker.run(fn, args, budget)
            kept = worker.tasks < TASKS_PER_WORKER
        finally:
            if kept:
                with _idle_lock:
                    _idle.append(worker)
            else:
                worker.stop()
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "refused":
        raise Refused(*outcome[1:])
    raise RuntimeError(f"{outcome[1]}: {outcome[2]}")


def _stopped(code: int | None, budget: ParseBudget) -> str:
    if code == -signal.SIGXCPU or code == -signal.SIGKILL:
        return f"it needed more than {budget.cpu_seconds} s of CPU time"
    if code == MEMORY_EXIT:
        return f"it needed more than {budget.memory_mb} MiB of memory"
    return f"the process reading it stopped (exit code {code})"


MEMORY_EXIT = 86  # the worker's own exit code when an allocation failed under RLIMIT_DATA


def _serve(conn: Any) -> None:
    """A parse process's life: die with the server, then one parse after another, each under
    its own budget, until the server lets go of the pipe."""
    die_with_parent()
    try:
        os.setpgid(0, 0)  # the programs a parse starts go with this process (see _Worker.stop)
    except OSError:
        pass
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    while True:
        try:
            fn, args, budget = conn.recv()
        except (EOFError, OSError):
            return
        _limit(budget)
        try:
            result = fn(*args)
        except MemoryError:
            conn.close()
            os._exit(MEMORY_EXIT)
        except Exception as exc:  # noqa: BLE001 - carried back to the caller, who decides
            status, message = getattr(exc, "status", None), getattr(exc, "message", None)
            if isinstance(status, int) and isinstance(message, str):
                conn.send(("refused", type(exc).__name__, status, message))
            else:
                first = str(exc).splitlines()[0][:200] if str(exc) else ""
                conn.send(("error", type(exc).__name__, first))
            continue
        conn.send(("ok", result))
        del result


def _limit(budget: ParseBudget) -> None:
    """CPU seconds from now (the kernel sends SIGXCPU at the soft limit, which ends the process)
    and heap above what the process holds now: what earlier parses and the fork server's imports
    hold is not this parse's."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + max(1, int(budget.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    if budget.memory_mb > 0:
        soft = data_now() + budget.memory_mb * 2**20
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
        except (ValueError, OSError):
            log.warning("parse memory budget not applied (RLIMIT_DATA refused)")
