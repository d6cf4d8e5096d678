"""Every page's work under a time and memory budget where it runs: a page worker's page that
hangs or blows its memory fails alone with the reason; the other pages, and the worker, go on."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.model import Page
from pipeline.executor import PageBudget, ProcessPoolPageExecutor
from tests.faults.pagefaults import Misbehave


def _pages(n: int) -> list[Page]:
    return [Page(source="f.pdf", source_sha256="0" * 64, index=i, image=np.zeros((50, 50), np.uint8), dpi=300)
            for i in range(n)]


@pytest.mark.parametrize(
    ("how", "words"),
    [("hangs", "took longer than 3 s (SOHOA_PAGE_SECONDS)"),
     ("blows", "needed more than 512 MiB of memory (SOHOA_PAGE_MEMORY_MB)")],
)
@pytest.mark.parametrize("workers", [2, 1])
def test_a_page_over_budget_fails_alone(how: str, words: str, workers: int) -> None:
    executor = ProcessPoolPageExecutor(workers, PageBudget(seconds=3, memory_mb=512))
    started = time.monotonic()
    pages = _pages(1 if workers == 1 else 5)
    done = executor.map_pages(Misbehave(bad=pages[-1].index if workers == 1 else 2, how=how), pages)
    assert time.monotonic() - started < 15
    bad = [p for p in done if p.failure]
    assert len(bad) == 1 and words in bad[0].failure, [p.failure for p in done]
    assert all(p.text == f"read {p.index}" for p in done if not p.failure)
    assert [p.index for p in done] == [p.index for p in pages]
