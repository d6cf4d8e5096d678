"""Read-side helpers over the records, for the other areas: the auditor's "does this file match the
dossier record", a dossier with its documents, and batch progress for ``sohoa status``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.errors import InputError
from core.model import BatchStatus, nfc
from storage.db import Database
from storage.models import Batch, CertifiedCopy, Document, Dossier, DossierManifest, SourceFile


@dataclass(frozen=True)
class CertifiedInfo:
    id: int
    certification_number: str
    signer: str
    signed_at: datetime
    timestamp: datetime | None
    object_key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    dossier_code: str
    batch_id: int | None
    doc_type: str
    type_confidence: float
    personal_id: str | None
    fields: dict[str, Any]
    pdf_key: str
    pdf_sha256: str
    pdf_size: int
    page_count: int
    page_hashes: tuple[str, ...]
    source_keys: tuple[str, ...]
    review_state: str
    reused_from: int | None
    created: datetime
    certified: tuple[CertifiedInfo, ...] = ()


@dataclass(frozen=True)
class DossierInfo:
    id: int
    code: str
    procedure_code: str | None
    agency: str | None
    applicant_personal_id: str | None
    status: str
    created: datetime
    updated: datetime
    documents: tuple[DocumentInfo, ...] = ()
    signed_originals: tuple[SignedOriginal, ...] = ()


@dataclass(frozen=True)
class SignedOriginal:
    """An original handed in already signed, and what its signatures said at reception."""

    name: str
    sha256: str
    status: str  # PASSED / INDETERMINATE / FAILED
    reasons: tuple[str, ...]
    signatures: tuple[dict[str, Any], ...]  # signer, signing time, timestamp, status, reasons


@dataclass(frozen=True)
class FileMatch:
    """Which record a file's hash belongs to: ``kind`` is "certified_copy" or "document"."""

    kind: str
    sha256: str
    document: DocumentInfo
    certified: CertifiedInfo | None = None


@dataclass(frozen=True)
class BatchProgress:
    batch_id: int
    station: str
    dossier_code: str | None
    status: BatchStatus
    files: int
    pages_done: int
    pages_total: int
    documents_by_state: dict[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    created: datetime | None = None
    finished: datetime | None = None


def _certified_info(c: CertifiedCopy) -> CertifiedInfo:
    return CertifiedInfo(
        c.id, c.certification_number, c.signer, c.signed_at, c.timestamp, c.object_key, c.sha256, c.size
    )


def _document_info(d: Document, dossier_code: str) -> DocumentInfo:
    return DocumentInfo(
        id=d.id,
        dossier_code=dossier_code,
        batch_id=d.batch_id,
        doc_type=d.doc_type,
        type_confidence=d.type_confidence,
        personal_id=d.personal_id,
        fields=dict(d.fields),
        pdf_key=d.pdf_key,
        pdf_sha256=d.pdf_sha256,
        pdf_size=d.pdf_size,
        page_count=d.page_count,
        page_hashes=tuple(d.page_hashes),
        source_keys=tuple(d.source_keys),
        review_state=d.review_state,
        reused_from=d.reused_from_id,
        created=d.created,
        certified=tuple(_certified_info(c) for c in d.certified_copies),
    )


def document_by_id(db: Database, document_id: int) -> DocumentInfo | None:
    with db.session() as session:
        d = session.get(
            Document,
            document_id,
            options=[selectinload(Document.certified_copies), selectinload(Document.dossier)],
        )
        return None if d is None else _document_info(d, d.dossier.code)


def find_by_sha256(db: Database, sha256_hex: str) -> list[FileMatch]:
    """Every record whose certified copy or searchable PDF has this SHA-256 (the auditor's check)."""
    digest = sha256_hex.strip().lower()
    out: list[FileMatch] = []
    with db.session() as session:
        for c in session.scalars(
            select(CertifiedCopy)
            .where(CertifiedCopy.sha256 == digest)
            .options(
                selectinload(CertifiedCopy.document).selectinload(Document.certified_copies),
                selectinload(CertifiedCopy.document).selectinload(Document.dossier),
            )
        ):
            out.append(
                FileMatch(
                    "certified_copy",
                    digest,
                    _document_info(c.document, c.document.dossier.code),
                    _certified_info(c),
                )
            )
        for d in session.scalars(
            select(Document)
            .where(Document.pdf_sha256 == digest)
            .order_by(Document.id)
            .options(selectinload(Document.certified_copies), selectinload(Document.dossier))
        ):
            out.append(FileMatch("document", digest, _document_info(d, d.dossier.code)))
    return out


def dossier_by_code(db: Database, code: str) -> DossierInfo | None:
    """A dossier and all its documents (with certified copies), in the order they were archived."""
    with db.session() as session:
        row = session.scalar(
            select(Dossier)
            .where(Dossier.code == nfc(code).strip())
            .options(selectinload(Dossier.documents).selectinload(Document.certified_copies))
        )
        if row is None:
            return None
        return DossierInfo(
            id=row.id,
            code=row.code,
            procedure_code=row.procedure_code,
            agency=row.agency,
            applicant_personal_id=row.applicant_personal_id,
            status=row.status,
            created=row.created,
            updated=row.updated,
            documents=tuple(_document_info(d, row.code) for d in row.documents),
            signed_originals=tuple(
                SignedOriginal(s.name, s.sha256, str(s.signatures.get("status", "")),
                               tuple(s.signatures.get("reasons", ())), tuple(s.signatures.get("signatures", ())))
                for s in session.scalars(
                    select(SourceFile)
                    .join(Batch, Batch.id == SourceFile.batch_id)
                    .where(Batch.dossier_id == row.id, SourceFile.signatures.is_not(None))
                    .order_by(SourceFile.id)
                )
                if s.signatures
            ),
        )


def certified_copy_by_id(db: Database, copy_id: int) -> CertifiedInfo | None:
    """One certified copy's record (for its download: the object key and the hash to check)."""
    with db.session() as session:
        c = session.get(CertifiedCopy, copy_id)
        return None if c is None else _certified_info(c)


def batch_progress(db: Database, batch_id: int) -> BatchProgress:
    """Pages done/total, documents by review state, and errors of one batch."""
    with db.session() as session:
        batch = session.get(
            Batch, batch_id, options=[selectinload(Batch.station), selectinload(Batch.dossier)]
        )
        if batch is None:
            raise InputError(f"no batch {batch_id}")
        states = Counter(
            dict(
                session.execute(
                    select(Document.review_state, func.count())
                    .where(Document.batch_id == batch_id)
                    .group_by(Document.review_state)
                ).all()
            )
        )
        pages_in_docs = (
            session.scalar(
                select(func.coalesce(func.sum(Document.page_count), 0)).where(Document.batch_id == batch_id)
            )
            or 0
        )
        done = max(batch.pages_done, int(pages_in_docs))
        return BatchProgress(
            batch_id=batch.id,
            station=batch.station.code,
            dossier_code=batch.dossier.code if batch.dossier else None,
            status=BatchStatus(batch.status),
            files=batch.files,
            pages_done=done,
            pages_total=max(batch.pages_total, done),
            documents_by_state=dict(states),
            errors=tuple(batch.errors),
            created=batch.created,
            finished=batch.finished,
        )


def referenced_keys(db: Database) -> set[str]:
    """Every object key a record points at: what garbage collection must never remove."""
    keys: set[str] = set()
    with db.session() as session:
        keys.update(session.scalars(select(Document.pdf_key)))
        keys.update(session.scalars(select(CertifiedCopy.object_key)))
        from storage.models import DossierManifest, SourceFile

        keys.update(session.scalars(select(SourceFile.object_key)))
        keys.update(session.scalars(select(DossierManifest.manifest_key)))
        keys.update(session.scalars(select(DossierManifest.signature_key)))
        for source_keys in session.scalars(select(Document.source_keys)):
            keys.update(source_keys or ())
    return keys


def is_referenced(db: Database, key: str) -> bool:
    from storage.models import DossierManifest, SourceFile

    with db.session() as session:
        for stmt in (
            select(Document.id).where(Document.pdf_key == key),
            select(CertifiedCopy.id).where(CertifiedCopy.object_key == key),
            select(SourceFile.id).where(SourceFile.object_key == key),
            select(DossierManifest.id).where(
                (DossierManifest.manifest_key == key) | (DossierManifest.signature_key == key)
            ),
        ):
            if session.scalar(stmt.limit(1)) is not None:
                return True
    return False


__all__ = [
    "BatchProgress",
    "CertifiedInfo",
    "DocumentInfo",
    "DossierInfo",
    "FileMatch",
    "batch_progress",
    "certified_copy_by_id",
    "document_by_id",
    "dossier_by_code",
    "find_by_sha256",
    "is_referenced",
    "referenced_keys",
]


def latest_manifest(db: Database, dossier_code: str) -> tuple[str, str] | None:
    """The dossier's most recent signed manifest as (manifest key, signature key), if it has one."""
    with db.session() as session:
        row = session.execute(
            select(DossierManifest.manifest_key, DossierManifest.signature_key)
            .join(Dossier, Dossier.id == DossierManifest.dossier_id)
            .where(Dossier.code == nfc(dossier_code))
            .order_by(DossierManifest.id.desc())
            .limit(1)
        ).first()
        return None if row is None else (row[0], row[1])
