"""Hostile files at the door: a content-stream bomb is refused in the upload answer (413, one line,
nothing left in the spool), so it never reaches a job, and the next station's batch runs at once."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import Server, png, small_page, wait_for_batch
from tests.faults.hostile import content_bomb_pdf


@pytest.mark.parametrize("inflated", [40_000_000, 2_500_000], ids=["39KB-to-40MB", "3KB-to-2.5MB"])
def test_a_content_stream_bomb_is_refused_before_the_answer(server: Server, inflated: int) -> None:
    spool = server.data_dir / "api-spool"
    before = {p.name for p in spool.iterdir()} if spool.exists() else set()
    started = time.monotonic()
    with server.client("station_a") as station:
        r = station.post("/v1/batches", data={"dossier_code": "HS-BOMB-1"},
                         files=[("files", ("bomb.pdf", content_bomb_pdf(inflated), "application/pdf"))])
    assert time.monotonic() - started < 5.0
    assert r.status_code == 413, r.text
    detail = r.json()["detail"]
    assert detail.startswith("bomb.pdf: page 1:") and "content-stream bomb" in detail
    assert str(server.data_dir) not in detail and "\n" not in detail
    assert ({p.name for p in spool.iterdir()} if spool.exists() else set()) <= before


def test_the_next_station_is_not_held_up_by_a_bomb(server: Server) -> None:
    with server.client("station_a") as a:
        assert a.post("/v1/batches", data={"dossier_code": "HS-BOMB-2"},
                      files=[("files", ("bomb.pdf", content_bomb_pdf(), "application/pdf"))]).status_code == 413
    started = time.monotonic()
    with server.client("station_b") as b:
        r = b.post("/v1/batches", data={"dossier_code": "HS-AFTER-BOMB"},
                   files=[("files", ("cccd.png", png(small_page(3)), "image/png"))])
        assert r.status_code == 202, r.text
        batch = wait_for_batch(b, r.json()["id"], timeout=60)
    assert batch["status"] == "done", batch["error"]
    assert time.monotonic() - started < 60
