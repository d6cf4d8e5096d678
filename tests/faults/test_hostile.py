"""The issue's first probe, end to end: the 39 KB content-stream PDF uploaded first, a one-page
batch from another station right after. The hostile one is refused with its reason, the second
finishes within 60 s, and no job process comes near 1 GB."""

from __future__ import annotations

import threading
import time

import psutil

from tests.api.conftest import png, small_page
from tests.faults.conftest import Served, wait_status
from tests.faults.hostile import content_bomb_pdf


def _tree_rss(served: Served) -> int:
    total = 0
    for job in served.job_processes():
        try:
            total = max(total, job.memory_info().rss + sum(c.memory_info().rss for c in job.children(recursive=True)))
        except psutil.Error:  # a job ending between the two calls
            continue
    return total


def test_a_bomb_first_does_not_hold_up_the_next_station(served: Served) -> None:
    served.start()
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(served))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with served.client("station_a") as a:
            bomb = a.post("/v1/batches", data={"dossier_code": "HS-BOMB"},
                          files=[("files", ("bomb.pdf", content_bomb_pdf(), "application/pdf"))])
        started = time.monotonic()
        with served.client("station_b") as b:
            r = b.post("/v1/batches", data={"dossier_code": "HS-NEXT"},
                       files=[("files", ("cccd.png", png(small_page(4)), "image/png"))])
            assert r.status_code == 202, r.text
            body = wait_status(b, r.json()["id"], ("done", "failed"), timeout=60)
        seconds = time.monotonic() - started
    finally:
        stop.set()
        sampler.join()
    assert bomb.status_code == 413 and "content-stream bomb" in bomb.json()["detail"], bomb.text
    assert body["status"] == "done", body["error"]
    assert seconds < 60
    assert 0 < peak < 2**30, f"job process peak {peak / 2**20:.0f} MiB"
    print(f"\nsecond batch done in {seconds:.1f} s; job process peak {peak / 2**20:.0f} MiB")
