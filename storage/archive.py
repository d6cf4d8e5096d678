"""The boundary with the pipeline: batches, source files and one call per digitized document.

Order matters for crash safety: blobs are written to the object store first, then one transaction
writes every record that points at them together with its audit events. A crash between the two
leaves only blobs nobody points at (``sohoa store gc`` removes them), never a record pointing at a
missing blob. A document whose PDF bytes or page images were archived before is linked to that
earlier record (``reused_from``) and its blob is not stored a second time.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from core import model
from core.errors import InputError, IntegrityError
from core.model import BatchStatus, nfc
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import (
    Batch,
    CertifiedCopy,
    Document,
    Dossier,
    DossierManifest,
    ReviewState,
    SourceFile,
    Station,
)
from storage.objects import ObjectStore, StoredObject, sha256_bytes

log = logging.getLogger(__name__)

_Row = TypeVar("_Row", Batch, SourceFile, CertifiedCopy, Document)

PDF = "application/pdf"
_PERSONAL_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class SourceRecord:
    """An original file recorded for a batch. ``seen_before`` is the id of an earlier source-file
    record with the same bytes (handed in before), or None."""

    id: int
    batch_id: int
    name: str
    key: str
    sha256: str
    size: int
    existed: bool
    seen_before: int | None


@dataclass(frozen=True)
class ArchivedDocument:
    """What archiving one document recorded.

    ``reused_from`` is the id of an earlier document with the same PDF or page images: this record
    links to it (same blob, same fields) instead of storing the document twice.
    ``already_recorded`` says the same dossier already held this document (a retried call): nothing
    new was written and ``document_id`` is the existing row.
    """

    document_id: int
    dossier_id: int
    dossier_code: str
    doc_type: str
    review_state: str
    pdf_key: str
    pdf_sha256: str
    certified_id: int | None
    certified_key: str | None
    reused_from: int | None
    already_recorded: bool
    new_blobs: tuple[str, ...]  # keys this call uploaded (the rest existed already)


# -- helpers ---------------------------------------------------------------------------------------


def pages_sha256(page_hashes: Sequence[str]) -> str | None:
    """One hash over a document's page images in order; None unless every page has one."""
    if not page_hashes or not all(page_hashes):
        return None
    return hashlib.sha256("\n".join(page_hashes).encode()).hexdigest()


def fields_json(fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, f in fields.items():
        box = f.box
        out[nfc(name)] = {
            "value": nfc(f.value) if isinstance(f.value, str) else f.value,
            "confidence": round(float(f.confidence), 4),
            "page": f.page,
            "box": [box.left, box.top, box.width, box.height] if box is not None else None,
            "valid": bool(f.valid),
            "needs_review": bool(f.needs_review),
            "reason": nfc(f.reason or ""),
        }
    return out


def review_state_of(document: model.Document) -> str:
    if any(f.needs_review or not f.valid for f in document.fields.values()):
        return ReviewState.NEEDS_REVIEW
    return ReviewState.OK


def _personal_id(document: model.Document) -> str | None:
    pid = document.personal_id
    return pid if pid and _PERSONAL_ID.fullmatch(pid) else None


def _station(session: Session, code: str) -> Station:
    code = nfc(code)
    station = session.scalar(select(Station).where(Station.code == code))
    if station is None:
        station = Station(code=code, name=code)
        session.add(station)
        session.flush()
    return station


def _insert_audited(session: Session, row: _Row, *, actor: str, action: str, subject: str,
                    details: dict[str, Any]) -> _Row:
    """Insert ``row`` and its audit event in one transaction, so no record exists without its entry
    in the log; the event's subject is ``subject:<new id>``."""
    session.add(row)
    session.flush()
    append_event(session, actor=actor, action=action, subject=f"{subject}:{row.id}", details=details)
    return row


def upsert_dossier(
    session: Session,
    *,
    code: str,
    procedure_code: str | None = None,
    agency: str | None = None,
    applicant_personal_id: str | None = None,
    status: str | None = None,
) -> tuple[Dossier, bool]:
    """The dossier with this code, created or updated with whatever is given; (row, created)."""
    code = nfc(code).strip()
    if not code:
        raise InputError("a dossier needs a code (MaHoSo)")
    row = session.scalar(select(Dossier).where(Dossier.code == code))
    created = row is None
    if row is None:
        row = Dossier(code=code, status=str(status or model.DossierStatus.RECEIVED))
        session.add(row)
    if procedure_code:
        row.procedure_code = nfc(procedure_code)
    if agency:
        row.agency = nfc(agency)
    if applicant_personal_id:
        row.applicant_personal_id = applicant_personal_id
    if status:
        row.status = str(status)
    session.flush()
    return row, created


# -- batches and source files ------------------------------------------------------------------------


def start_batch(
    db: Database,
    *,
    station: str,
    dossier_code: str,
    procedure_code: str | None,
    files: int,
    agency: str | None = None,
    actor: str = "system",
) -> int:
    """Record an upload from a station for a dossier, already ``processing``; returns the batch id.

    (An upload accepted by the API is recorded ``queued`` by :func:`storage.batches.record_upload`
    and started by :func:`storage.batches.claim_batch` instead; the runners continue either.)"""
    with db.transaction() as session:
        lock_chain(session)
        st = _station(session, station)
        dossier, _ = upsert_dossier(
            session,
            code=dossier_code,
            procedure_code=procedure_code,
            agency=agency,
            status=model.DossierStatus.PROCESSING,
        )
        batch = _insert_audited(
            session,
            Batch(
                station_id=st.id, dossier_id=dossier.id, procedure_code=nfc(procedure_code) if procedure_code else None,
                files=files, status=BatchStatus.PROCESSING, attempts=1, errors=[], started=datetime.now(UTC),
            ),
            actor=actor,
            action="batch.started",
            subject="batch",
            details={"station": st.code, "dossier": dossier.code, "files": files},
        )
        return batch.id


def update_batch(
    db: Database,
    batch_id: int,
    *,
    pages_total: int | None = None,
    pages_done: int | None = None,
    status: BatchStatus | str | None = None,
    error: str | None = None,
) -> None:
    """Progress for ``sohoa status``: absolute page counts, a new status, one more error line.

    ``status`` is a :class:`BatchStatus` (its string value is accepted too); any other value is
    refused before anything is written."""
    new_status = batch_status(status) if status else None
    with db.transaction() as session:
        lock_chain(session)  # serialises writers, so two error lines appended at once both stay
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise InputError(f"no batch {batch_id}")
        if pages_total is not None:
            batch.pages_total = pages_total
        if pages_done is not None:
            batch.pages_done = pages_done
        if error:
            batch.errors = [*batch.errors, nfc(error)]
        if new_status is not None:
            batch.status = new_status
            if new_status.finished:
                batch.finished = datetime.now(UTC)


def batch_status(value: BatchStatus | str) -> BatchStatus:
    """The typed status, or a one-line refusal naming the ones that exist."""
    try:
        return BatchStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in BatchStatus)
        raise InputError(f"unknown batch status {value!r} (one of {known})") from None


def record_source_file(
    db: Database,
    store: ObjectStore,
    *,
    batch_id: int,
    name: str,
    data: bytes | Path,
    media_type: str,
    actor: str = "system",
) -> SourceRecord:
    """Store an original as handed in (blob first, then its record). Originals are never modified."""
    stored = store.put_file(data, media_type) if isinstance(data, Path) else store.put_bytes(data, media_type)
    with db.transaction() as session:
        lock_chain(session)
        if session.get(Batch, batch_id) is None:
            raise InputError(f"no batch {batch_id}")
        earlier = session.scalar(
            select(SourceFile.id).where(SourceFile.sha256 == stored.sha256).order_by(SourceFile.id).limit(1)
        )
        row = SourceFile(
            batch_id=batch_id,
            name=nfc(name),
            media_type=media_type,
            object_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
        )
        _insert_audited(
            session,
            row,
            actor=actor,
            action="source.recorded",
            subject="source_file",
            details={"batch": batch_id, "name": row.name, "sha256": stored.sha256, "seen_before": earlier},
        )
        return SourceRecord(
            row.id, batch_id, row.name, stored.key, stored.sha256, stored.size, stored.existed, earlier
        )


def record_source_signatures(
    db: Database, *, batch_id: int, sha256: str, verification: dict[str, Any], actor: str = "system"
) -> None:
    """What the signatures of a signed original said at reception, beside its record (and in the
    audit trail: who received a signed paper, and whether it held)."""
    with db.transaction() as session:
        lock_chain(session)
        rows = session.scalars(
            select(SourceFile).where(SourceFile.batch_id == batch_id, SourceFile.sha256 == sha256)
        ).all()
        if not rows:
            raise InputError(f"no original {sha256[:12]} in batch {batch_id}")
        for row in rows:
            row.signatures = verification
        append_event(
            session,
            actor=actor,
            action="source.signatures_checked",
            subject=f"source_file:{rows[0].id}",
            details={"batch": batch_id, "sha256": sha256, "status": verification.get("status"),
                     "signatures": len(verification.get("signatures", []))},
        )


# -- documents -----------------------------------------------------------------------------------------


def _same_content(pdf_sha: str, pages_sha: str | None) -> ColumnElement[bool]:
    """Documents with the same PDF bytes or the same page images: one paper digitized again."""
    cond = Document.pdf_sha256 == pdf_sha
    if pages_sha:
        cond = or_(cond, Document.pages_sha256 == pages_sha)
    return cond


def _earlier(db: Database, pdf_sha: str, pages_sha: str | None) -> Document | None:
    """The first document with the same content (:func:`_same_content`), if any."""
    with db.session() as session:
        return session.scalar(
            select(Document).where(_same_content(pdf_sha, pages_sha)).order_by(Document.id).limit(1)
        )


def _in_dossier(db: Database, code: str, pdf_sha: str, pages_sha: str | None) -> bool:
    """Whether dossier ``code`` already records a document of the same content (the same files
    processed again, a retried task)."""
    with db.session() as session:
        return session.scalar(
            select(Document.id).join(Dossier, Document.dossier_id == Dossier.id)
            .where(Dossier.code == code, _same_content(pdf_sha, pages_sha)).limit(1)
        ) is not None


def _check_certified(certified: model.CertifiedCopy) -> str:
    digest = sha256_bytes(certified.pdf)
    if certified.sha256 and certified.sha256 != digest:
        raise IntegrityError(
            f"certified copy {certified.certification_number}: its bytes do not match its sha256"
        )
    return digest


def _add_certified(
    session: Session,
    *,
    document_id: int,
    certified: model.CertifiedCopy,
    stored: StoredObject,
    actor: str,
    agency: str = "",
) -> CertifiedCopy:
    number = nfc(certified.certification_number)
    agency = nfc(agency).strip()
    # Numbers are the agency's register's: another agency's (a former province's) may read the same.
    existing = session.scalar(
        select(CertifiedCopy).where(CertifiedCopy.certification_number == number, CertifiedCopy.agency == agency)
    )
    if existing is not None:
        if existing.sha256 == stored.sha256:
            return existing
        earlier_doc = session.get(Document, existing.document_id)
        if earlier_doc is None or earlier_doc.pdf_sha256 != certified.document_sha256:
            raise IntegrityError(f"certification number {number} is already recorded for another document")
        # The same document certified again under the same number (a retried run): keep the first copy.
        log.warning(
            "certification number %s already recorded for this document; keeping the first copy", number
        )
        return existing
    row = CertifiedCopy(
        document_id=document_id,
        certification_number=number,
        agency=agency,
        signer=nfc(certified.signer),
        signed_at=certified.signed_at,
        timestamp=certified.timestamp,
        object_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
    )
    return _insert_audited(
        session,
        row,
        actor=actor,
        action="certified_copy.recorded",
        subject="certified_copy",
        details={"document": document_id, "number": number, "sha256": stored.sha256, "signer": row.signer},
    )


def write_blobs(
    store: ObjectStore,
    document: model.Document,
    certified: model.CertifiedCopy | None,
    reuse: Document | None = None,
    *,
    recorded: bool = False,
) -> tuple[StoredObject | None, StoredObject | None]:
    """Step one of archiving: put the PDF (unless an earlier record holds these very bytes) and the
    certified copy. A paper seen before gets its own PDF all the same when the bytes differ: each
    dossier's scan is signed by the official who received it (Circular 01/2023, Art. 8).
    ``recorded``: the dossier holds the paper already, its record is the answer: no PDF is put."""
    pdf_obj = None
    assert document.pdf is not None
    if not recorded and (
        reuse is None or reuse.pdf_sha256 != sha256_bytes(document.pdf) or not store.exists(reuse.pdf_key)
    ):
        pdf_obj = store.put_bytes(document.pdf, PDF)
    cert_obj = store.put_bytes(certified.pdf, PDF) if certified is not None else None
    return pdf_obj, cert_obj


def _new_row(document: model.Document, pdf: StoredObject, **common: Any) -> Document:
    """A record of a document never seen before."""
    return Document(
        doc_type=nfc(document.doc_type),
        type_confidence=float(document.type_confidence),
        personal_id=_personal_id(document),
        fields=fields_json(document.fields),
        pdf_key=pdf.key,
        pdf_sha256=pdf.sha256,
        pdf_size=pdf.size,
        page_count=len(document.pages),
        review_state=review_state_of(document),
        reused_from_id=None,
        **common,
    )


def _linked_row(earlier: Document, pdf: StoredObject | None, **common: Any) -> Document:
    """A record that reuses an earlier one: its type, fields and review (nobody reviews a paper
    twice), ``reused_from`` naming it; and this dossier's own signed scan ``pdf`` (the earlier
    blob only when the bytes are the same)."""
    return Document(
        doc_type=earlier.doc_type,
        type_confidence=earlier.type_confidence,
        personal_id=earlier.personal_id,
        fields=earlier.fields,
        pdf_key=pdf.key if pdf is not None else earlier.pdf_key,
        pdf_sha256=pdf.sha256 if pdf is not None else earlier.pdf_sha256,
        pdf_size=pdf.size if pdf is not None else earlier.pdf_size,
        page_count=earlier.page_count,
        review_state=earlier.review_state,
        reused_from_id=earlier.id,
        **common,
    )


def archive_document(
    db: Database,
    store: ObjectStore,
    *,
    dossier: model.Dossier,
    document: model.Document,
    batch_id: int | None,
    source_keys: Sequence[str],
    certified: model.CertifiedCopy | None,
    actor: str,
) -> ArchivedDocument:
    """Store one digitized document's blobs, then record it, its certified copy and audit events in one
    transaction. Safe to retry: a document the dossier already holds is returned, not duplicated."""
    if not document.pdf:
        raise InputError(f"document ({document.doc_type}) of dossier {dossier.code} has no PDF to archive")
    pdf_sha = sha256_bytes(document.pdf)
    if document.sha256 and document.sha256 != pdf_sha:
        raise IntegrityError(
            f"document ({document.doc_type}) of dossier {dossier.code}: PDF does not match its sha256"
        )
    if certified is not None:
        _check_certified(certified)
    page_hashes = [p.image_sha256 for p in document.pages]
    pages_sha = pages_sha256(page_hashes)

    earlier = _earlier(db, pdf_sha, pages_sha)
    pdf_obj, cert_obj = write_blobs(store, document, certified, earlier,
                                    recorded=_in_dossier(db, dossier.code, pdf_sha, pages_sha))
    new_blobs = tuple(o.key for o in (pdf_obj, cert_obj) if o is not None and not o.existed)

    with db.transaction() as session:
        lock_chain(session)
        drow, _ = upsert_dossier(
            session,
            code=dossier.code,
            procedure_code=dossier.procedure_code,
            agency=dossier.agency,
            applicant_personal_id=dossier.applicant_personal_id,
            status=dossier.status,
        )
        same = select(Document).where(Document.dossier_id == drow.id)
        cond = _same_content(pdf_sha, pages_sha)
        mine = session.scalar(same.where(cond).order_by(Document.id).limit(1))
        if mine is None:
            # Re-read the earlier match inside the transaction: it may be new since the look-up above.
            earlier = session.scalar(select(Document).where(cond).order_by(Document.id).limit(1))
            if earlier is not None and earlier.reused_from_id is not None:
                earlier = session.get(Document, earlier.reused_from_id) or earlier
            common = {
                "dossier_id": drow.id,
                "batch_id": batch_id,
                "page_hashes": page_hashes,
                "pages_sha256": pages_sha,
                "source_keys": list(source_keys),
            }
            same_bytes = earlier is not None and earlier.pdf_sha256 == pdf_sha and store.exists(earlier.pdf_key)
            if pdf_obj is None and not same_bytes:  # the match changed or its blob vanished: store ours
                pdf_obj = store.put_bytes(document.pdf, PDF)
                new_blobs = (*new_blobs, pdf_obj.key) if not pdf_obj.existed else new_blobs
            if earlier is not None:
                row = _linked_row(earlier, None if same_bytes else pdf_obj, **common)
            else:
                assert pdf_obj is not None
                row = _new_row(document, pdf_obj, **common)
            _insert_audited(
                session,
                row,
                actor=actor,
                action="document.archived",
                subject="document",
                details={
                    "dossier": drow.code,
                    "doc_type": row.doc_type,
                    "pdf_sha256": row.pdf_sha256,
                    "pages": row.page_count,
                    "review_state": row.review_state,
                    "reused_from": row.reused_from_id,
                    "batch": batch_id,
                },
            )
            already = False
        else:
            row = mine
            already = True
        cert_row = None
        if certified is not None and cert_obj is not None:
            cert_row = _add_certified(
                session, document_id=row.id, certified=certified, stored=cert_obj, actor=actor
            )
        return ArchivedDocument(
            document_id=row.id,
            dossier_id=drow.id,
            dossier_code=drow.code,
            doc_type=row.doc_type,
            review_state=row.review_state,
            pdf_key=row.pdf_key,
            pdf_sha256=row.pdf_sha256,
            certified_id=cert_row.id if cert_row else None,
            certified_key=cert_row.object_key if cert_row else None,
            reused_from=row.reused_from_id,
            already_recorded=already,
            new_blobs=new_blobs,
        )


def record_certified_copy(
    db: Database,
    store: ObjectStore,
    *,
    document_id: int,
    certified: model.CertifiedCopy,
    actor: str,
    agency: str = "",
) -> tuple[int, str]:
    """Record a copy certified later, on request, for an archived document; returns (id, object key).
    ``agency`` is the one whose register gave the number."""
    _check_certified(certified)
    stored = store.put_bytes(certified.pdf, PDF)
    with db.transaction() as session:
        lock_chain(session)
        if session.get(Document, document_id) is None:
            raise InputError(f"no document {document_id}")
        row = _add_certified(
            session, document_id=document_id, certified=certified, stored=stored, actor=actor, agency=agency
        )
        return row.id, row.object_key


def record_manifest(
    db: Database,
    store: ObjectStore,
    *,
    dossier_code: str,
    batch_id: int | None,
    manifest: bytes,
    signature: bytes,
    actor: str,
) -> tuple[str, str]:
    """Store a dossier's signed manifest (blobs first, then its record); returns (manifest key, signature key)."""
    stored = store.put_bytes(manifest, "application/json")
    stored_sig = store.put_bytes(signature, "application/pkcs7-signature")
    with db.transaction() as session:
        lock_chain(session)
        dossier = session.scalar(select(Dossier).where(Dossier.code == nfc(dossier_code)))
        if dossier is None:
            raise InputError(f"no dossier {dossier_code}")
        session.add(
            DossierManifest(
                dossier_id=dossier.id, batch_id=batch_id, manifest_key=stored.key, signature_key=stored_sig.key
            )
        )
        append_event(
            session,
            actor=actor,
            action="dossier.manifest_signed",
            subject=f"dossier:{dossier.code}",
            details={"batch": batch_id, "manifest": stored.key, "signature": stored_sig.key},
        )
    return stored.key, stored_sig.key


def set_review(
    db: Database, document_id: int, *, state: str, actor: str, fields: dict[str, str] | None = None
) -> None:
    """A person's review: corrected values (NFC) and the new state, both in the audit log; the
    machine's reading of each field stays under ``machine``. (The verification station records
    its reviews field by field, with the official, through :func:`storage.review.record_review`.)"""
    if state not in {ReviewState.OK, ReviewState.NEEDS_REVIEW, ReviewState.REVIEWED, ReviewState.REJECTED}:
        raise InputError(f"unknown review state {state!r}")
    with db.transaction() as session:
        lock_chain(session)
        row = session.get(Document, document_id)
        if row is None:
            raise InputError(f"no document {document_id}")
        changed: dict[str, Any] = {}
        if fields:
            new = dict(row.fields)
            for name, value in fields.items():
                entry = dict(new.get(name) or {"confidence": 1.0, "page": None, "box": None})
                # the machine's reading stays beside the reviewed value (kept from the first review)
                machine = entry.get("machine") or {k: entry.get(k) for k in
                                                   ("value", "confidence", "valid", "needs_review", "reason")}
                entry.update(value=nfc(value), valid=True, needs_review=False, reason="reviewed", machine=machine)
                new[nfc(name)] = entry
                changed[nfc(name)] = nfc(value)
            row.fields = new
            for pid_field in (
                "personal_id",
                "owner_personal_id",
                "applicant_personal_id",
                "husband_personal_id",
            ):
                v = (new.get(pid_field) or {}).get("value")
                if v and _PERSONAL_ID.fullmatch(v):
                    row.personal_id = v
                    break
        row.review_state = state
        append_event(
            session,
            actor=actor,
            action="document.reviewed",
            subject=f"document:{row.id}",
            details={"state": state, "fields": changed},
        )
