"""The import ledger: what each record of a source became here, written in the same transaction as
the record itself, so an import killed at any point and run again skips exactly what is done.

Also the audit segments: a source deployment's audit trail kept verbatim beside this one's, sealed
by an event of this deployment's chain that names the segment's head hash.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class RecordKind(StrEnum):
    DOSSIER = "dossier"
    DOCUMENT = "document"
    COPY = "copy"
    MANIFEST = "manifest"
    REGISTER = "register"
    RESULT_CODE = "result_code"
    RESULT = "result"
    COMPONENT = "component"
    PLACE = "place"
    WORD = "learned_word"
    CERTIFY = "certify_request"
    STATION = "station"
    BATCH = "batch"
    SOURCE_FILE = "source_file"
    SEGMENT = "audit_segment"  # a segment the source had imported itself (nested)
    AUDIT = "audit"
    BLOB = "blob"


class Outcome(StrEnum):
    COPIED = "copied"  # new here
    PRESENT = "present"  # already here (a run before this one, or the same bytes and content)
    MERGED = "merged"  # met a record already here and was linked to it, not duplicated
    CONFLICT = "conflict"  # same identity, different content: reported, nothing overwritten
    REFUSED = "refused"  # bad input (a manifest line, a file that does not match its hash)


class SourceState(StrEnum):
    RUNNING = "running"
    DONE = "done"


class ImportSource(Base):
    """One deployment (or manifest) imported here; ``identity`` is stable across runs."""

    __tablename__ = "import_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # sohoa | manifest | nested (a trail a source had imported)
    label: Mapped[str] = mapped_column(Text)  # URLs without credentials
    agency_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default=SourceState.RUNNING)
    started: Mapped[datetime] = mapped_column(default=utcnow)
    finished: Mapped[datetime | None] = mapped_column()


class ImportRecord(Base):
    """One source record and what it became here; ``former_agency`` keeps the pre-merger code searchable."""

    __tablename__ = "import_records"
    __table_args__ = (
        UniqueConstraint("source_id", "kind", "source_ref", name="uq_import_records_source_ref"),
        Index("ix_import_records_former_agency", "former_agency"),
        Index("ix_import_records_target", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("import_sources.id"))
    kind: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(255))
    target_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    former_agency: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class AuditSegment(Base):
    """A run of a source's audit events (``first_seq``..``last_seq``), chained from ``start_hash`` to
    ``head_hash``; ``sealed_seq`` is the event of this deployment's chain that recorded the head.

    A segment the source had imported itself (nested) was sealed by an event of another chain: the
    event ``sealed_seq`` of the imported segment ``parent_id``, whose subject names the segment as
    ``sealed_as`` (its id where it was sealed)."""

    __tablename__ = "audit_segments"
    __table_args__ = (UniqueConstraint("source_id", "first_seq", name="uq_audit_segments_source_first"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("import_sources.id"))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    start_hash: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))
    sealed_seq: Mapped[int | None] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    parent_id: Mapped[int | None] = mapped_column(Integer)  # None: sealed by this deployment's chain
    sealed_as: Mapped[int | None] = mapped_column(Integer)


class ImportedAuditEvent(Base):
    """A source's audit event exactly as it was (append-only here too)."""

    __tablename__ = "imported_audit_events"
    __table_args__ = (UniqueConstraint("segment_id", "seq", name="uq_imported_audit_events_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("audit_segments.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
