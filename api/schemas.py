"""Request and response bodies: the API's contract, as published in its OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

BatchState = Literal["queued", "processing", "done", "failed"]


class Problem(BaseModel):
    """Every error answer: one line a person can act on."""

    detail: str


class FileOut(BaseModel):
    name: str = Field(description="the file name the station sent, for display only")
    size: int
    sha256: str
    media_type: str
    pages: int


class BatchAccepted(BaseModel):
    id: str = Field(description="the batch id; poll GET /v1/batches/{id}")
    status: BatchState
    dossier_code: str
    files: list[FileOut]
    replayed: bool = Field(description="true when an earlier upload with the same Idempotency-Key was found")
    status_url: str


class FieldOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    value: str | None = None
    confidence: float | None = None
    needs_review: bool = False
    reason: str | None = None


class BatchDocument(BaseModel):
    index: int
    document_id: int | None
    doc_type: str
    confidence: float
    pages: list[str]
    fields: dict[str, FieldOut]
    needs_review: list[str]
    sha256: str
    certification_number: str | None = None
    reused_from: int | None = None


class StageOut(BaseModel):
    stage: str = Field(description="read (files stored), ocr (pages), classify, extract, sign, store (documents)")
    done: int
    total: int | None = Field(description="null while not known: the documents' stages before the pages are split")


class Progress(BaseModel):
    pages_total: int
    pages_done: int
    percent: float = Field(description="the mean of the stages' shares done (100 once the batch is done)")
    stage: str | None = Field(None, description="the first stage not finished; null when all are")
    stages: list[StageOut] = Field(default_factory=list, description="every stage in the flow's order")


class BatchOut(BaseModel):
    id: str
    status: BatchState
    station: str
    dossier_code: str
    procedure_code: str | None
    files: list[FileOut]
    progress: Progress
    documents: list[BatchDocument]
    error: str | None
    record_batch_id: int | None = Field(description="the batch in the dossier records, once processed")
    created: datetime
    started: datetime | None
    finished: datetime | None


class BatchList(BaseModel):
    batches: list[BatchOut]


class CertifiedCopyOut(BaseModel):
    id: int
    document_id: int | None = None
    certification_number: str
    signer: str
    signed_at: datetime
    timestamp: datetime | None = None
    sha256: str
    size: int | None = None
    download_url: str


class DocumentOut(BaseModel):
    id: int
    dossier_code: str
    doc_type: str
    type_confidence: float
    personal_id: str | None
    review_state: str
    needs_review: list[str]
    fields: dict[str, FieldOut]
    page_count: int
    pdf_sha256: str
    reused_from: int | None
    created: datetime
    certified_copies: list[CertifiedCopyOut]
    result_code: str | None = Field(default=None, description="the digitization result code (mã kết quả số hóa, "
                                    "Circular 01/2023/TT-VPCP): one per digitized paper, what reuse and the portal quote")


class SignatureSeenOut(BaseModel):
    kind: str
    signer: str | None
    signing_time: str | None
    timestamp: str | None
    status: str
    reasons: list[str]


class SignedOriginalOut(BaseModel):
    """An original that arrived signed, and what its signatures said when it was received."""

    name: str
    sha256: str
    status: str
    reasons: list[str]
    signatures: list[SignatureSeenOut]


class DossierOut(BaseModel):
    code: str
    procedure_code: str | None
    agency: str | None
    applicant_personal_id: str | None
    status: str
    created: datetime
    updated: datetime
    documents: list[DocumentOut]
    signed_originals: list[SignedOriginalOut] = []


class CertifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500, description="why the copy is requested (audit trail)")


class CopyLink(BaseModel):
    url: str
    presigned: bool = Field(description="false when the store has no signed links; the URL is then this API's")
    expires: datetime | None


class ReusableOut(BaseModel):
    document_id: int
    original_id: int
    dossier_code: str
    procedure_code: str | None
    doc_type: str
    personal_id: str
    review_state: str
    created: datetime
    pdf_sha256: str
    fields: dict[str, str | None]
    certified_copy: CertifiedCopyOut | None
    result_code: str | None = Field(default=None, description="the digitization result code of the paper "
                                    "first digitized (original_id)")


class ReuseOut(BaseModel):
    personal_id: str
    doc_type: str | None
    results: list[ReusableOut]


class VerificationOut(BaseModel):
    """The verification report; ``verdict`` sums it up, ``report`` has every check."""

    model_config = ConfigDict(extra="allow")

    file_name: str
    sha256: str
    verdict: Literal["valid", "invalid", "could_not_check"]
    exit_code: int
    report: dict[str, Any]
    records: list[dict[str, Any]] = Field(description="dossier records whose file has this hash")


class ChainOut(BaseModel):
    ok: bool
    events: int
    last_hash: str
    first_broken_seq: int | None
    reason: str


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    hash: str
    prev_hash: str


class AuditOut(BaseModel):
    dossier: str | None
    chain: ChainOut
    events: list[AuditEventOut]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["station", "workflow", "verifier", "auditor", "admin"]
    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s]+$", description="a station's code, or who holds the key")
    official: str | None = Field(default=None, min_length=1, max_length=255,
                                 description="the holder's full name; required for a verifier key")


class KeyCreated(BaseModel):
    id: int
    name: str
    role: str
    official: str | None = None
    key: str = Field(description="shown once; only its hash is kept")


class KeyOut(BaseModel):
    id: int
    name: str
    role: str
    official: str | None = None
    prefix: str
    created: datetime
    revoked: datetime | None


class ServiceCheck(BaseModel):
    name: Literal["database", "store", "broker", "signer"]
    ok: bool
    detail: str | None = Field(default=None, description="what failed, in one line (no server paths)")


class Health(BaseModel):
    status: Literal["ok", "failing"]
    version: str
    checks: list[ServiceCheck] = []


# -- the verification station --------------------------------------------------------------------------


class QueueItemOut(BaseModel):
    document_id: int
    dossier_code: str
    doc_type: str
    flagged: list[str] = Field(description="the fields a person must check")
    created: datetime
    station: str | None = None


class ReviewQueueOut(BaseModel):
    documents: list[QueueItemOut] = Field(description="documents needing review, oldest first")


class MachineReading(BaseModel):
    value: str | None
    confidence: float | None
    reason: str | None = None


class ReviewDecisionOut(BaseModel):
    action: Literal["confirmed", "corrected"]
    by: str = Field(description="the official's full name")
    at: datetime


class ReviewFieldOut(BaseModel):
    name: str
    value: str | None
    confidence: float | None
    needs_review: bool
    valid: bool
    reason: str = Field(description="why the machine was unsure, as recorded at extraction")
    reason_vi: str = Field(description="the same in plain Vietnamese words, for the clerk")
    alternatives: list[str] = Field(description="other readings of the scan, best first (keys 1–3 on /review)")
    unsure: list[tuple[int, int]] = Field(description="character spans of the value the machine is unsure of")
    page: int | None = Field(description="0-based page index within the document")
    box: list[int] | None = Field(description="left, top, width, height in page pixels")
    image_url: str | None = Field(description="PNG of the value and its label cut from the original page")
    page_url: str | None
    machine: MachineReading | None = Field(description="the machine's reading, kept once a person reviewed it")
    review: ReviewDecisionOut | None = None


class ReviewOut(BaseModel):
    document_id: int
    dossier_code: str
    doc_type: str
    machine_doc_type: str | None = Field(description="the classifier's type, when a person changed it")
    review_state: str
    version: int = Field(description="send it back with the review; a stale one is refused (409)")
    pages: int
    station: str | None
    created: datetime
    flagged: list[str]
    fields: list[ReviewFieldOut]
    doc_types: list[str] = Field(description="the types a document may be given")
    doc_type_names: dict[str, str] = Field(default_factory=dict, description="each type's Vietnamese name")


class FieldDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str | None = Field(default=None, max_length=500, description="the value on the paper, as typed")
    confirm: bool = Field(default=False, description="the value shown is right")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=0, description="the version the decisions were made against")
    fields: dict[str, FieldDecisionIn] = Field(default_factory=dict, max_length=64)
    doc_type: str | None = Field(default=None, max_length=64, description="a corrected document type")
