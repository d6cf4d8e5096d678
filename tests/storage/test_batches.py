"""storage.batches: an upload recorded queued, claimed once, continued by a runner, failed with the
station's line, queued again after a restart, and read back with its documents from the records
(real SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import InputError
from core.model import BatchStatus
from storage.archive import archive_document, update_batch
from storage.audit import verify_chain
from storage.batches import (
    batch_report,
    claim_batch,
    fail_batch,
    find_by_idempotency_key,
    get_batch,
    list_batches,
    record_progress,
    record_upload,
    release_spool,
    requeue_unfinished,
)
from storage.db import Database
from storage.models import AuditEvent
from storage.objects import ObjectStore
from storage.records import batch_progress, dossier_by_code
from storage.trail import audit_events, dossier_subjects
from tests.storage.builders import make_certified, make_document, make_dossier

FILES = [
    {"name": "Căn cước.png", "size": 1, "sha256": "a" * 64, "media_type": "image/png", "pages": 1,
     "spool_name": "000.png"},
    {"name": "Đơn.pdf", "size": 2, "sha256": "b" * 64, "media_type": "application/pdf", "pages": 2,
     "spool_name": "001.pdf"},
]


def _upload(db: Database, public_id: str, *, key: str | None = None, station: str = "quay-01",
            dossier: str = "HS-1") -> tuple:
    return record_upload(
        db, public_id=public_id, station=station, dossier_code=dossier, procedure_code="1.001612",
        certify=False, files=FILES, spool_dir=f"/spool/{public_id}", fingerprint="f" * 64, idempotency_key=key,
    )


def test_upload_is_claimed_once_and_continued(db: Database, local_store: ObjectStore) -> None:
    record, created = _upload(db, "p1", key="k-1")
    assert created and record.status == BatchStatus.QUEUED and record.station == "quay-01"
    again, created = _upload(db, "p2", key="k-1")
    assert not created and again.public_id == "p1"  # the same key: the first batch
    assert find_by_idempotency_key(db, "quay-02", "k-1") is None  # keys are per station

    claimed = claim_batch(db, "p1", agency="UBND xã Thử")
    assert claimed is not None and claimed.status == BatchStatus.PROCESSING and claimed.attempts == 1
    assert claim_batch(db, "p1") is None  # a second submission finds nothing to claim
    dossier = dossier_by_code(db, "HS-1")
    assert dossier is not None and dossier.status == "processing" and dossier.agency == "UBND xã Thử"
    with db.session() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "batch.started")).all()
    assert event.subject == f"batch:{claimed.id}" and event.actor == "quay-01"

    # The runner continues the same record: its progress and documents are the upload's.
    record_progress(db, claimed.id, pages_total=3)
    doc = make_document(1, pages=3)
    archive_document(db, local_store, dossier=make_dossier("HS-1"), document=doc, batch_id=claimed.id,
                     source_keys=[], certified=make_certified(doc, "CT-1"), actor="quay-01")
    update_batch(db, claimed.id, pages_done=3, status=BatchStatus.DONE)
    report = batch_report(db, "p1", station="quay-01")
    assert report is not None and (report.pages_done, report.pages_total) == (3, 3)
    assert report.batch.status == BatchStatus.DONE and report.batch.finished is not None
    (document,) = report.documents
    assert document.pages == ("Căn cước.png p.1", "Đơn.pdf p.1", "Đơn.pdf p.2")
    assert document.certification_number == "CT-1" and document.sha256 == doc.sha256
    assert batch_progress(db, claimed.id).status == BatchStatus.DONE  # what ``sohoa status`` reads
    assert fail_batch(db, "p1", "late") is False  # a finished batch stays done
    assert batch_report(db, "p1", station="quay-02") is None  # another station's: not found

    subjects = dossier_subjects(db, "HS-1")
    assert subjects is not None and f"batch:{claimed.id}" in subjects
    assert {e.action for e in audit_events(db, subjects=subjects)} >= {"batch.started"}
    assert dossier_subjects(db, "HS-none") is None
    assert verify_chain(db).ok


def test_failure_restart_and_listing(db: Database) -> None:
    _upload(db, "q1")
    _upload(db, "q2", station="quay-02", dossier="HS-2")
    _upload(db, "q3")
    claimed = claim_batch(db, "q1")
    assert claimed is not None
    update_batch(db, claimed.id, status="failed", error="000.png: unreadable")  # the runner's line first
    assert fail_batch(db, "q1", "Căn cước.png: unreadable")
    failed = get_batch(db, "q1")
    assert failed is not None and failed.status == BatchStatus.FAILED
    assert failed.error == "Căn cước.png: unreadable"  # the station's line
    assert failed.errors == ("000.png: unreadable", "Căn cước.png: unreadable")
    release_spool(db, claimed.id)

    # A server stopped mid-run: the claimed upload whose files wait in the spool is queued again.
    assert claim_batch(db, "q3") is not None
    assert requeue_unfinished(db) == ["q2", "q3"]
    assert get_batch(db, "q3").status == BatchStatus.QUEUED  # type: ignore[union-attr]

    mine = list_batches(db, station="quay-01")
    assert [b.public_id for b in mine] == ["q3", "q1"]  # newest first, only this station's
    assert [b.public_id for b in list_batches(db, station="quay-01", status="failed")] == ["q1"]
    with pytest.raises(InputError, match="unknown batch status"):
        list_batches(db, station="quay-01", status="finished")
    with pytest.raises(InputError, match="unknown batch status"):
        update_batch(db, claimed.id, status="finished")
