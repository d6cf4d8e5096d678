"""Batches on real worker processes, with a worker killed mid-batch and the S3 server restarted.

The module starts one pair of ``sohoa worker`` processes (one pool process each, as two machines
would run them; starting a pair costs seconds) against Redis, SeaweedFS and PostgreSQL, shared by
its tests in order, and checks the records afterwards: every page done once, every document
recorded once. The worker killed mid-batch is last: it leaves one worker.

One flow, two runners: the same dossier through the in-process runner and through Celery workers
ends with the same documents, fields, statuses, stored objects and manifest.

Each runner has a deployment of its own (the in-process one SQLite and a local folder; the Celery one
PostgreSQL and a SeaweedFS S3 server), so neither finds what the other recorded. The searchable PDFs
are dated by the batch's reception time, given to both, so equal work gives equal bytes and keys.
Certified copies carry their signing time and differ; both registers number them 1..N.

Certification on the workers also waits for the whole dossier, as in-process: a paper is compared
with every other paper of its batch before it is certified, so two papers that disagree on their
holder are both held (no copy, both to review), whichever worker finishes first.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.settings import Settings
from flow.context import BatchSummary
from flow.run import process_paths
from samples.facts import person
from samples.generator import generate_document
from storage.objects import open_store
from tests.support.pages import generate_batch
from workers.state import DONE, FAILED, BatchState
from workers.submit import dispatch_batch, prepare_batch, process_on_workers, submit_batch, wait_for_batch

pytestmark = pytest.mark.timeout(240)

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dossier"
DOSSIER = "000.00.19.H99-261207-0042"
RECEIVED = datetime(2026, 12, 7, 8, 15, tzinfo=UTC)


def _documents(summary: BatchSummary) -> list[dict]:
    return [
        {
            "number": d.number, "state": str(d.state), "doc_type": d.doc_type, "pages": d.pages,
            "fields": d.fields, "needs_review": d.needs_review, "review_state": d.review_state,
        }
        for d in summary.documents
    ]


def _manifest(summary: BatchSummary, store_url: str) -> dict:
    """The signed manifest without what only the signing time decides (its date, the keys of the
    certified copies and of the scans the digitizing official signed)."""
    assert summary.manifest_key is not None
    manifest = json.loads(open_store(store_url).get_bytes(summary.manifest_key))
    copies = {d.certified_key for d in summary.documents}
    assert copies and None not in copies, "every document was certified"
    signed = {d.pdf_key for d in summary.documents}
    manifest.pop("created_at")
    manifest["objects"] = {k: v for k, v in manifest["objects"].items() if k not in copies | signed}
    for document in manifest["documents"]:
        document.pop("certified")
        document.pop("pdf")
    return manifest


@pytest.mark.timeout(400)
def test_same_dossier_same_outcome_on_both_runners(services, two_workers, tmp_path: Path) -> None:
    files = [tmp_path / name for name in ("ho-so-mau.pdf", "giay-chung-nhan-ket-hon.jpg")]
    for f in files:
        shutil.copy(SAMPLES / f.name, f)
    embedded = Settings(data_dir=tmp_path / "embedded", workers=1)

    # Both at once (the workers' run is waited on from a thread; the in-process one keeps the main
    # thread, where its page time limits' alarms are delivered): neither sees the other's records.
    with ThreadPoolExecutor(1) as waiter:
        on_workers = waiter.submit(process_on_workers, files, services.settings(), dossier_code=DOSSIER,
                                   procedure_code="1.001612", station="st-1", received_at=RECEIVED, timeout=300)
        here = process_paths(files, embedded, dossier_code=DOSSIER, procedure_code="1.001612", station="st-1",
                             received_at=RECEIVED).summary
        there = on_workers.result().summary

    assert len(here.documents) == 6 and all(d.done for d in here.documents)
    assert _documents(here) == _documents(there)
    # Both registers number their copies 1..N without a gap; which copy gets which number is the
    # order certification finished in, sequential here and parallel on the workers.
    numbers = [sorted(d.certification_number for d in s.documents) for s in (here, there)]
    assert numbers[0] == numbers[1] == sorted(f"{n}, Quyển số: 01/{RECEIVED.year}-SCTĐT/BS" for n in range(1, 7))
    assert (here.status, here.dossier_status, here.pages_done, here.pages_failed) == (
        there.status, there.dossier_status, there.pages_done, there.pages_failed)
    assert _manifest(here, embedded.resolved_store_url) == _manifest(there, services.store_url)


_TASK_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*Task sohoa\.(document|certify)\[sohoa-(\w+)-"
                        r"(?:document|certify)-\d+\] (received|succeeded)")


def _task_times(logs: list[str], batch: str) -> dict[tuple[str, str], list[datetime]]:
    """When each worker logged a document or certify task of ``batch`` as received or succeeded."""
    times: dict[tuple[str, str], list[datetime]] = {}
    for text in logs:
        for line in text.splitlines():
            m = _TASK_LINE.match(line)
            if m and m.group(3) == batch:
                when = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
                times.setdefault((m.group(2), m.group(4)), []).append(when)
    return times


@pytest.mark.timeout(300)
def test_papers_that_disagree_are_both_held_on_the_workers(services, two_workers, tmp_path: Path) -> None:
    from storage.db import open_database
    from storage.records import dossier_by_code

    rng = random.Random("workers-agreement-dob")
    holder = person(rng)
    day = timedelta(days=1 if holder.birth.day < 28 else -1)
    paths = []
    for i, (doc_type, subject) in enumerate((("cccd", holder),
                                             ("residence_confirmation", replace(holder, birth=holder.birth + day)))):
        doc = generate_document(doc_type, random.Random(f"workers-agreement-dob/{doc_type}"), subject=subject,
                                damage=0.0, allow_rotation=False)
        for j, page in enumerate(doc.pages):
            paths.append(tmp_path / f"{i}-{doc_type}-{j}.png")
            Image.fromarray(page).save(paths[-1], dpi=(300, 300))
    submitted = submit_batch(paths, services.settings(), dossier_code="HS-WORKERS-AGREE", procedure_code="1.000894",
                             station="test", certify=True)
    summary = wait_for_batch(submitted.batch, services.settings(), timeout=240)

    documents = summary["documents"]
    assert [(d["state"], d["doc_type"]) for d in documents] == [("done", "cccd"), ("done", "residence_confirmation")]
    assert all(d["certified_key"] is None and d["certification_number"] is None for d in documents), documents
    assert all(d["review_state"] == "needs_review" for d in documents)
    assert summary["dossier_status"] == "needs_review"
    db = open_database(services.database_url)
    try:
        records = dossier_by_code(db, "HS-WORKERS-AGREE")
        assert records is not None
        for record in records.documents:
            assert record.review_state == "needs_review" and not record.certified
            assert record.fields["date_of_birth"]["needs_review"] is True
    finally:
        db.dispose()

    # every certify task was handed out after the last document of the batch was recorded
    times = _task_times([w.log_text() for w in two_workers], submitted.batch)
    recorded, certifying = times.get(("document", "succeeded"), []), times.get(("certify", "received"), [])
    assert len(recorded) == 2 and len(certifying) == 2, times
    assert max(recorded) <= min(certifying), times


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
