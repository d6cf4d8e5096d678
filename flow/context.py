"""The values the flow's steps pass along, and the services at its edges.

Everything here is plain data that a Celery task can carry as JSON (``to_json``/``from_json``):
the in-process runner and the Celery runner hand the very same values to the very same steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from classifiers.lexicon import LearnedWords
from core.model import BatchStatus, Document, DossierStatus, Page
from core.settings import Settings
from pipeline.pdf_images import PreparedImages
from signing.keys import AgencySigner, load_signer
from storage.db import Database, open_database
from storage.learned import learned_words
from storage.objects import ObjectStore, open_store


@dataclass(frozen=True)
class Source:
    """One input file, read and checked, with its pages not yet cleaned."""

    path: Path
    name: str
    data_sha256: str
    media_type: str
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class BatchContext:
    """What every step of one batch may read: which dossier, who handed it in, what was asked."""

    batch_id: int
    dossier_code: str
    procedure_code: str | None
    station: str
    agency: str
    certify: bool
    received_at: datetime  # dates the searchable PDFs, so a batch's outputs do not depend on who ran it
    source_keys: tuple[str, ...] = ()
    pages_total: int = 0
    signed_sources: tuple[str, ...] = ()  # sha256 of the originals that arrived signed
    # The officials who sign this batch's scans and certified copies, fixed where the batch is taken
    # in (a Celery worker signs for the official the station named, not for its own settings').
    digitizer: str | None = None
    certifier: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        data["source_keys"] = list(self.source_keys)
        data["signed_sources"] = list(self.signed_sources)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchContext:
        return cls(
            **{
                **data,
                "received_at": datetime.fromisoformat(data["received_at"]),
                "source_keys": tuple(data.get("source_keys", ())),
                "signed_sources": tuple(data.get("signed_sources", ())),
            }
        )


class OutcomeState(StrEnum):
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class DocumentWork:
    """One document on its way through the document steps."""

    number: int  # 1-based, in page order
    document: Document
    document_id: int | None = None
    pdf_key: str | None = None
    pdf_sha256: str | None = None
    review_state: str | None = None
    reused_from: int | None = None
    already_recorded: bool = False  # the dossier held this document before this batch
    certified_id: int | None = None
    certified_key: str | None = None
    certification_number: str | None = None


@dataclass(frozen=True)
class DocumentOutcome:
    """What a runner reports of one document: done with its records, or failed with a reason."""

    number: int
    state: OutcomeState
    reason: str | None = None
    doc_type: str = "other"
    confidence: float = 0.0
    pages: tuple[str, ...] = ()  # page labels, "file p.N"
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    needs_review: tuple[str, ...] = ()
    personal_id: str | None = None
    sha256: str | None = None
    document_id: int | None = None
    pdf_key: str | None = None
    pdf_sha256: str | None = None
    review_state: str | None = None
    reused_from: int | None = None
    already_recorded: bool = False
    certified_id: int | None = None
    certified_key: str | None = None
    certification_number: str | None = None

    @property
    def done(self) -> bool:
        return self.state is OutcomeState.DONE

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = str(self.state)
        data["pages"] = list(self.pages)
        data["needs_review"] = list(self.needs_review)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DocumentOutcome:
        return cls(
            **{
                **data,
                "state": OutcomeState(data["state"]),
                "pages": tuple(data.get("pages", ())),
                "needs_review": tuple(data.get("needs_review", ())),
            }
        )


@dataclass(frozen=True)
class BatchSummary:
    """How a batch ended: what the runners return and the API and CLI show."""

    batch_id: int
    dossier_code: str
    procedure_code: str | None
    status: BatchStatus
    dossier_status: DossierStatus
    pages_total: int
    pages_done: int
    pages_failed: int
    documents: tuple[DocumentOutcome, ...]
    errors: tuple[str, ...] = ()
    manifest_key: str | None = None
    manifest_signature_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"], data["dossier_status"] = str(self.status), str(self.dossier_status)
        data["documents"] = [d.to_json() for d in self.documents]
        data["errors"] = list(self.errors)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchSummary:
        return cls(
            **{
                **data,
                "status": BatchStatus(data["status"]),
                "dossier_status": DossierStatus(data["dossier_status"]),
                "documents": tuple(DocumentOutcome.from_json(d) for d in data.get("documents", ())),
                "errors": tuple(data.get("errors", ())),
            }
        )


class Services:
    """The edges the steps talk to: the records, the object store and the agency's signer, each
    opened on first use (a run that certifies nothing never unlocks a key)."""

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database | None = None,
        store: ObjectStore | None = None,
        signer_factory: Callable[[], AgencySigner] | None = None,
    ) -> None:
        self.settings = settings
        self._db = db
        self._store = store
        self._signer: AgencySigner | None = None
        self._signer_factory = signer_factory
        self._owns_signer = signer_factory is None
        self._learned: LearnedWords | None = None
        # The batch's page images compressed for its PDFs beside the OCR, where the runner made them
        # (the in-process runner does; a Celery document task encodes its pages itself).
        self.page_images: PreparedImages | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings.resolved_database_url)
        return self._db

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = open_store(self.settings.resolved_store_url)
        return self._store

    @property
    def learned(self) -> LearnedWords:
        """The names and places people confirmed at the verification station, read from the records
        once per Services (once per batch in-process, once per document task on Celery), so a name
        confirmed on any machine is known to the next dossier extracted on any other."""
        if self._learned is None:
            self._learned = LearnedWords.of(learned_words(self.db))
        return self._learned

    @property
    def signer(self) -> AgencySigner:
        if self._signer is None:
            factory = self._signer_factory or (lambda: load_signer(self.settings))
            self._signer = factory()
        return self._signer

    def close(self) -> None:
        """Close what this object opened itself (a PKCS#11 session must be closed)."""
        if self._signer is not None and self._owns_signer:
            self._signer.close()
        self._signer = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
