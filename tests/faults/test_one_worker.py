"""One page worker (``SOHOA_WORKERS=1``, a single-core machine): the pages run in the job process
itself, in batches of ``SOHOA_OCR_BATCH_PAGES``, and are under the same page budget as in a pool.
A page that hangs or asks for more memory than its budget fails alone with the reason; the pages
it shared a batch with, and the rest of the file, are done; the process's own limit is as before."""

from __future__ import annotations

import os
import resource
import time

import numpy as np
import psutil
import pytest

from core.model import Page
from core.settings import Settings
from pipeline.executor import PageBudget, default_executor
from tests.faults.pagefaults import Misbehave, MisbehaveMany


def _pages(n: int) -> list[Page]:
    return [Page(source="f.pdf", source_sha256="0" * 64, index=i, image=np.zeros((50, 50), np.uint8), dpi=300)
            for i in range(n)]


@pytest.fixture
def one_worker(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SOHOA_WORKERS", "1")
    monkeypatch.setenv("SOHOA_PAGE_SECONDS", "1")  # a short budget: the hang costs the test its batch's 3 s, then 1 s
    monkeypatch.setenv("SOHOA_PAGE_MEMORY_MB", "512")
    settings = Settings()
    assert settings.workers == 1
    return settings


def _run(settings: Settings, how: str, bad: int) -> tuple[list[Page], float]:
    executor = default_executor(settings.workers, PageBudget(settings.page_seconds, settings.page_memory_mb))
    pages = _pages(5)
    pids: set[int] = set()
    started = time.monotonic()
    done = executor.map_pages(MisbehaveMany(bad=bad, how=how, batch_pages=3), pages,
                              progress=lambda _page: pids.add(os.getpid()))
    assert pids == {os.getpid()}  # in this process: no pool was started
    return done, time.monotonic() - started


def test_a_hanging_page_fails_alone_with_one_worker(one_worker: Settings) -> None:
    done, seconds = _run(one_worker, "hangs", bad=1)
    assert [p.index for p in done] == list(range(5))
    assert [p.failure for p in done] == [None, "the page took longer than 1 s (SOHOA_PAGE_SECONDS); not processed",
                                         None, None, None]
    assert [p.text for p in done if not p.failure] == ["read 0", "read 2", "read 3", "read 4"]
    # its batch of three ran out of its 3 s, then each page had its own 1 s
    print(f"\none worker, a hanging page: file done in {seconds:.1f} s")
    assert seconds < 30


def test_a_page_over_its_memory_fails_alone_with_one_worker(one_worker: Settings) -> None:
    before = resource.getrlimit(resource.RLIMIT_DATA)
    done, _ = _run(one_worker, "blows", bad=3)  # asks for 3 GB
    reason = "the page needed more than 512 MiB of memory (SOHOA_PAGE_MEMORY_MB); not processed"
    assert [p.failure for p in done] == [None, None, None, reason, None]
    assert [p.text for p in done if not p.failure] == ["read 0", "read 1", "read 2", "read 4"]
    assert resource.getrlimit(resource.RLIMIT_DATA) == before  # the job process's own limit is back
    np.ones(600 * 2**20, dtype=np.uint8).sum()  # and it may hold more than a page's budget again


@pytest.mark.parametrize("workers", [1, 2])
def test_the_program_a_page_over_time_waited_on_is_ended(tmp_path, workers: int) -> None:
    """The alarm stops the page's wait for a program (Tesseract), not the program: it is ended with
    its page, in the job process (one worker) as in a page worker."""
    marker = tmp_path / "program.pid"
    executor = default_executor(workers, PageBudget(seconds=1, memory_mb=512))
    done = executor.map_pages(Misbehave(bad=1, how="waits on a program", marker=marker), _pages(3))
    assert [p.failure is not None for p in done] == [False, True, False]
    program = int(marker.read_text(encoding="ascii"))
    gone = False
    for _ in range(100):
        try:
            gone = psutil.Process(program).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            gone = True
        if gone:
            break
        time.sleep(0.05)
    assert gone, "the program the page waited on runs on by itself"
