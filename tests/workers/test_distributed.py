"""Batches on real worker processes, with a worker killed mid-batch and the S3 server restarted.

Each test starts its own ``sohoa worker`` processes (one pool process each, as two machines would
run them) against Redis, SeaweedFS and PostgreSQL, and checks the records afterwards: every page
done once, every document recorded once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.pages import generate_batch
from workers.state import DONE, FAILED, BatchState
from workers.submit import dispatch_batch, prepare_batch, submit_batch, wait_for_batch

pytestmark = pytest.mark.timeout(240)

SMALL = {"width": 620, "height": 877, "lines": 10}  # a quarter of an A4 page at 150 dpi: ~1 s of OCR


def _state(batch: str) -> BatchState:
    from workers.app import app
    from workers.resources import redis_client

    return BatchState(redis_client(app.conf.result_backend), batch)


def _records(database_url: str, batch_id: int) -> dict:
    from storage.db import open_database
    from storage.models import AuditEvent, Document

    db = open_database(database_url)
    try:
        with db.session() as session:
            docs = session.scalars(
                select(Document).where(Document.batch_id == batch_id).order_by(Document.id)
            ).all()
            archived = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "document.archived")
                .where(AuditEvent.details["batch"].as_integer() == batch_id)
            )
            return {"documents": [(d.id, tuple(d.page_hashes)) for d in docs], "archived_events": archived}
    finally:
        db.dispose()


def _assert_each_page_once(summary: dict, records: dict, pages: int) -> None:
    recorded = [h for _id, hashes in records["documents"] for h in hashes]
    assert len(recorded) == len(set(recorded)), "a page was recorded in two documents"
    assert len(records["documents"]) == len(summary["documents"]), "a document was recorded twice"
    assert records["archived_events"] == len(records["documents"])
    assert sum(len(d["pages"]) for d in summary["documents"]) == summary["pages_done"] == pages


def test_batch_on_two_workers_with_one_bad_page(
    services, two_workers, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Both workers take pages; a page that cannot be read fails with its reason, the rest completes,
    and ``sohoa status`` reports it from the records."""
    from cli.main import main
    from storage.objects import open_store

    workers = two_workers
    paths = generate_batch(tmp_path / "in", pages=6, seed=11, pages_per_document=3, **SMALL)
    prepared = prepare_batch(paths, services.settings(), dossier_code="HS-WORKERS-0001", station="test")
    bad = open_store(services.store_url).put_bytes(b"not a PNG at all", "image/png").key
    prepared.metas[4] = {**prepared.metas[4], "image_key": bad}
    submitted = dispatch_batch(prepared)
    summary = wait_for_batch(submitted.batch, services.settings(), timeout=150)

    assert summary["status"] == "done"
    assert summary["pages_done"] == 5 and summary["pages_failed"] == 1
    assert summary["dossier_status"] == "needs_review"
    assert all(d["state"] == DONE for d in summary["documents"])
    outcomes = _state(submitted.batch).page_outcomes()
    assert outcomes[4]["state"] == FAILED and "PNG" in outcomes[4]["reason"]
    timings = _state(submitted.batch).timings()
    assert {t["worker"] for t in timings.values()} == {f"{w.name}@test" for w in workers}

    records = _records(services.database_url, submitted.batch_id)
    _assert_each_page_once(summary, records, pages=5)

    for name, value in services.env().items():
        if name.startswith("SOHOA_"):
            monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["status", str(submitted.batch_id), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["pages_done"], status["pages_total"], status["pages_failed"]) == (5, 6, 1)
    assert status["status"] == "done" and sum(status["documents"].values()) == len(records["documents"])
    assert len(status["errors"]) == 1 and "page-005.png p.1" in status["errors"][0]
    assert main(["status", str(submitted.batch_id)]) == 0
    assert "pages: 5/6 done, 1 failed" in capsys.readouterr().out
    assert main(["status", "999999"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no batch 999999" in err


def test_s3_restarted_during_batch(services, two_workers, tmp_path: Path) -> None:
    """The object store dies mid-batch and comes back on the same address: tasks retry with back-off
    and the batch completes with every page."""
    paths = generate_batch(tmp_path / "in", pages=4, seed=31, pages_per_document=2, **SMALL)
    submitted = submit_batch(paths, services.settings(), dossier_code="HS-WORKERS-S3", station="test")
    deadline = time.monotonic() + 90
    while not _state(submitted.batch).page_outcomes():
        assert time.monotonic() < deadline, "no page finished"
        time.sleep(0.05)
    services.s3.kill()
    time.sleep(3)
    services.s3.start()

    summary = wait_for_batch(submitted.batch, services.settings(), timeout=150)
    assert summary["status"] == "done" and summary["pages_failed"] == 0, summary
    logs = "".join(w.log_text() for w in two_workers)
    assert "S3 server unreachable" in logs and "retry" in logs, "the outage went unnoticed"
    _assert_each_page_once(summary, _records(services.database_url, submitted.batch_id), pages=4)


def test_worker_killed_mid_batch(services, two_workers, tmp_path: Path) -> None:
    """SIGKILL one of two workers while it runs a page: the other finishes the batch, no page is lost,
    no record is made twice. (Last in this module: it leaves one worker.)"""
    victim, survivor = two_workers
    paths = generate_batch(tmp_path / "in", pages=6, seed=23, pages_per_document=2, **SMALL)
    submitted = submit_batch(paths, services.settings(), dossier_code="HS-WORKERS-KILL", station="test")

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        done = _state(submitted.batch).page_outcomes()
        in_flight = victim.tasks("received") - victim.tasks("succeeded")
        if done and in_flight and len(done) < 5:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the victim never had a page in flight")
    victim.kill()
    lost = victim.tasks("received") - victim.tasks("succeeded")
    assert lost

    summary = wait_for_batch(submitted.batch, services.settings(), timeout=150)
    assert summary["status"] == "done" and summary["pages_failed"] == 0
    # A task the victim held beyond the one it ran (its prefetch) may be one the batch no longer
    # needed; it is still handed to the survivor once the visibility timeout passes.
    deadline = time.monotonic() + 60
    while not lost <= survivor.tasks("succeeded") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lost <= survivor.tasks("succeeded"), "the killed worker's task was not redelivered"
    assert len(_state(submitted.batch).page_outcomes()) == 6
    _assert_each_page_once(summary, _records(services.database_url, submitted.batch_id), pages=6)
