"""Reading the audit trail of one dossier: which subjects belong to it, and their events.

Events name their subject as ``kind:id`` (``batch:7``, ``document:12``), not by dossier, so the
dossier's subjects are collected from the records first. The chain itself is checked by
:func:`storage.audit.verify_chain`; this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.model import nfc
from storage.audit import append_event, lock_chain
from storage.db import Database
from storage.models import AuditEvent, Batch, CertifiedCopy, Document, Dossier, SourceFile


@dataclass(frozen=True)
class AuditEventInfo:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    hash: str
    prev_hash: str


def dossier_subjects(db: Database, code: str) -> list[str] | None:
    """Every audit subject of a dossier (itself, its batches, source files, documents and certified
    copies); None when there is no such dossier."""
    with db.session() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == nfc(code).strip()))
        if dossier_id is None:
            return None
        batch_ids = list(session.scalars(select(Batch.id).where(Batch.dossier_id == dossier_id)))
        doc_ids = list(session.scalars(select(Document.id).where(Document.dossier_id == dossier_id)))
        copy_ids = list(session.scalars(select(CertifiedCopy.id).where(CertifiedCopy.document_id.in_(doc_ids))))
        source_ids = list(session.scalars(select(SourceFile.id).where(SourceFile.batch_id.in_(batch_ids))))
    return (
        [f"dossier:{nfc(code).strip()}"]
        + [f"batch:{i}" for i in batch_ids]
        + [f"document:{i}" for i in doc_ids]
        + [f"certified_copy:{i}" for i in copy_ids]
        + [f"source_file:{i}" for i in source_ids]
    )


def audit_events(db: Database, *, subjects: Sequence[str] | None = None, limit: int = 500) -> list[AuditEventInfo]:
    """The newest ``limit`` events (of these subjects, if given), oldest first."""
    query = select(AuditEvent)
    if subjects is not None:
        query = query.where(AuditEvent.subject.in_(list(subjects)))
    with db.session() as session:
        events = session.scalars(query.order_by(AuditEvent.seq.desc()).limit(max(1, limit))).all()
        return [
            AuditEventInfo(e.seq, e.at, e.actor, e.action, e.subject, dict(e.details or {}), e.hash, e.prev_hash)
            for e in reversed(events)
        ]


__all__ = ["AuditEventInfo", "audit_events", "dossier_subjects"]


def record_access(db: Database, *, actor: str, action: str, subject: str, details: dict[str, Any]) -> None:
    """A read that must be answerable for (a certified copy downloaded, a person's results looked
    up, a file verified) appended to the hash-chained trail: who, what, when and why."""
    with db.transaction() as session:
        lock_chain(session)
        append_event(session, actor=actor, action=action, subject=subject, details=details)
