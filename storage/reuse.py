"""Reuse look-ups: the latest valid digitized or certified result for a person, by document type.

This is the point of digitizing (Decision 06/QD-TTg, Decree 45/2020): a paper digitized once is
found again by personal ID and type, so nobody hands it in twice. Each look-up is one range scan
of the index (personal_id, doc_type, created).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.errors import InputError
from storage.db import Database
from storage.models import CertifiedCopy, Document, Dossier, ReviewState

_PERSONAL_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class CertifiedRef:
    id: int
    certification_number: str
    signer: str
    signed_at: datetime
    object_key: str
    sha256: str


@dataclass(frozen=True)
class ReusableResult:
    """One reusable result. ``original_id`` is the record first digitized (itself unless it was reused)."""

    document_id: int
    original_id: int
    dossier_code: str
    procedure_code: str | None
    doc_type: str
    personal_id: str
    review_state: str
    created: datetime
    pdf_key: str
    pdf_sha256: str
    fields: dict[str, Any]
    certified: CertifiedRef | None

    def as_json(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "original_id": self.original_id,
            "dossier_code": self.dossier_code,
            "procedure_code": self.procedure_code,
            "doc_type": self.doc_type,
            "personal_id": self.personal_id,
            "review_state": self.review_state,
            "created": self.created.isoformat(),
            "pdf_key": self.pdf_key,
            "pdf_sha256": self.pdf_sha256,
            "fields": {k: v.get("value") for k, v in self.fields.items()},
            "certified": None if self.certified is None else {
                "certification_number": self.certified.certification_number,
                "signer": self.certified.signer,
                "signed_at": self.certified.signed_at.isoformat(),
                "object_key": self.certified.object_key,
                "sha256": self.certified.sha256,
            },
        }


def _latest_certified(session: Session, doc: Document) -> CertifiedRef | None:
    ids = [doc.id] + ([doc.reused_from_id] if doc.reused_from_id else [])
    row = session.scalar(
        select(CertifiedCopy).where(CertifiedCopy.document_id.in_(ids))
        .order_by(CertifiedCopy.signed_at.desc(), CertifiedCopy.id.desc()).limit(1)
    )
    if row is None:
        return None
    return CertifiedRef(row.id, row.certification_number, row.signer, row.signed_at, row.object_key, row.sha256)


def _result(session: Session, doc: Document, dossier: Dossier) -> ReusableResult:
    return ReusableResult(
        document_id=doc.id, original_id=doc.reused_from_id or doc.id, dossier_code=dossier.code,
        procedure_code=dossier.procedure_code, doc_type=doc.doc_type, personal_id=doc.personal_id or "",
        review_state=doc.review_state, created=doc.created, pdf_key=doc.pdf_key, pdf_sha256=doc.pdf_sha256,
        fields=doc.fields, certified=_latest_certified(session, doc),
    )


def find_reusable(db: Database, personal_id: str, doc_type: str | None = None) -> list[ReusableResult]:
    """The latest reusable result per document type for this person (one type if ``doc_type`` is given),
    newest first. Results still needing review are not offered."""
    personal_id = personal_id.strip()
    if not _PERSONAL_ID.fullmatch(personal_id):
        raise InputError(f"a personal ID has 12 digits, not {personal_id!r}")
    query = (
        select(Document, Dossier)
        .join(Dossier, Dossier.id == Document.dossier_id)
        .where(Document.personal_id == personal_id, Document.review_state.in_(ReviewState.REUSABLE))
    )
    with db.session() as session:
        if doc_type is not None:
            row = session.execute(
                query.where(Document.doc_type == doc_type)
                .order_by(Document.created.desc(), Document.id.desc()).limit(1)
            ).first()
            return [_result(session, row[0], row[1])] if row else []
        latest: dict[str, tuple[Document, Dossier]] = {}
        for doc, dossier in session.execute(
            query.order_by(Document.doc_type, Document.created.desc(), Document.id.desc())
        ):
            latest.setdefault(doc.doc_type, (doc, dossier))
        results = [_result(session, doc, dossier) for doc, dossier in latest.values()]
    return sorted(results, key=lambda r: (r.created, r.document_id), reverse=True)
