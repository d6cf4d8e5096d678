"""A wall-clock limit on a piece of work in this process, by ``SIGALRM``.

Some work cannot be bounded by its input's size: pdfminer reads a 40 MB line without a break in
time that grows with the square of its length (136 s of CPU for one page's text layer), and a page
worker has no way to interrupt a library from outside. An alarm raises :class:`OverTime` in the
middle of the work instead, in the Python code the library runs, so the caller ends that piece of
work alone with a reason and carries on.

Alarms reach the main thread only: elsewhere the work runs under the limits of the process
around it (a job's wall time, a parse process's CPU time). Inside a timer already running (an
outer limit, a test runner's timeout) the shorter one rules, and the outer timer is given back
what it had left.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class OverTime(BaseException):
    """Raised by the alarm inside the limited work. A BaseException, so that no ``except Exception``
    in library or stage code (a QR decoder's, a PDF parser's) swallows it and lets the work run on."""


def can_limit() -> bool:
    """Whether :func:`time_limit` can interrupt work here: alarms reach the main thread only."""
    return threading.current_thread() is threading.main_thread()


# An alarm whose OverTime was lost fires again this soon (see time_limit).
AGAIN_SECONDS = 0.05


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`OverTime` in the block once ``seconds`` of wall time have passed (0: no limit;
    see the module's note for where no limit can be set).

    Past the limit the alarm fires again every :data:`AGAIN_SECONDS` until the block is left: a
    signal handler runs at whatever bytecode comes next, and when that is a finalizer (``__del__``,
    a weakref callback, which a parser's garbage sets off at any moment) Python prints the
    exception and drops it, so a single alarm could be lost and the work run on unbounded."""
    if seconds <= 0 or not can_limit():
        yield
        return
    outer, interval = signal.getitimer(signal.ITIMER_REAL)
    if 0 < outer <= seconds:  # the outer timer ends first: it rules
        yield
        return
    started = time.monotonic()
    outer_ends = started + outer if outer > 0 else None
    given_back = False

    def give_back() -> None:
        nonlocal given_back
        if given_back:
            return
        given_back = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_ends is not None:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, outer_ends - time.monotonic()), interval)

    def on_alarm(_signum: int, _frame: object) -> None:
        left = None if outer_ends is None else outer_ends - time.monotonic()
        if left is not None and left <= AGAIN_SECONDS:
            give_back()  # the outer timer's time has come: it rules if the work is slow to give up
        else:
            signal.setitimer(signal.ITIMER_REAL, AGAIN_SECONDS)
        raise OverTime

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        give_back()
