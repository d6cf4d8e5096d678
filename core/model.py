"""The data model that crosses stage boundaries.

Every stage takes values of these types and returns new ones (``dataclasses.replace``); nothing is
mutated in place, so a page can travel to a process worker (pickled) or a Celery task (as object
keys plus JSON) and come back without shared state. Text is Unicode NFC everywhere; dates inside
``Field.value`` are ISO 8601.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np


def nfc(text: str) -> str:
    """Normalise to NFC: OCR, fonts and keyboards produce decomposed Vietnamese marks."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in pixels of the upright page image, origin top left."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    def union(self, other: Box) -> Box:
        left, top = min(self.left, other.left), min(self.top, other.top)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Box(left, top, right - left, bottom - top)


@dataclass(frozen=True, slots=True)
class Word:
    """One OCR word. ``line`` numbers the page's lines in reading order, so extractors can
    rebuild lines without re-deriving them from boxes."""

    text: str
    confidence: float  # 0.0 .. 1.0
    box: Box
    line: int


class PageWarning(StrEnum):
    """What the page work could not vouch for on a page: a person must look before the page's
    document is trusted (a page turned the wrong way reads as garbage and would be certified so)."""

    ORIENTATION_UNCERTAIN = "orientation_uncertain"  # neither the marks nor a reading decided the turn
    POOR_READING = "poor_reading"  # the page holds ink but its reading is too doubtful to use
    # A blank page of the paper (a back side, an empty sheet inside it): kept in its document so the
    # scan has every page of the paper, and named in the record; it alone sends nothing to review.
    BLANK_PAGE = "blank_page"


@dataclass(frozen=True, slots=True)
class PageFlag:
    """One warning on a page, with how sure the pipeline is of what it did (0.0 .. 1.0)."""

    warning: PageWarning
    confidence: float


@dataclass(frozen=True)
class Page:
    """One page image on its way through ingest → clean-up → OCR.

    Two images per page: ``image`` holds the original scan pixels (only turned upright by lossless
    quarter turns) and is what the searchable PDF and any certified copy show; ``ocr_image`` is
    the cleaned, deskewed, binarised image that only feeds Tesseract.
    """

    source: str  # display name of the source file (never used as a path)
    source_sha256: str
    index: int  # 0-based page index within the source file
    image: np.ndarray  # uint8, HxW (grey) or HxWx3 (RGB)
    dpi: float
    text_layer: str | None = None  # born-digital text found by pdfplumber; OCR is skipped
    ocr_image: np.ndarray | None = None
    rotation: int = 0  # clockwise degrees (0/90/180/270) applied to make ``image`` upright
    skew_angle: float = 0.0  # degrees the OCR image was rotated by to deskew it
    blank: bool = False
    words: tuple[Word, ...] = ()
    text: str = ""  # the page text, one line per ``\n``
    mean_confidence: float = 0.0  # 0.0 .. 1.0, over words
    qr_payloads: tuple[str, ...] = ()
    image_sha256: str = ""  # hash of the original page pixels, for dedupe and idempotency
    # The source's own JPEG bytes when ``image`` before ``rotation`` is exactly that JPEG decoded:
    # the searchable PDF then embeds them as they are (DCTDecode) instead of re-encoding the pixels.
    source_jpeg: bytes | None = field(default=None, repr=False)
    # Why the page work failed on this page (its words are then empty); the flow's policy leaves a
    # failed page out of the documents and records the reason against the batch.
    failure: str | None = None
    # What the page work could not vouch for (see :class:`PageWarning`); the flow's policy sends the
    # page's document to review.
    flags: tuple[PageFlag, ...] = ()
    # A phone photo flattened to the sheet it shows: the sheet's corners on the photo (top-left,
    # top-right, bottom-right, bottom-left, pixels); ``image`` is then the flat sheet, not the photo.
    sheet: tuple[tuple[float, float], ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.source} p.{self.index + 1}"

    @property
    def born_digital(self) -> bool:
        return self.text_layer is not None


@dataclass(frozen=True, slots=True)
class Field:
    """One extracted value. A value that fails validation is kept, flagged and explained,
    never silently dropped or silently accepted."""

    value: str | None
    confidence: float  # 0.0 .. 1.0, from the OCR confidences of the words it came from
    page: int | None = None  # index of the page within its document
    box: Box | None = None
    valid: bool = True
    needs_review: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Document:
    """One logical paper of a dossier: its pages, type, fields and searchable PDF."""

    pages: tuple[Page, ...]
    doc_type: str = "other"
    type_confidence: float = 0.0
    fields: Mapping[str, Field] = field(default_factory=dict)
    pdf: bytes | None = None  # searchable PDF/A of the document
    sha256: str | None = None  # of ``pdf``

    @property
    def text(self) -> str:
        return "\f".join(page.text for page in self.pages)

    @property
    def fields_needing_review(self) -> list[str]:
        return [name for name, f in self.fields.items() if f.needs_review]

    @property
    def personal_id(self) -> str | None:
        """The personal ID of whom the document is about, for reuse look-ups."""
        for name in ("personal_id", "owner_personal_id", "applicant_personal_id", "husband_personal_id"):
            f = self.fields.get(name)
            if f is not None and f.value and f.valid and not f.needs_review:
                return f.value
        return None


class DossierStatus(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    DIGITIZED = "digitized"
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"


class BatchStatus(StrEnum):
    """Where one batch (an upload, or a ``sohoa process`` run) stands. An API upload is ``queued``
    from the moment it is accepted until a runner claims it; runs started elsewhere begin at
    ``processing``."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (BatchStatus.DONE, BatchStatus.FAILED)


class ReviewState(StrEnum):
    """A digitized document's review state; only :data:`REUSABLE_REVIEW_STATES` are offered for reuse."""

    OK = "ok"  # every field valid and confident
    NEEDS_REVIEW = "needs_review"
    REVIEWED = "reviewed"  # a person checked and corrected it
    REJECTED = "rejected"


REUSABLE_REVIEW_STATES: tuple[ReviewState, ...] = (ReviewState.OK, ReviewState.REVIEWED)


@dataclass(frozen=True)
class Dossier:
    """A dossier (hồ sơ) as handed in at reception."""

    code: str  # MaHoSo
    procedure_code: str | None  # MaTTHC
    agency: str
    applicant_personal_id: str | None = None
    documents: tuple[Document, ...] = ()
    status: DossierStatus = DossierStatus.RECEIVED


@dataclass(frozen=True)
class CertifiedCopy:
    """An electronic copy certified from its original (Decree 45/2020, Decree 23/2015)."""

    document_sha256: str  # the searchable PDF it was made from
    certification_number: str
    signer: str  # signer certificate subject
    signed_at: datetime
    pdf: bytes
    sha256: str
    timestamp: datetime | None = None  # RFC 3161 time, when a TSA was used
    object_key: str | None = None
