"""``pipeline.deadline.time_limit``: the limit holds even when one alarm's exception is lost, as
Python loses an exception raised inside a finalizer, and an outer timer gets back what it had left."""

from __future__ import annotations

import gc
import signal
import time

import pytest

from pipeline.deadline import OverTime, time_limit


def test_an_alarm_lost_once_fires_again() -> None:
    lost = 0
    started = time.monotonic()
    with pytest.raises(OverTime), time_limit(0.2):
        while time.monotonic() - started < 5:
            try:
                time.sleep(0.01)
            except OverTime:
                if lost:
                    raise
                lost += 1  # as Python does with an exception raised inside a finalizer
    assert lost == 1
    assert time.monotonic() - started < 1.5


class _Finalized:
    def __del__(self) -> None:
        time.sleep(0.3)  # the alarm lands here: Python prints the OverTime and drops it


def test_an_alarm_that_lands_in_a_finalizer_still_ends_the_work() -> None:
    started = time.monotonic()
    with pytest.raises(OverTime), time_limit(0.1):
        _Finalized()  # collected at once, its finalizer outlasting the limit
        gc.collect()
        while time.monotonic() - started < 5:
            time.sleep(0.01)
    assert time.monotonic() - started < 1.5


def test_the_outer_timer_gets_back_what_it_had_left() -> None:
    fired: list[float] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    try:
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        with pytest.raises(OverTime), time_limit(0.2):
            time.sleep(0.5)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0.5 < remaining + (time.monotonic() - started) <= 1.05
        while not fired and time.monotonic() - started < 3:
            time.sleep(0.01)
        assert fired and 0.9 <= fired[0] - started < 1.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
