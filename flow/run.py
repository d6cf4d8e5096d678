"""Orchestration: compose the stages over one dossier.

Reading order is the data flow: read every source (refusing bad input before anything is written),
page work on an executor, split into documents, classify, extract, assemble the searchable PDF/A,
certify, then store objects and records. Stage code knows nothing of executors, stores or databases;
this module is the one place that wires them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from core.model import CertifiedCopy, Document, Dossier, DossierStatus, Page
from core.settings import Settings
from pipeline.executor import PageExecutor, default_executor
from pipeline.upright import UprightOriginal

if TYPE_CHECKING:
    from storage.db import Database
    from storage.objects import ObjectStore

log = logging.getLogger(__name__)

# The fields shown in the result table, per type: what a clerk checks first.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "cccd": ("personal_id", "full_name", "date_of_birth"),
    "birth_certificate": ("full_name", "date_of_birth", "personal_id"),
    "marriage_certificate": ("husband_name", "wife_name", "registration_date"),
    "death_certificate": ("full_name", "date_of_death", "personal_id"),
    "residence_confirmation": ("full_name", "personal_id", "place_of_residence"),
    "land_use_certificate": ("certificate_serial", "owner_name", "area_m2"),
    "business_registration": ("enterprise_code", "enterprise_name", "legal_representative"),
    "application_form": ("form_title", "applicant_name", "applicant_personal_id"),
    "other": (),
}


@dataclass(frozen=True)
class Source:
    """One input file, read and checked, with its pages not yet cleaned."""

    path: Path
    name: str
    data_sha256: str
    media_type: str
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class DocumentResult:
    """What the caller sees of one processed document."""

    index: int
    doc_type: str
    confidence: float
    pages: tuple[str, ...]  # page labels, "file p.N"
    fields: dict[str, dict[str, object]]
    needs_review: tuple[str, ...]
    sha256: str
    pdf_key: str | None = None
    certified_key: str | None = None
    certified_path: str | None = None
    certification_number: str | None = None
    document_id: int | None = None
    reused_from: int | None = None

    def key_fields(self) -> dict[str, str]:
        out = {}
        for name in KEY_FIELDS.get(self.doc_type, ()):
            value = self.fields.get(name, {}).get("value")
            if value:
                out[name] = str(value)
        return out


@dataclass(frozen=True)
class ProcessResult:
    dossier_code: str
    procedure_code: str | None
    batch_id: int | None
    pages: int
    seconds: float
    documents: tuple[DocumentResult, ...] = field(default_factory=tuple)
    manifest_key: str | None = None  # the signed manifest of what this run stored

    def to_dict(self) -> dict[str, object]:
        return {
            "dossier": self.dossier_code,
            "procedure": self.procedure_code,
            "batch_id": self.batch_id,
            "pages": self.pages,
            "seconds": round(self.seconds, 2),
            "manifest_key": self.manifest_key,
            "documents": [
                {
                    "index": d.index,
                    "doc_type": d.doc_type,
                    "confidence": round(d.confidence, 4),
                    "pages": list(d.pages),
                    "fields": d.fields,
                    "needs_review": list(d.needs_review),
                    "sha256": d.sha256,
                    "document_id": d.document_id,
                    "pdf_key": d.pdf_key,
                    "certified_key": d.certified_key,
                    "certified_path": d.certified_path,
                    "certification_number": d.certification_number,
                    "reused_from": d.reused_from,
                }
                for d in self.documents
            ],
        }


# ---------------------------------------------------------------------------------------------- stages


def read_sources(paths: Sequence[Path], settings: Settings) -> list[Source]:
    """Read and check every input before anything is stored: one bad file refuses the whole call."""
    from pipeline.ingest import read_source

    if not paths:
        raise InputError("no input files given")
    sources = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            raise InputError(f"{path}: is a folder; give the files in it")
        pages = read_source(
            path,
            max_page_pixels=settings.max_page_pixels,
            max_pages=settings.max_pages_per_file,
            max_bytes=settings.max_file_bytes,
        )
        data_sha = pages[0].source_sha256 if pages else _sha256_file(path)
        sources.append(Source(path, path.name, data_sha, _media_type(path), tuple(pages)))
    return sources


def _with_qr_codes(page: Page) -> Page:
    from pipeline.qr import read_qr_codes

    if not page.qr_payloads:
        try:
            page = replace(page, qr_payloads=read_qr_codes(page.image))
        except Exception:  # a QR decoder failure must not cost the page its OCR
            log.warning("%s: QR decoding failed", page.label, exc_info=True)
    return page


def work_on_page(page: Page, lang: str = "vie+eng") -> Page:
    """The unit of page work, run on an executor: clean-up, OCR, and QR codes on the page (the
    cleaned image, for OCR only, is not in the result: half of what travels back from a worker)."""
    from pipeline.pagework import process_page

    return _with_qr_codes(process_page(page, lang=lang))


def work_on_pages(pages: Iterable[Page], lang: str = "vie+eng") -> list[Page]:
    """:func:`work_on_page` of several pages, OCR'd together (one Tesseract start for all)."""
    from pipeline.pagework import process_pages_together

    return [_with_qr_codes(page) for page in process_pages_together(pages, lang=lang)]


class PageJob(UprightOriginal):
    """A picklable page job bound to the OCR language (lambdas do not cross process boundaries);
    an in-process executor hands it ``batch_pages`` pages at a time."""

    def __init__(self, lang: str, batch_pages: int = 1) -> None:
        self.lang = lang
        self.batch_pages = batch_pages

    def __call__(self, page: Page) -> Page:
        return work_on_page(page, self.lang)

    def many(self, pages: Iterable[Page]) -> list[Page]:
        return work_on_pages(pages, self.lang)


def ocr_pages(
    pages: Sequence[Page],
    settings: Settings,
    executor: PageExecutor | None = None,
    progress: Callable[[Page], None] | None = None,
) -> list[Page]:
    executor = executor or default_executor(settings.workers)
    return executor.map_pages(PageJob(settings.ocr_lang, settings.ocr_batch_pages), pages, progress)


def ocr_file(path: Path, settings: Settings, executor: PageExecutor | None = None) -> list[Page]:
    """Ingest, clean up and OCR one file (``sohoa ocr``, ``sohoa extract``)."""
    pages = [page for source in read_sources([path], settings) for page in source.pages]
    return ocr_pages(pages, settings, executor)


def analyse_document(pages: Sequence[Page]) -> Document:
    """Classify and extract one document's fields (pure: text in, typed fields out)."""
    from classifiers.classify import classify_document
    from classifiers.extract import extract_fields
    from pipeline import tesseract

    document = classify_document(Document(pages=tuple(pages)))
    return extract_fields(document, read_line=tesseract.read_line)


def assemble_pdf(document: Document, dossier_code: str) -> Document:
    from pipeline.pdfa import build_searchable_pdf

    pdf = build_searchable_pdf(
        document.pages,
        title=f"{dossier_code} – {document.doc_type}",
        author="sohoa",
        subject="Kết quả số hóa hồ sơ thủ tục hành chính",
        keywords=(dossier_code, document.doc_type),
    )
    return replace(document, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest())


def split_into_documents(pages: Sequence[Page]) -> list[Document]:
    from classifiers.split import split_documents

    return [analyse_document(group) for group in split_documents(pages)]


# ------------------------------------------------------------------------------------------ the main job


def process_paths(
    paths: Sequence[Path],
    settings: Settings,
    *,
    dossier_code: str | None = None,
    procedure_code: str | None = None,
    certify: bool = True,
    out_dir: Path | None = None,
    station: str = "cli",
    batch_id: int | None = None,
    executor: PageExecutor | None = None,
    on_pages_read: Callable[[int], None] | None = None,
    on_page_done: Callable[[Page], None] | None = None,
) -> ProcessResult:
    """The main job: files of one dossier in, stored, classified, certified documents out.

    Every file is read and checked before anything is written; then the originals are stored and
    recorded first, so a failure later in the run loses nothing that was accepted, and the batch
    record carries progress and errors for ``sohoa status`` and the API. ``batch_id`` continues a
    batch that the caller has already started (an upload answered with 202).
    """
    from storage.archive import start_batch, update_batch
    from storage.db import open_database
    from storage.objects import open_store

    started = time.perf_counter()
    sources = read_sources(paths, settings)
    pages = [page for source in sources for page in source.pages]
    dossier_code = dossier_code or _default_dossier_code(sources)
    if on_pages_read:
        on_pages_read(len(pages))

    store = open_store(settings.resolved_store_url)
    db = open_database(settings.resolved_database_url)
    if batch_id is None:
        batch_id = start_batch(
            db, station=station, dossier_code=dossier_code, procedure_code=procedure_code,
            files=len(sources), agency=settings.agency, actor=station,
        )
    try:
        source_keys = _store_sources(db, store, batch_id, sources, station)
        update_batch(db, batch_id, pages_total=len(pages), pages_done=0)
        done = 0

        def page_done(page: Page) -> None:
            nonlocal done
            done += 1
            update_batch(db, batch_id, pages_done=done)
            if on_page_done:
                on_page_done(page)

        pages = ocr_pages(pages, settings, executor, page_done)
        documents = [assemble_pdf(doc, dossier_code) for doc in split_into_documents(pages)]
        dossier = _dossier(dossier_code, procedure_code, settings, documents)
        certified = _certify_all(documents, dossier, settings) if certify else [None] * len(documents)
        results = _archive(db, store, dossier, batch_id, source_keys, certified, station)
        manifest = _sign_manifest(db, store, dossier, batch_id, source_keys, results, settings, station) if certify else None
        update_batch(db, batch_id, status="done")
    except Exception as exc:
        update_batch(db, batch_id, status="failed", error=str(exc) or type(exc).__name__)
        raise
    if out_dir is not None:
        results = _write_out(results, documents, certified, out_dir)
        if manifest is not None:
            (out_dir / "manifest.json").write_bytes(manifest.json)
            (out_dir / "manifest.json.p7s").write_bytes(manifest.signature)
    return ProcessResult(
        dossier_code=dossier_code,
        procedure_code=procedure_code,
        batch_id=batch_id,
        pages=len(pages),
        seconds=time.perf_counter() - started,
        documents=tuple(results),
        manifest_key=manifest.key if manifest else None,
    )


def _dossier(code: str, procedure_code: str | None, settings: Settings, documents: Sequence[Document]) -> Dossier:
    return Dossier(
        code=code,
        procedure_code=procedure_code,
        agency=settings.agency,
        applicant_personal_id=next((d.personal_id for d in documents if d.personal_id), None),
        documents=tuple(documents),
        status=DossierStatus.NEEDS_REVIEW
        if any(d.fields_needing_review for d in documents)
        else DossierStatus.DIGITIZED,
    )


def _certify_all(documents: Sequence[Document], dossier: Dossier, settings: Settings) -> list[CertifiedCopy]:
    from signing.certify import certify_copy, dossier_stamp
    from signing.keys import load_signer

    copies = []
    now = datetime.now(UTC)
    with load_signer(settings) as signer:  # a PKCS#11 session must be closed
        for document in documents:
            assert document.pdf is not None and document.sha256 is not None
            stamp = dossier_stamp(
                settings,
                certification_number=certification_number(now),
                signed_at=now,
                dossier_code=dossier.code,
                procedure_code=dossier.procedure_code,
                owner_id=document.personal_id,
                doc_type=document.doc_type,
            )
            copies.append(
                certify_copy(
                    document.pdf, signer, stamp, tsa_url=settings.tsa_url, document_sha256=document.sha256
                )
            )
    return copies


def certification_number(when: datetime, request_id: str | None = None) -> str:
    """A certification number for the register of certified copies: the day, then 32 bits.

    The bits are random, so the same document certified twice gets two numbers as two entries in a
    paper register would; a request that may be delivered again (a Celery task) passes its id, so a
    redelivery finds the copy it already made instead of certifying a second time.
    """
    tail = hashlib.sha256(request_id.encode()).hexdigest()[:8] if request_id else secrets.token_hex(4)
    return f"CT-{when:%Y%m%d}-{tail.upper()}"


def _store_sources(
    db: Database, store: ObjectStore, batch_id: int, sources: Sequence[Source], station: str
) -> list[str]:
    from storage.archive import record_source_file

    return [
        record_source_file(
            db, store, batch_id=batch_id, name=s.name, data=s.path, media_type=s.media_type, actor=station
        ).key
        for s in sources
    ]


def _archive(
    db: Database,
    store: ObjectStore,
    dossier: Dossier,
    batch_id: int,
    source_keys: Sequence[str],
    certified: Sequence[CertifiedCopy | None],
    station: str,
) -> list[DocumentResult]:
    from storage.archive import archive_document

    results = []
    for index, (document, copy) in enumerate(zip(dossier.documents, certified, strict=True), start=1):
        archived = archive_document(
            db,
            store,
            dossier=dossier,
            document=document,
            batch_id=batch_id,
            source_keys=source_keys,
            certified=copy,
            actor=station,
        )
        local = store.local_path(archived.certified_key) if archived.certified_key else None
        results.append(
            DocumentResult(
                index=index,
                doc_type=document.doc_type,
                confidence=document.type_confidence,
                pages=tuple(p.label for p in document.pages),
                fields=fields_to_dict(document),
                needs_review=tuple(document.fields_needing_review),
                sha256=document.sha256 or "",
                pdf_key=archived.pdf_key,
                certified_key=archived.certified_key,
                certified_path=str(local) if local else archived.certified_key,
                certification_number=copy.certification_number if copy else None,
                document_id=archived.document_id,
                reused_from=archived.reused_from,
            )
        )
    return results


@dataclass(frozen=True)
class SignedManifest:
    key: str
    signature_key: str
    json: bytes
    signature: bytes


def _sign_manifest(
    db: Database,
    store: ObjectStore,
    dossier: Dossier,
    batch_id: int,
    source_keys: Sequence[str],
    results: Sequence[DocumentResult],
    settings: Settings,
    station: str,
) -> SignedManifest:
    """Sign what this run stored: every object's hash and every document's fields, as canonical JSON
    with a detached CMS signature by the agency key, so the records themselves can be checked later."""
    from signing.keys import load_signer
    from signing.manifest import build_manifest, canonical, sign_manifest
    from storage.archive import record_manifest
    from storage.objects import sha256_of_key

    keys = [*source_keys]
    for r in results:
        keys += [k for k in (r.pdf_key, r.certified_key) if k]
    manifest = build_manifest(
        dossier.code,
        {key: sha256_of_key(key) for key in keys},
        {f"{r.index:02d}-{r.doc_type}": {n: f["value"] for n, f in r.fields.items()} for r in results},
        created_at=datetime.now(UTC),
        procedure=dossier.procedure_code,
        documents=[
            {"index": r.index, "doc_type": r.doc_type, "pdf": r.pdf_key, "certified": r.certified_key}
            for r in results
        ],
    )
    body = canonical(manifest)
    with load_signer(settings) as signer:
        signature = sign_manifest(manifest, signer)
    key, signature_key = record_manifest(
        db, store, dossier_code=dossier.code, batch_id=batch_id, manifest=body, signature=signature, actor=station
    )
    return SignedManifest(key, signature_key, body, signature)


def _write_out(
    results: Sequence[DocumentResult],
    documents: Sequence[Document],
    certified: Sequence[CertifiedCopy | None],
    out_dir: Path,
) -> list[DocumentResult]:
    """Copy each certified PDF (or the plain searchable PDF) to ``out_dir`` under a readable name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for result, document, copy in zip(results, documents, certified, strict=True):
        name = f"{result.index:02d}-{result.doc_type}.pdf"
        target = out_dir / name
        target.write_bytes(copy.pdf if copy else (document.pdf or b""))
        written.append(replace(result, certified_path=str(target)))
    return written


def fields_to_dict(document: Document) -> dict[str, dict[str, object]]:
    return {
        name: {
            "value": f.value,
            "confidence": round(f.confidence, 4),
            "needs_review": f.needs_review,
            **({"reason": f.reason} if f.reason else {}),
        }
        for name, f in document.fields.items()
    }


def _default_dossier_code(sources: Sequence[Source]) -> str:
    digest = hashlib.sha256("".join(s.data_sha256 for s in sources).encode()).hexdigest()
    return f"HS-{datetime.now(UTC):%Y%m%d}-{digest[:6].upper()}"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}


def _media_type(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    return _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
