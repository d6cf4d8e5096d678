"""What crosses from a source to the merge: records as the source holds them, in chunks.

Both sources (another sohoa deployment, a JSON-lines manifest of a system that is not sohoa) produce
these values, and one merge writes them, so both imports follow the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class SourceCopy:
    ref: str
    certification_number: str
    agency: str  # whose register issued the number: never remapped (it is printed on the copy)
    signer: str
    signed_at: datetime
    timestamp: datetime | None
    object_key: str
    sha256: str
    size: int
    created: datetime


@dataclass(frozen=True, slots=True)
class SourceDocument:
    ref: str
    doc_type: str
    type_confidence: float
    personal_id: str | None
    fields: dict[str, Any]
    pdf_key: str
    pdf_sha256: str
    pdf_size: int
    page_count: int
    page_hashes: list[Any]
    pages_sha256: str | None
    source_keys: list[Any]
    review_state: str
    review_version: int
    machine_doc_type: str | None
    created: datetime
    copies: tuple[SourceCopy, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceManifest:
    ref: str
    manifest_key: str
    signature_key: str
    created: datetime


@dataclass(frozen=True, slots=True)
class SourceDossier:
    ref: str
    code: str
    procedure_code: str | None
    agency: str | None
    applicant_personal_id: str | None
    status: str
    created: datetime
    updated: datetime
    documents: tuple[SourceDocument, ...] = ()
    manifests: tuple[SourceManifest, ...] = ()
    former_agency: str | None = None  # the agency before a merger the source itself took it in


@dataclass(frozen=True, slots=True)
class SourceRegisterEntry:
    ref: str
    agency: str
    year: int
    book: int
    number: int
    state: str
    document_ref: str | None
    copy_ref: str | None
    subject: str | None
    note: str | None
    actor: str
    created: datetime


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A record of a table that hangs off dossiers and documents (see :mod:`storage.importer.extras`),
    its columns as the source holds them; references still name the source's records."""

    table: str
    ref: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SourceEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class SourceSegment:
    """A sealed audit segment the source had imported itself (another deployment's trail).

    ``trail`` and ``trail_label`` name the deployment whose events these are, as the source's ledger
    names it; ``parent_ref`` is the source's segment whose event sealed this one (None: the source's
    own chain did), ``sealed_as`` the id that seal's subject names."""

    ref: str
    trail: str
    trail_label: str
    first_seq: int
    last_seq: int
    start_hash: str
    head_hash: str
    sealed_seq: int
    parent_ref: str | None
    sealed_as: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """A source record that cannot be taken, with why (no personal data in ``reason``)."""

    ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class BlobSource:
    """A blob to bring in: its key here, and where its bytes are (a source store key or a file)."""

    key: str
    path: Path | None = None
    size: int = 0


@dataclass
class Totals:
    """How many of each the source holds, for the progress bar."""

    blobs: int = 0
    dossiers: int = 0
    register: int = 0
    audit: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Source(Protocol):
    """A deployment or manifest to import. ``identity`` names it the same way on every run."""

    kind: str
    label: str
    cheap_reads: bool  # its blobs are local files: reading one costs less than asking the target about it

    def identity(self) -> str: ...

    def totals(self) -> Totals: ...

    def iter_blobs(self) -> Iterator[BlobSource]: ...

    def read_blob(self, blob: BlobSource) -> bytes: ...

    def iter_dossiers(self, chunk: int) -> Iterator[list[SourceDossier]]: ...

    def refusals(self) -> list[Refusal]: ...

    def iter_register(self, chunk: int) -> Iterator[list[SourceRegisterEntry]]: ...

    def iter_audit(self, after_seq: int, chunk: int) -> Iterator[list[SourceEvent]]: ...

    def close(self) -> None: ...


Progress = Callable[[str, int], None]
"""Called with a phase name and how many units it just finished (after each commit)."""
