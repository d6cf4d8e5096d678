"""The dossier records: SQLAlchemy 2 models. The schema itself is created by the Alembic
migrations in ``storage/migrations`` (never by ``create_all``), so every database is at a known
revision.

Records point at blobs by key and hash only; the bytes live in the object store. Every timestamp is
UTC. Text is NFC (the writers in :mod:`storage.archive` normalise it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# The statuses are the model's (core.model); imported here for the column defaults, and still
# importable from here by the modules that read them beside the tables.
from core.model import BatchStatus, ReviewState


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way out, whatever the backend keeps (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Station(Base):
    """A scanning station at a one-stop centre (bộ phận một cửa)."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Dossier(Base):
    """A dossier (hồ sơ): MaHoSo, MaTTHC, receiving agency, applicant, status."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # MaHoSo
    procedure_code: Mapped[str | None] = mapped_column(String(64))  # MaTTHC
    agency: Mapped[str | None] = mapped_column(String(255))
    applicant_personal_id: Mapped[str | None] = mapped_column(String(12), index=True)
    status: Mapped[str] = mapped_column(String(32), default="received")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="dossier", order_by="Document.id")


def new_public_id() -> str:
    """The id clients see (in URLs): random, so it reveals neither counts nor other stations' ids."""
    return uuid.uuid4().hex


class Batch(Base):
    """One batch: an upload from a station (API or ``sohoa process``), its files, how far
    processing got and how it ended. There is one record per batch whichever runner processes it.

    An API upload is recorded ``queued`` when it is accepted, with what the runner needs to start
    it (``spool_dir``, ``uploaded_files``, ``certify``) and what makes retries safe
    (``idempotency_key``, ``fingerprint``); a runner claims it (``processing``, ``attempts`` + 1)
    and continues the same record. ``error`` is the one line shown to the station (in its own file
    names); ``errors`` keeps every failure line the runners recorded.
    """

    __tablename__ = "batches"
    # Unique indexes, not constraints: migration 0003 could add only these to SQLite in place.
    __table_args__ = (
        Index("uq_batches_public_id", "public_id", unique=True),
        Index("uq_batches_station_idempotency_key", "station_id", "idempotency_key", unique=True),
        Index("ix_batches_station_created", "station_id", "created"),
        Index("ix_batches_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), default=new_public_id)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=BatchStatus.PROCESSING)
    certify: Mapped[bool] = mapped_column(Boolean, default=False)
    files: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_files: Mapped[list[Any] | None] = mapped_column(JSON)  # name, size, sha256, media_type, pages, spool_name
    spool_dir: Mapped[str | None] = mapped_column(Text)  # where the upload waits; None once handed over
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # codes + files of the upload
    official: Mapped[str | None] = mapped_column(String(255))  # the uploading key's official, who signs the scans
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[list[Any]] = mapped_column(default=list)  # one line per failure
    created: Mapped[datetime] = mapped_column(default=utcnow)
    started: Mapped[datetime | None] = mapped_column()
    finished: Mapped[datetime | None] = mapped_column()

    station: Mapped[Station] = relationship()
    dossier: Mapped[Dossier | None] = relationship()


class SourceFile(Base):
    """An original file as handed in; its bytes are the blob at ``object_key``, never modified."""

    __tablename__ = "source_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    media_type: Mapped[str] = mapped_column(String(128))
    object_key: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    # For a signed PDF: the verification made at reception (verdict, reasons, signers); else None.
    signatures: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class Document(Base):
    """One digitized paper: type, fields, searchable PDF, pages, review state.

    ``personal_id`` is its own column so reuse look-ups use the index (personal_id, doc_type,
    created). ``reused_from_id`` points at the earlier record whose PDF or page images were the
    same; such a row takes that record's reading and review, and shares its blob only when the
    PDF bytes are the same: another dossier's scan is signed by the official who received it there.
    """

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_reuse", "personal_id", "doc_type", "created"),
        Index("ix_documents_pdf_sha256", "pdf_sha256"),
        Index("ix_documents_pages_sha256", "pages_sha256"),
        Index("ix_documents_review_queue", "review_state", "created"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    type_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    personal_id: Mapped[str | None] = mapped_column(String(12))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pdf_key: Mapped[str] = mapped_column(String(100))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int] = mapped_column(Integer)
    page_hashes: Mapped[list[Any]] = mapped_column(default=list)  # image_sha256 of each page, in order
    pages_sha256: Mapped[str | None] = mapped_column(String(64))  # hash over page_hashes, for dedupe
    source_keys: Mapped[list[Any]] = mapped_column(default=list)
    review_state: Mapped[str] = mapped_column(String(32), default=ReviewState.OK)
    reused_from_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    # Reviews recorded so far: a clerk's submission names the version it saw (optimistic locking).
    review_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    machine_doc_type: Mapped[str | None] = mapped_column(String(64))  # the classifier's, once a person changed it
    created: Mapped[datetime] = mapped_column(default=utcnow)

    dossier: Mapped[Dossier] = relationship(back_populates="documents")
    certified_copies: Mapped[list[CertifiedCopy]] = relationship(
        back_populates="document", order_by="CertifiedCopy.id"
    )


class CertifiedCopy(Base):
    """An electronic copy certified from its original (Decree 45/2020, Decree 23/2015)."""

    __tablename__ = "certified_copies"
    # Register numbers run per agency (its book, its year): two former provinces both have a "1".
    __table_args__ = (
        UniqueConstraint("agency", "certification_number", name="uq_certified_copies_agency_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    certification_number: Mapped[str] = mapped_column(String(64))
    # The agency whose register issued the number ('' where none was recorded; migration 0013).
    agency: Mapped[str] = mapped_column(String(255), default="", server_default="")
    signer: Mapped[str] = mapped_column(String(512))
    signed_at: Mapped[datetime] = mapped_column()
    timestamp: Mapped[datetime | None] = mapped_column()
    object_key: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[Document] = relationship(back_populates="certified_copies")


class RegisterEntry(Base):
    """One entry of the electronic certification register ("sổ chứng thực bản sao điện tử")."""

    __tablename__ = "certification_register"
    __table_args__ = (UniqueConstraint("agency", "year", "book", "number", name="uq_certification_register_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(255))
    year: Mapped[int] = mapped_column(Integer)
    book: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # reserved | used | voided
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    certified_copy_id: Mapped[int | None] = mapped_column(ForeignKey("certified_copies.id"))
    subject: Mapped[str | None] = mapped_column(String(512))  # what was certified, when no document
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class LearnedWord(Base):
    """A name or place a person vouched for at the verification station (see :mod:`storage.learned`)."""

    __tablename__ = "learned_words"
    __table_args__ = (Index("ix_learned_words_kind_text", "kind", "text"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # name | place
    text: Mapped[str] = mapped_column(String(500))  # NFC, as the field now holds it
    official: Mapped[str] = mapped_column(String(255))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    field: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class DossierManifest(Base):
    """A signed manifest of what one run stored for a dossier (canonical JSON + detached CMS)."""

    __tablename__ = "dossier_manifests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    manifest_key: Mapped[str] = mapped_column(String(100))
    signature_key: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class AuditHead(Base):
    """One row: the sequence number and hash of the newest audit event.

    Appending updates this row first, which serialises writers on every backend (a row lock on
    PostgreSQL, the write lock on SQLite), so two writers can never both chain onto the same event.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """An append-only, hash-chained log entry: ``hash`` covers this event and ``prev_hash``."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),
        UniqueConstraint("hash", name="uq_audit_events_hash"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))  # e.g. "document:12", "dossier:HS-001"
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
