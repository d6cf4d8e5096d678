"""A page worker killed mid-page (what the kernel's OOM killer does) costs that page at most, not
its file or its batch: the pages in flight are read again one by one, the one that kills its
worker again fails alone with the reason, and the rest of the file goes on in fresh workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psutil
import pytest

from core.model import Page
from pipeline.executor import PageBudget, ProcessPoolPageExecutor
from tests.faults.pagefaults import Misbehave


def _pages(n: int) -> list[Page]:
    return [Page(source="f.pdf", source_sha256="0" * 64, index=i, image=np.zeros((50, 50), np.uint8), dpi=300)
            for i in range(n)]


def _workers() -> set[int]:
    """Processes forked by this process's fork servers: page workers, nothing else here."""
    found = set()
    for child in psutil.Process().children():
        try:
            if "forkserver" in " ".join(child.cmdline()):
                found |= {p.pid for p in child.children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("budget", [None, PageBudget(seconds=30, memory_mb=512)], ids=["no-budget", "budget"])
def test_a_page_that_kills_its_worker_fails_alone(budget: PageBudget | None) -> None:
    before = _workers()
    pages = _pages(7)
    done = ProcessPoolPageExecutor(2, budget).map_pages(Misbehave(bad=2, how="dies"), pages)
    assert [p.index for p in done] == [p.index for p in pages]
    failed = [p for p in done if p.failure]
    assert [p.index for p in failed] == [2]
    assert "page worker was killed (SIGKILL" in failed[0].failure
    assert all(p.text == f"read {p.index}" for p in done if not p.failure)
    assert _workers() <= before  # the broken pool's workers and the rescue workers are gone


def test_a_page_whose_worker_died_once_is_read_again(tmp_path: Path) -> None:
    pages = _pages(6)
    done = ProcessPoolPageExecutor(2).map_pages(Misbehave(bad=4, how="dies once", marker=tmp_path / "died"), pages)
    assert (tmp_path / "died").exists()  # it did die
    assert not [p for p in done if p.failure]
    assert [p.text for p in done] == [f"read {i}" for i in range(6)]
