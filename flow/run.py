"""The in-process runner: the flow of :mod:`flow.steps` on this machine, pages on a process pool.

``sohoa process`` and the embedded API use it; with a broker configured, the Celery runner
(:mod:`workers.submit`, :mod:`workers.tasks`) runs the same steps as tasks instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from classifiers.classify import classify_document
from classifiers.extract import extract_fields
from core.model import BatchStatus, Document, Page
from core.settings import Settings
from flow import steps
from flow.context import BatchContext, BatchSummary, DocumentOutcome, DocumentWork, Services
from pipeline import tesseract
from pipeline.executor import PageBudget, PageExecutor, default_executor
from pipeline.pdf_images import PreparedImages
from pipeline.upright import UprightOriginal
from storage import progress
from storage.archive import update_batch
from storage.db import Database

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
class ProcessResult:
    """What ``sohoa process`` shows of a finished batch: its summary and where the copies went."""

    summary: BatchSummary
    seconds: float
    certified_paths: dict[int, str] = field(default_factory=dict)  # document number → file written

    @property
    def dossier_code(self) -> str:
        return self.summary.dossier_code

    @property
    def procedure_code(self) -> str | None:
        return self.summary.procedure_code

    @property
    def batch_id(self) -> int:
        return self.summary.batch_id

    @property
    def pages(self) -> int:
        return self.summary.pages_total

    @property
    def documents(self) -> tuple[DocumentOutcome, ...]:
        return self.summary.documents

    @property
    def manifest_key(self) -> str | None:
        return self.summary.manifest_key

    def key_fields(self, document: DocumentOutcome) -> dict[str, str]:
        out = {}
        for name in KEY_FIELDS.get(document.doc_type, ()):
            value = document.fields.get(name, {}).get("value")
            if value:
                out[name] = str(value)
        return out

    def to_dict(self) -> dict[str, object]:
        s = self.summary
        return {
            "dossier": s.dossier_code,
            "procedure": s.procedure_code,
            "batch_id": s.batch_id,
            "status": str(s.status),
            "dossier_status": str(s.dossier_status),
            "pages": s.pages_total,
            "pages_failed": s.pages_failed,
            "errors": list(s.errors),
            "seconds": round(self.seconds, 2),
            "manifest_key": s.manifest_key,
            "documents": [
                {
                    "index": d.number,
                    "state": str(d.state),
                    **({"reason": d.reason} if d.reason else {}),
                    "doc_type": d.doc_type,
                    "confidence": d.confidence,
                    "pages": list(d.pages),
                    "fields": d.fields,
                    "needs_review": list(d.needs_review),
                    "review_state": d.review_state,
                    "sha256": d.sha256,
                    "document_id": d.document_id,
                    "pdf_key": d.pdf_key,
                    "certified_key": d.certified_key,
                    "certified_path": self.certified_paths.get(d.number),
                    "certification_number": d.certification_number,
                    "reused_from": d.reused_from,
                }
                for d in s.documents
            ],
        }


# ----------------------------------------------------------------------------------- page work


class PageJob(UprightOriginal):
    """The page phase as a picklable job bound to the OCR language (lambdas do not cross process
    boundaries); an in-process executor hands it ``batch_pages`` pages at a time."""

    def __init__(self, lang: str, batch_pages: int = 1) -> None:
        self.lang = lang
        self.batch_pages = batch_pages

    def __call__(self, page: Page) -> Page:
        if page.failure is not None:  # failed at ingest (its text layer over budget): kept as it is
            return page
        return steps.run_page(page, self.lang)

    def many(self, pages: Iterable[Page]) -> list[Page]:
        pages = list(pages)
        todo = [page for page in pages if page.failure is None]
        done = iter(steps.pages_work(todo, self.lang) if todo else ())
        return [page if page.failure is not None else next(done) for page in pages]


def ocr_pages(
    pages: Sequence[Page],
    settings: Settings,
    executor: PageExecutor | None = None,
    progress: Callable[[Page], None] | None = None,
) -> list[Page]:
    budget = PageBudget(seconds=settings.page_seconds, memory_mb=settings.page_memory_mb)
    executor = executor or default_executor(settings.workers, budget)
    return executor.map_pages(PageJob(settings.ocr_lang, settings.ocr_batch_pages), pages, progress)


def ocr_file(path: Path, settings: Settings, executor: PageExecutor | None = None) -> list[Page]:
    """Read, clean up and OCR one file without recording anything (``sohoa ocr``, ``sohoa extract``)."""
    pages = [page for source in steps.read([path], settings) for page in source.pages]
    return ocr_pages(pages, settings, executor)


def analyse_document(pages: Sequence[Page]) -> Document:
    """Classify one document and extract its fields, as the flow's document steps do, without
    recording anything (``sohoa extract``)."""
    document = classify_document(Document(pages=tuple(pages)))
    return extract_fields(document, read_line=tesseract.read_line)


# ------------------------------------------------------------------------------------------ runner


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
    received_at: datetime | None = None,
    on_pages_read: Callable[[int], None] | None = None,
    on_page_done: Callable[[Page], None] | None = None,
    db: Database | None = None,
) -> ProcessResult:
    """The whole flow over the files of one dossier, on this machine.

    ``batch_id`` continues a batch that the caller has already recorded (an upload answered 202).
    A file that cannot be read refuses the batch before anything is stored; after that, failures
    are the policy's (:mod:`flow.policy`): pages and documents fail alone, with their reasons on
    the batch record. ``db``: the records, when the caller has them open already (a job process
    has: opening them again checked the schema's migrations a second time).
    """
    started = time.perf_counter()
    with Services(settings, db=db) as services:
        try:
            sources = steps.read(paths, settings)
        except Exception as exc:
            if batch_id is not None:
                update_batch(services.db, batch_id, status=BatchStatus.FAILED, error=steps.failure_reason(exc, "reading"))
            raise
        pages = [page for source in sources for page in source.pages]
        if on_pages_read:
            on_pages_read(len(pages))
        ctx = steps.take_in(
            sources, services, dossier_code=dossier_code, procedure_code=procedure_code, station=station,
            certify=certify, batch_id=batch_id, received_at=received_at,
        )
        # The pages' pixels are compressed for the PDFs on a thread beside their clean-up and OCR,
        # not after every page is read (pipeline.pdf_images): the pages the workers take first from
        # the start (a one-page upload's second core works), each later one once it is read.
        services.page_images = PreparedImages(pages, ahead=max(1, settings.workers))
        try:
            summary = _run(ctx, pages, settings, services, executor, on_page_done)
        except Exception as exc:  # a service failed under the flow: the batch record says so
            update_batch(services.db, ctx.batch_id, status=BatchStatus.FAILED, error=steps.failure_reason(exc, "the batch"))
            raise
        finally:
            services.page_images.close()
            services.page_images = None
    paths_out = write_out(summary, services, out_dir) if out_dir is not None else {}
    return ProcessResult(summary, time.perf_counter() - started, paths_out)


def _run(
    ctx: BatchContext,
    pages: Sequence[Page],
    settings: Settings,
    services: Services,
    executor: PageExecutor | None,
    on_page_done: Callable[[Page], None] | None,
) -> BatchSummary:
    done = 0

    def page_done(page: Page) -> None:
        nonlocal done
        done += 1
        if services.page_images is not None:
            services.page_images.done(page)  # its pixels compressed for the PDF while the next pages are read
        update_batch(services.db, ctx.batch_id, pages_done=done)
        if on_page_done:
            on_page_done(page)

    pages = ocr_pages(pages, settings, executor, page_done)
    failed_pages = [p for p in pages if p.failure is not None]
    for page in failed_pages:
        update_batch(services.db, ctx.batch_id, error=f"page {page.label}: {page.failure}")
    outcomes = []
    groups = steps.split(pages)
    progress.plan_documents(services.db, ctx.batch_id, len(groups), certify=ctx.certify)
    works: list[DocumentWork | None] = []
    for number, group in enumerate(groups, start=1):
        work = DocumentWork(number=number, document=Document(pages=group))
        try:
            works.append(steps.run_document(work, ctx, services, signing=False))
        except Exception as exc:  # noqa: BLE001 - the policy: this document fails, the batch goes on
            reason = steps.failure_reason(exc, f"document {number}")
            update_batch(services.db, ctx.batch_id, error=f"document {number}: {reason}")
            works.append(None)
            outcomes.append(steps.document_failed(number, group, reason))
    # the steps that sign (certification) once every paper is recorded: the certify step compares
    # the dossier's recorded papers and holds one another contradicts
    for number, (group, done_work) in enumerate(zip(groups, works, strict=True), start=1):
        if done_work is None:
            continue
        try:
            outcomes.append(steps.document_done(steps.run_document(done_work, ctx, services, signing=True)))
        except Exception as exc:  # noqa: BLE001 - the policy: this document fails, the batch goes on
            reason = steps.failure_reason(exc, f"document {number}")
            update_batch(services.db, ctx.batch_id, error=f"document {number}: {reason}")
            outcomes.append(steps.document_failed(number, group, reason))
    outcomes.sort(key=lambda d: d.number)
    closing = steps.Closing(ctx, tuple(outcomes), pages_done=len(pages) - len(failed_pages),
                            pages_failed=len(failed_pages))
    summary = steps.close_batch(closing, services)
    errors = tuple(f"page {p.label}: {p.failure}" for p in failed_pages) + tuple(
        f"document {d.number}: {d.reason}" for d in outcomes if not d.done
    )
    return replace(summary, errors=errors)


def write_out(summary: BatchSummary, services: Services, out_dir: Path) -> dict[int, str]:
    """Copy each certified PDF (or the searchable PDF) to ``out_dir`` under a readable name, and the
    batch's signed manifest beside them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for d in summary.documents:
        key = d.certified_key or d.pdf_key
        if not d.done or key is None:
            continue
        target = out_dir / f"{d.number:02d}-{d.doc_type}.pdf"
        target.write_bytes(services.store.get_bytes(key))
        written[d.number] = str(target)
    if summary.manifest_key and summary.manifest_signature_key:
        (out_dir / "manifest.json").write_bytes(services.store.get_bytes(summary.manifest_key))
        (out_dir / "manifest.json.p7s").write_bytes(services.store.get_bytes(summary.manifest_signature_key))
    return written
