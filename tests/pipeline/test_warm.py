"""The warm path: page workers that stay up between batches, and the warm-up they start with."""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from pipeline.pagework import PageWork
from pipeline.warm import WarmPagePool, warm_up
from samples.damage import Damage


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
