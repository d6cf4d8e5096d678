"""The parse processes of the API (``api.budget``): a parse over its CPU time or memory is stopped
by the kernel with the reason, a refusal comes back as the caller's, and the next parse runs in a
fresh process as if nothing had happened."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from api.budget import OverBudget, ParseBudget, Refused, run_budgeted
from tests.faults.parsefaults import hog, pid, refuse, spin, waits_on_a_program


def test_over_cpu_or_memory_is_stopped_and_the_next_parse_runs() -> None:
    budget = ParseBudget(cpu_seconds=1, memory_mb=256, wall_seconds=30)
    first = run_budgeted(pid, budget=budget)
    assert first != os.getpid()
    assert run_budgeted(pid, budget=budget) == first  # kept up between parses
    with pytest.raises(OverBudget, match="more than 1 s of CPU time"):
        run_budgeted(spin, budget=budget)
    with pytest.raises(OverBudget, match="more than 256 MiB of memory"):
        run_budgeted(hog, budget=budget)
    with pytest.raises(Refused) as refused:
        run_budgeted(refuse, budget=budget)
    assert (refused.value.status, refused.value.message) == (415, "x.pdf: not a PDF")
    assert run_budgeted(pid, budget=budget) not in (first, os.getpid())  # a fresh process


def test_a_parse_past_its_wall_time_is_stopped() -> None:
    with pytest.raises(OverBudget, match="longer than 2 s"):
        run_budgeted(spin, budget=ParseBudget(cpu_seconds=60, memory_mb=256, wall_seconds=2))


def test_a_parse_stopped_takes_the_programs_it_started_with_it(tmp_path) -> None:
    marker = tmp_path / "child.pid"
    with pytest.raises(OverBudget, match="longer than 2 s"):
        run_budgeted(waits_on_a_program, str(marker), budget=ParseBudget(cpu_seconds=60, memory_mb=256, wall_seconds=2))
    child = int(marker.read_text())
    gone = False
    for _ in range(100):  # the kill is delivered at once; reaping it is the system's
        try:
            gone = psutil.Process(child).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            gone = True
        if gone:
            break
        time.sleep(0.05)
    assert gone, "the program started by the stopped parse runs on as an orphan"
