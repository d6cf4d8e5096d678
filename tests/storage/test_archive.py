"""Archiving documents: blobs then records in one transaction, dedupe of documents seen before,
certified copies, and the read-side helpers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.errors import InputError, IntegrityError
from storage.archive import (
    archive_document,
    record_certified_copy,
    record_source_file,
    start_batch,
    update_batch,
)
from storage.audit import verify_chain
from storage.db import Database
from storage.models import CertifiedCopy, Document
from storage.objects import ObjectStore
from storage.records import batch_progress, dossier_by_code, find_by_sha256, referenced_keys
from tests.storage.builders import make_certified, make_document, make_dossier


def _count(db: Database, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_archive_writes_blob_records_and_audit(db: Database, store: ObjectStore) -> None:
    batch = start_batch(db, station="quay-01", dossier_code="HS-1", procedure_code="1.000001", files=1)
    src = record_source_file(
        db, store, batch_id=batch, name="bản chính.pdf", data=b"%PDF original", media_type="application/pdf"
    )
    doc = make_document(1, pages=2)
    cert = make_certified(doc)
    result = archive_document(
        db,
        store,
        dossier=make_dossier("HS-1"),
        document=doc,
        batch_id=batch,
        source_keys=[src.key],
        certified=cert,
        actor="quay-01",
    )
    assert result.reused_from is None and not result.already_recorded
    assert store.get_bytes(result.pdf_key) == doc.pdf
    assert store.get_bytes(result.certified_key) == cert.pdf
    assert set(result.new_blobs) == {result.pdf_key, result.certified_key}
    assert referenced_keys(db) == set(store.iter_keys())

    dossier = dossier_by_code(db, "HS-1")
    assert dossier is not None and dossier.procedure_code == "1.000001"
    (info,) = dossier.documents
    assert info.personal_id == "001090012345" and info.page_count == 2
    assert info.fields["full_name"]["value"] == "NGUYỄN VĂN AN"
    assert info.certified[0].certification_number == "CT-0001/2026"

    (match,) = find_by_sha256(db, cert.sha256)
    assert match.kind == "certified_copy" and match.document.id == result.document_id
    assert find_by_sha256(db, doc.sha256)[0].kind == "document"
    assert find_by_sha256(db, "f" * 64) == []

    update_batch(db, batch, pages_total=2, error="trang 3: không đọc được", status="done")
    progress = batch_progress(db, batch)
    assert (progress.pages_done, progress.pages_total) == (2, 2)
    assert progress.documents_by_state == {"ok": 1}
    assert progress.errors == ("trang 3: không đọc được",) and progress.status == "done"
    report = verify_chain(db)
    assert report.ok and report.events == 4  # batch, source, document, certified copy


def test_retry_is_idempotent(db: Database, store: ObjectStore) -> None:
    doc, cert = make_document(2), None
    first = archive_document(
        db,
        store,
        dossier=make_dossier(),
        document=doc,
        batch_id=None,
        source_keys=[],
        certified=cert,
        actor="t",
    )
    again = archive_document(
        db,
        store,
        dossier=make_dossier(),
        document=doc,
        batch_id=None,
        source_keys=[],
        certified=cert,
        actor="t",
    )
    assert again.already_recorded and again.document_id == first.document_id and again.new_blobs == ()
    assert _count(db, Document) == 1


def test_document_seen_before_links_to_existing_record(db: Database, store: ObjectStore) -> None:
    first = archive_document(
        db,
        store,
        dossier=make_dossier("HS-A"),
        document=make_document(3),
        batch_id=None,
        source_keys=[],
        certified=None,
        actor="t",
    )
    # Same page images, different PDF bytes (another dossier's signed scan): linked to the first
    # record, whose reading it reuses, but its PDF is its own (signed by whoever received it there).
    rescanned = make_document(3, pdf=b"%PDF-1.7 another rendering of the same pages")
    second = archive_document(
        db,
        store,
        dossier=make_dossier("HS-B"),
        document=rescanned,
        batch_id=None,
        source_keys=[],
        certified=None,
        actor="t",
    )
    assert second.reused_from == first.document_id and not second.already_recorded
    assert second.pdf_key != first.pdf_key and second.new_blobs == (second.pdf_key,)
    assert store.get_bytes(second.pdf_key) == rescanned.pdf
    # Same PDF bytes, other pages: linked too.
    same_pdf = make_document(99, pdf=make_document(3).pdf)
    third = archive_document(
        db,
        store,
        dossier=make_dossier("HS-C"),
        document=same_pdf,
        batch_id=None,
        source_keys=[],
        certified=None,
        actor="t",
    )
    assert third.reused_from == first.document_id
    assert third.pdf_key == first.pdf_key and third.new_blobs == ()  # the very same bytes: one blob
    assert sorted(store.iter_keys()) == sorted([first.pdf_key, second.pdf_key])  # two blobs, three records
    assert _count(db, Document) == 3


def test_needs_review_and_bad_input(db: Database, store: ObjectStore) -> None:
    result = archive_document(
        db,
        store,
        dossier=make_dossier(),
        document=make_document(4, needs_review=True),
        batch_id=None,
        source_keys=[],
        certified=None,
        actor="t",
    )
    assert result.review_state == "needs_review"
    from dataclasses import replace

    with pytest.raises(InputError):
        archive_document(
            db,
            store,
            dossier=make_dossier(),
            document=replace(make_document(5), pdf=None),
            batch_id=None,
            source_keys=[],
            certified=None,
            actor="t",
        )
    with pytest.raises(IntegrityError):
        archive_document(
            db,
            store,
            dossier=make_dossier(),
            document=replace(make_document(6), sha256="0" * 64),
            batch_id=None,
            source_keys=[],
            certified=None,
            actor="t",
        )


def test_certified_later_on_request(db: Database, store: ObjectStore) -> None:
    doc = make_document(7)
    archived = archive_document(
        db,
        store,
        dossier=make_dossier(),
        document=doc,
        batch_id=None,
        source_keys=[],
        certified=None,
        actor="t",
    )
    cert = make_certified(doc, "CT-0007/2026")
    copy_id, key = record_certified_copy(
        db, store, document_id=archived.document_id, certified=cert, actor="cán bộ"
    )
    assert store.get_bytes(key) == cert.pdf
    assert (
        record_certified_copy(db, store, document_id=archived.document_id, certified=cert, actor="cán bộ")[0]
        == copy_id
    )
    other = make_document(8)
    other_doc = archive_document(
        db,
        store,
        dossier=make_dossier("HS-X"),
        document=other,
        batch_id=None,
        source_keys=[],
        certified=None,
        actor="t",
    )
    with pytest.raises(IntegrityError, match="another document"):
        record_certified_copy(
            db,
            store,
            document_id=other_doc.document_id,
            certified=make_certified(other, "CT-0007/2026"),
            actor="t",
        )
    assert _count(db, CertifiedCopy) == 1


def test_same_source_file_twice_is_stored_once(db: Database, store: ObjectStore) -> None:
    batch = start_batch(db, station="quay-02", dossier_code="HS-S", procedure_code=None, files=2)
    a = record_source_file(
        db, store, batch_id=batch, name="a.jpg", data=b"JPEG bytes", media_type="image/jpeg"
    )
    b = record_source_file(
        db, store, batch_id=batch, name="b.jpg", data=b"JPEG bytes", media_type="image/jpeg"
    )
    assert (a.existed, b.existed) == (False, True) and b.seen_before == a.id
    assert list(store.iter_keys()) == [a.key]


def test_concurrent_archiving_into_one_new_dossier(db: Database, local_store: ObjectStore) -> None:
    """Workers archiving documents of the same, not yet recorded dossier neither collide nor duplicate."""
    import threading

    from storage.db import open_database

    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        own = open_database(db.url)
        try:
            for i in range(4):
                archive_document(
                    own,
                    local_store,
                    dossier=make_dossier("HS-RACE"),
                    document=make_document(1000 + offset * 10 + i),
                    batch_id=None,
                    source_keys=[],
                    certified=None,
                    actor=f"worker-{offset}",
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    dossier = dossier_by_code(db, "HS-RACE")
    assert dossier is not None and len(dossier.documents) == 12
    assert verify_chain(db).ok
