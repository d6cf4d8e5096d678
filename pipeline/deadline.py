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


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`OverTime` in the block once ``seconds`` of wall time have passed (0: no limit;
    see the module's note for where no limit can be set)."""
    if seconds <= 0 or not can_limit():
        yield
        return
    outer, interval = signal.getitimer(signal.ITIMER_REAL)
    if 0 < outer <= seconds:  # the outer timer ends first: it rules
        yield
        return
    started = time.monotonic()
    fired = False

    def give_back() -> None:
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, outer - (time.monotonic() - started)), interval)

    def on_alarm(_signum: int, _frame: object) -> None:
        nonlocal fired
        fired = True
        give_back()  # at once: the outer timer still rules if the work is slow to give up
        raise OverTime

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if not fired:
            signal.setitimer(signal.ITIMER_REAL, 0)
            give_back()
