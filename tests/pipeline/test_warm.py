"""The warm path: page workers that stay up between batches, the warm-up they start with, and\nwarm workers again after one of them died."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import psutil
from rapidfuzz.distance import Levenshtein

from core.model import Page
from pipeline.pagework import PageWork
from pipeline.warm import WarmPagePool, warm_up
from samples.damage import Damage
from tests.faults.pagefaults import Misbehave, served_by


def test_warm_up_loads_page_work_and_never_raises() -> None:
    assert warm_up("vie") >= 0.0
    assert warm_up("xyz-not-installed") >= 0.0  # a wrong language is the page work's to report


def test_workers_stay_up_between_batches_and_read_each_batch(make_page) -> None:
    damage = Damage(skew_deg=1.5, lighting=0.4, noise_std=5)
    first = [make_page(seed, damage, lines=2) for seed in (21, 22)]
    second = [make_page(seed, damage, lines=2) for seed in (23, 24, 25)]
    with WarmPagePool(2) as pool:
        workers = pool.start()
        assert len(workers) == 2
        for batch in (first, second):
            done = pool.map_pages(PageWork("vie"), [page for page, _ in batch])
            assert [d.index for d in done] == [page.index for page, _ in batch]
            for d, (_, truth) in zip(done, batch, strict=True):
                assert Levenshtein.distance(d.text, truth) / len(truth) < 0.03, d.text
            assert pool.start() == workers  # the same processes, still up


def _all_gone(pids: list[int]) -> bool:
    """Whether none of ``pids`` runs any more (waiting a little: the executor ends its workers on
    its own thread)."""
    for _ in range(100):
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _served(pool: WarmPagePool, pages: list) -> set[tuple[int, bool]]:
    done = pool.map_pages(served_by, pages)
    return {(int(pid), warm == "True") for pid, warm in (d.text.split() for d in done)}


def test_a_dead_worker_is_replaced_by_warm_workers_for_the_next_batch(make_page) -> None:
    """A worker SIGKILLed mid-page breaks the executor: its batch still comes back whole (the page
    that kills its worker every time fails alone, the others are read), and the batches after it
    are served by warm workers again, not by a cold pool per batch."""
    blank = [Page(source="f.pdf", source_sha256="0" * 64, index=i, image=np.zeros((50, 50), np.uint8), dpi=300)
             for i in range(6)]
    damage = Damage(skew_deg=1.0, lighting=0.3, noise_std=4)
    real = [make_page(seed, damage, lines=2) for seed in (26, 27)]
    with WarmPagePool(2) as pool:
        first = pool.start()
        assert _served(pool, blank) <= {(pid, True) for pid in first}  # warm workers, before any fault
        done = pool.map_pages(Misbehave(bad=3, how="dies"), blank)
        assert [d.index for d in done] == list(range(6))
        assert [d.index for d in done if d.failure] == [3] and "killed (SIGKILL" in done[3].failure
        assert all(d.text == f"read {d.index}" for d in done if not d.failure)
        assert pool.restarts == 1 and not pool.broken
        second = pool.start()
        assert len(second) == 2 and not set(second) & set(first)
        assert _all_gone(first)  # the broken executor's workers are not left behind
        assert _served(pool, blank) <= {(pid, True) for pid in second}  # warm again
        read = pool.map_pages(PageWork("vie"), [page for page, _ in real])
        for d, (_, truth) in zip(read, real, strict=True):
            assert not d.failure and Levenshtein.distance(d.text, truth) / len(truth) < 0.03, d.text
        assert pool.start() == second and pool.restarts == 1  # the same workers, still up


def test_a_worker_killed_between_batches_is_replaced_before_the_next(make_page) -> None:
    blank = [Page(source="f.pdf", source_sha256="0" * 64, index=i, image=np.zeros((50, 50), np.uint8), dpi=300)
             for i in range(4)]
    with WarmPagePool(2) as pool:
        first = pool.start()
        os.kill(first[0], signal.SIGKILL)
        for _ in range(200):  # the executor notices the death on its own thread
            if pool.broken:
                break
            time.sleep(0.05)
        assert pool.broken
        served = _served(pool, blank)  # renewed before the batch: served warm, every page read
        second = pool.start()
        assert served <= {(pid, True) for pid in second} and not set(second) & set(first)
        assert pool.restarts == 1
