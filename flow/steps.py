"""The dossier flow, declared once: an ordered list of named steps, each a plain function.

::

    intake     read ─► store originals ─► verify signed originals   (once, where the files are)
    pages      page work: clean-up, OCR, QR codes            (every page, in parallel)
    split      split into documents                          (once, over all pages)
    documents  classify ─► extract (incl. re-reading fields   (every document, in parallel)
               from the scan) ─► flag pages ─► assemble PDF/A ─►
               the digitizing official signs it ─► archive
               records ─► issue the result code ─► certify on request
    closing    agree (ID, name, birth date across papers) ─►
               finish (dossier and batch status) ─► manifest (once)

:data:`STEPS` is that list. A runner executes its phases in order: the in-process runner
(:mod:`flow.run`) loops over them on one machine; the Celery runner (:mod:`workers.tasks`) runs the
page and document phases as tasks. Both call :func:`run_page`, :func:`run_document` and
:func:`close_batch`, which loop over the phase's steps here, so the two cannot drift apart. What a
failure means and how statuses, numbers and stamps are decided is :mod:`flow.policy`.

Certification comes after archiving: a copy is made only of a document the records hold, and a
re-run of the same files finds the copy it made before instead of certifying twice. It is held for
a paper another recorded paper of the dossier contradicts (one person's ID, name or birth date read
otherwise), so the in-process runner certifies once every paper of the batch is recorded. The digitizing
official's signature comes before archiving (Circular 01/2023, Art. 8: the scan is signed before its
data is recorded), and the result code once the record exists (one per paper, kept on a re-run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from classifiers.agreement import agree as agree_readings
from classifiers.agreement import field_of
from classifiers.classify import classify_document
from classifiers.extract import extract_fields
from classifiers.split import is_blank, split_documents
from core import metrics
from core.errors import InputError, SohoaError
from core.model import Document, Dossier, DossierStatus, Page, PageFlag, PageWarning, ReviewState
from core.settings import Settings
from flow import policy
from flow.context import (
    BatchContext,
    BatchSummary,
    DocumentOutcome,
    DocumentWork,
    OutcomeState,
    Services,
    Source,
)
from pipeline import tesseract
from pipeline.ingest import read_source, sniff
from pipeline.pagework import process_page, process_pages_together
from pipeline.pdfa import build_searchable_pdf
from pipeline.qr import read_qr_codes
from signing.digitize import Digitization, sign_scan
from signing.keys import TrustConfig, trust_config
from signing.manifest import build_manifest, canonical, sign_manifest
from signing.officials import official_signer
from signing.stamp import VIETNAM_TIME
from signing.verify import NO_SIGNATURE, VerificationReport, verify_pdf
from storage import progress
from storage.archive import (
    archive_document,
    record_manifest,
    record_source_file,
    record_source_signatures,
    start_batch,
    update_batch,
    upsert_dossier,
)
from storage.flags import record_field_findings
from storage.objects import sha256_of_key
from storage.records import document_by_id, latest_manifest
from storage.result_codes import issue_result_code

log = logging.getLogger(__name__)

# What a searchable copy of a signed original says of it (its signatures are not carried over: the
# original, kept byte for byte, is the signed one).
SIGNED_ORIGINAL_NOTE = "số hóa từ bản gốc điện tử có chữ ký số (chữ ký được kiểm tra khi tiếp nhận)"


class Phase(StrEnum):
    INTAKE = "intake"
    PAGES = "pages"
    SPLIT = "split"
    DOCUMENTS = "documents"
    CLOSING = "closing"


@dataclass(frozen=True)
class Step:
    name: str
    phase: Phase
    run: Callable[..., object]
    applies: Callable[[BatchContext], bool] = lambda _ctx: True
    signs: bool = False  # needs the signer: a runner may send it where the key is


# ------------------------------------------------------------------------------------------ intake


def read(paths: Sequence[Path], settings: Settings) -> list[Source]:
    """Read and check every input before anything is stored: one bad file refuses the whole batch."""
    if not paths:
        raise InputError("no input files given")
    sources = []
    for path in map(Path, paths):
        if path.is_dir():
            raise InputError(f"{path}: is a folder; give the files in it")
        pages = read_source(
            path,
            max_page_pixels=settings.max_page_pixels,
            max_pages=settings.max_pages_per_file,
            max_bytes=settings.max_file_bytes,
            text_seconds=settings.page_seconds,  # a PDF page's text layer is page work: same budget
        )
        # ingest refuses a file without pages, so the first page names the file's hash
        sources.append(Source(path, path.name, pages[0].source_sha256, media_type(path), tuple(pages)))
    return sources


def store_originals(
    sources: Sequence[Source],
    services: Services,
    *,
    dossier_code: str | None,
    procedure_code: str | None,
    station: str,
    certify: bool,
    batch_id: int | None = None,
    received_at: datetime | None = None,
) -> BatchContext:
    """Record the batch (unless the caller has: an upload answered 202) and every original as handed
    in, before any page work, so a failure later loses nothing that was accepted."""
    received_at = received_at or datetime.now(UTC)
    dossier_code = dossier_code or policy.default_dossier_code([s.data_sha256 for s in sources], received_at)
    db, store, settings = services.db, services.store, services.settings
    if batch_id is None:
        batch_id = start_batch(
            db, station=station, dossier_code=dossier_code, procedure_code=procedure_code,
            files=len(sources), agency=settings.agency, actor=station,
        )
    keys = tuple(
        record_source_file(
            db, store, batch_id=batch_id, name=s.name, data=s.path, media_type=s.media_type, actor=station
        ).key
        for s in sources
    )
    pages_total = sum(len(s.pages) for s in sources)
    update_batch(db, batch_id, pages_total=pages_total, pages_done=0)
    return BatchContext(
        batch_id=batch_id,
        dossier_code=dossier_code,
        procedure_code=procedure_code,
        station=station,
        agency=settings.agency,
        certify=certify,
        received_at=received_at,
        source_keys=keys,
        pages_total=pages_total,
        digitizer=settings.digitizing_official,
        certifier=settings.certifying_officer,
    )


def verify_signed_originals(sources: Sequence[Source], ctx: BatchContext, services: Services) -> BatchContext:
    """A PDF handed in already signed (a decision of the People's Committee, a certificate issued
    electronically) has its signatures verified at reception, offline and against the configured
    trust roots; the verdict goes beside the original's record and into the audit trail, and the
    documents made from it say they come from a signed original."""
    signed = []
    trust: TrustConfig | None = None
    for source in sources:
        if source.media_type != "application/pdf":
            continue
        data = source.path.read_bytes()
        if b"/ByteRange" not in data:  # no signature dictionary: nothing to verify
            continue
        trust = trust or trust_config(services.settings)
        report = verify_pdf(data, roots=list(trust.roots), allow_fetching=False,
                            intermediates=trust.intermediates, tsa_roots=trust.tsa_roots, policy=trust.policy)
        if NO_SIGNATURE in report.reasons and not report.signatures:
            continue
        record_source_signatures(
            services.db, batch_id=ctx.batch_id, sha256=source.data_sha256,
            verification=signed_original_summary(report), actor=ctx.station,
        )
        signed.append(source.data_sha256)
        log.info("%s: signed original, %s", source.name, report.status)
    return replace(ctx, signed_sources=tuple(signed)) if signed else ctx


def signed_original_summary(report: VerificationReport) -> dict[str, object]:
    """What is kept of a verification: the verdict and, per signature, who, when and its verdict."""
    return {
        "status": report.status,
        "reasons": list(report.reasons),
        "signatures": [
            {
                "kind": s.kind,
                "signer": s.signer_subject,
                "signing_time": s.signing_time.isoformat() if s.signing_time else None,
                "timestamp": s.timestamp_time.isoformat() if s.timestamp_time else None,
                "status": s.status,
                "reasons": list(s.reasons),
            }
            for s in report.signatures
        ],
    }


def take_in(
    sources: Sequence[Source],
    services: Services,
    *,
    dossier_code: str | None,
    procedure_code: str | None,
    station: str,
    certify: bool,
    batch_id: int | None = None,
    received_at: datetime | None = None,
) -> BatchContext:
    """The intake steps after reading, in order, as both runners run them where the files are."""
    ctx = store_originals(
        sources, services, dossier_code=dossier_code, procedure_code=procedure_code, station=station,
        certify=certify, batch_id=batch_id, received_at=received_at,
    )
    return verify_signed_originals(sources, ctx, services)


# ------------------------------------------------------------------------------------------- pages


def page_work(page: Page, lang: str) -> Page:
    """Clean-up, OCR and the page's QR codes. The cleaned image (for OCR only) is not in the result."""
    return _with_qr_codes(process_page(page, lang=lang))


def pages_work(pages: Iterable[Page], lang: str) -> list[Page]:
    """:func:`page_work` of several pages OCR'd together (one Tesseract start for all); when the
    run fails, each page is tried alone so one bad page fails only itself."""
    pages = list(pages)
    started = time.perf_counter()
    try:
        done = [_with_qr_codes(page) for page in process_pages_together(pages, lang=lang)]
    except Exception:
        if len(pages) == 1:
            return [run_page(pages[0], lang)]
        log.warning("%d pages read together failed; reading each alone", len(pages), exc_info=True)
        return [run_page(page, lang) for page in pages]
    _measured_pages(done, time.perf_counter() - started)
    return done


def _measured_pages(pages: Sequence[Page], seconds: float) -> None:
    for page in pages:
        metrics.observe_step("page_work", seconds / len(pages), failed=page.failure is not None)
        metrics.count("pages", "failed" if page.failure is not None else "done")


def _with_qr_codes(page: Page) -> Page:
    if not page.qr_payloads:
        try:
            page = replace(page, qr_payloads=read_qr_codes(page.image))
        except Exception:  # a QR decoder failure must not cost the page its OCR
            log.warning("%s: QR decoding failed", page.label, exc_info=True)
    return page


# ------------------------------------------------------------------------------------------- split


def split(pages: Sequence[Page]) -> list[tuple[Page, ...]]:
    """Group the pages into documents; a page whose page work failed is in none of them."""
    usable = [p for p in pages if p.failure is None]
    return split_documents(usable) if usable else []


# --------------------------------------------------------------------------------------- documents


def classify(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    return replace(work, document=classify_document(work.document))


def extract(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    """Fields by the type's contract, with names, places and numbers read a second time from the
    original scan by Tesseract (the second reading is this step's, not hidden in the classifier), and
    the names and places people confirmed at the verification station known beside the lexicon's."""
    return replace(work, document=extract_fields(work.document, read_line=tesseract.read_line,
                                                 learned=services.learned))


def flag_pages(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    """A document with a page whose turn or reading the page work could not vouch for goes to
    review; its blank pages are marked and named in the record (:func:`flow.policy.with_page_flags`)."""
    return replace(work, document=policy.with_page_flags(mark_blank_pages(work.document)))


def mark_blank_pages(document: Document) -> Document:
    """Mark the blank pages the split kept in the document (``PageWarning.BLANK_PAGE``): the same
    test the split applied, so each runner marks the pages it kept, whatever the page work said."""
    blank = [is_blank(page) and all(flag.warning != PageWarning.BLANK_PAGE for flag in page.flags)
             for page in document.pages]
    if not any(blank):
        return document
    return replace(document, pages=tuple(
        replace(page, flags=(*page.flags, PageFlag(PageWarning.BLANK_PAGE, 1.0))) if mark else page
        for page, mark in zip(document.pages, blank, strict=True)
    ))


def assemble_pdf(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    document = work.document
    subject = "Kết quả số hóa hồ sơ thủ tục hành chính"
    if any(page.source_sha256 in ctx.signed_sources for page in document.pages):
        subject += f" – {SIGNED_ORIGINAL_NOTE}"
    pdf = build_searchable_pdf(
        document.pages,
        title=f"{ctx.dossier_code} – {document.doc_type}",
        author="sohoa",
        subject=subject,
        keywords=(ctx.dossier_code, document.doc_type),
        created=ctx.received_at,
        prepared=services.page_images,
    )
    return replace(work, document=replace(document, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest()))


def sign_digitized(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    """The digitizing official signs the scanned copy (Circular 01/2023, Art. 8) before anything
    extracted from it is recorded: name and time at the top left of page 1, in a band above the
    scan, every page kept. It runs where the document work runs (the official's key, not the
    agency's), and leaves the certifying officer's field empty for a certified copy to fill."""
    document = work.document
    assert document.pdf is not None
    settings = services.settings
    official = ctx.digitizer or settings.digitizing_official
    signer = official_signer(settings, official, agency=lambda: services.signer)
    signed = sign_scan(document.pdf, signer, Digitization(official=official, agency=ctx.agency,
                                                          signed_at=datetime.now(UTC)))
    if signed.pages != len(document.pages):
        raise InputError(f"the signed scan has {signed.pages} pages, the paper {len(document.pages)}")
    return replace(work, document=replace(document, pdf=signed.pdf, sha256=hashlib.sha256(signed.pdf).hexdigest()))


def archive(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    """Store the PDF and record the document; a document the dossier already holds is returned."""
    document = work.document
    dossier = Dossier(
        code=ctx.dossier_code,
        procedure_code=ctx.procedure_code,
        agency=ctx.agency,
        applicant_personal_id=document.personal_id,
        documents=(document,),
        status=DossierStatus.PROCESSING,
    )
    archived = archive_document(
        services.db, services.store, dossier=dossier, document=document, batch_id=ctx.batch_id,
        source_keys=ctx.source_keys, certified=None, actor=ctx.station,
    )
    return replace(
        work,
        document_id=archived.document_id,
        pdf_key=archived.pdf_key,
        pdf_sha256=archived.pdf_sha256,
        review_state=archived.review_state,
        reused_from=archived.reused_from,
        already_recorded=archived.already_recorded,
    )


def issue_result(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    """The digitization result code of the paper (Circular 01/2023, Art. 8), once its data is
    extracted and its record made: the next of the agency's day, or the one it already has."""
    assert work.document_id is not None
    settings = services.settings
    issue_result_code(services.db, document_id=work.document_id, agency_code=settings.agency_code,
                      fmt=settings.result_code_format, day=ctx.received_at.astimezone(VIETNAM_TIME).date(),
                      actor=ctx.station, digitized_by=ctx.digitizer or settings.digitizing_official)
    return work


def certify(work: DocumentWork, ctx: BatchContext, services: Services) -> DocumentWork:
    """A certified copy of the recorded document, or the one it already has. It reads what it
    certifies from the records, so a runner may run it on another machine (the one with the key).
    Held (no copy, the document to review) while another recorded paper of the dossier reads the
    same person's ID, name or birth date otherwise (:func:`flow.policy.held_by_agreement`)."""
    assert work.document_id is not None
    info = document_by_id(services.db, work.document_id)
    if info is None:
        raise InputError(f"no document {work.document_id} to certify")
    if info.certified:
        earlier = info.certified[0]
        return replace(work, certified_id=earlier.id, certified_key=earlier.object_key,
                       certification_number=earlier.certification_number)
    if policy.held_by_agreement(services.db, work.document_id, actor=ctx.station):
        log.info("document %d: certification held, another paper of the dossier reads its holder otherwise",
                 work.document_id)
        return replace(work, review_state=ReviewState.NEEDS_REVIEW)
    pdf = work.document.pdf if work.document.sha256 == info.pdf_sha256 else None
    if pdf is None:  # on another machine, or the record reuses an earlier paper's PDF
        pdf = services.store.get_bytes(info.pdf_key)
    name = ctx.certifier or services.settings.certifying_officer
    officer = official_signer(services.settings, name, agency=lambda: services.signer)
    try:  # checked again as the number is reserved: a paper of the dossier recorded since is seen
        copy, copy_id, key = policy.certify_into_register(
            services.db, services.store, officer, services.settings, officer=name,
            pdf=pdf, document_id=work.document_id, document_sha256=info.pdf_sha256,
            dossier_code=ctx.dossier_code, procedure_code=ctx.procedure_code,
            doc_type=info.doc_type, actor=ctx.station, check_agreement=True,
        )
    except policy.HeldByAgreement:
        log.info("document %d: certification held, a paper of the dossier recorded meanwhile reads its holder "
                 "otherwise", work.document_id)
        return replace(work, review_state=ReviewState.NEEDS_REVIEW)
    return replace(work, certified_id=copy_id, certified_key=key, certification_number=copy.certification_number)


# ----------------------------------------------------------------------------------------- closing


@dataclass(frozen=True)
class Closing:
    """The batch as the closing steps see it and leave it."""

    ctx: BatchContext
    documents: tuple[DocumentOutcome, ...]
    pages_done: int
    pages_failed: int
    summary: BatchSummary | None = None


def agree(closing: Closing, services: Services) -> Closing:
    """Agreement across the dossier, once every document is extracted and before the dossier's
    status is decided: the applicant's ID, name and birth date read alike on two papers settle a
    doubt either raised; read differently, both go to review with the other value in the reason
    (:mod:`classifiers.agreement`). It needs all documents at once, so it is a closing step, not a
    document step. What it changes is written into the documents' records (fields and review state,
    so the review queue shows the flag and its reason) and reaches the dossier status, the batch
    summary and the manifest. Certification does not wait for it: the certify step runs the same
    comparison over the dossier's recorded papers and holds a paper another one contradicts."""
    done = [d for d in closing.documents if d.done]
    if len(done) < 2:
        return closing
    readings = [(d.doc_type, {name: field_of(f) for name, f in d.fields.items()}) for d in done]
    agreed = dict(zip((d.number for d in done), agree_readings(readings), strict=True))
    documents = []
    for d in closing.documents:
        fields = agreed.get(d.number) if d.done else None
        if fields is None:
            documents.append(d)
            continue
        as_dicts = {name: {**d.fields[name], "needs_review": f.needs_review,
                           **({"reason": f.reason} if f.reason else {})} for name, f in fields.items()}
        changed = {name: entry for name, entry in as_dicts.items() if entry != d.fields[name]}
        review_state = d.review_state
        if changed and d.document_id is not None:
            review_state = record_field_findings(services.db, d.document_id, changed, actor=closing.ctx.station,
                                                 action="document.agreement")
        documents.append(replace(d, fields=as_dicts, review_state=review_state,
                                 needs_review=tuple(name for name, f in fields.items() if f.needs_review)))
    return replace(closing, documents=tuple(documents))


def finish(closing: Closing, services: Services) -> Closing:
    """Dossier and batch status by the policy, into the records."""
    ctx, docs = closing.ctx, closing.documents
    failures = closing.pages_failed + sum(not d.done for d in docs)
    verdicts = [policy.DocumentVerdict(d.done, bool(d.needs_review) or d.review_state not in (None, "ok"))
                for d in docs]
    dossier_status = policy.dossier_status(verdicts, failures)
    status = policy.batch_status(sum(d.done for d in docs), failures)
    applicant = next((d.personal_id for d in docs if d.done and d.personal_id), None)
    with services.db.transaction() as session:
        upsert_dossier(session, code=ctx.dossier_code, status=dossier_status, applicant_personal_id=applicant)
    update_batch(services.db, ctx.batch_id, pages_done=closing.pages_done, status=status)
    summary = BatchSummary(
        batch_id=ctx.batch_id,
        dossier_code=ctx.dossier_code,
        procedure_code=ctx.procedure_code,
        status=status,
        dossier_status=dossier_status,
        pages_total=ctx.pages_total,
        pages_done=closing.pages_done,
        pages_failed=closing.pages_failed,
        documents=docs,
    )
    return replace(closing, summary=summary)


def manifest(closing: Closing, services: Services) -> Closing:
    """Sign what the batch stored: every object's hash and every document's fields, as canonical JSON
    with a detached CMS signature by the agency key. When the dossier's last manifest already says
    exactly this (the same files processed again), it is the answer and nothing new is stored."""
    summary = closing.summary
    assert summary is not None
    done = [d for d in closing.documents if d.done]
    if not done:
        return closing
    keys = [*closing.ctx.source_keys]
    for d in done:
        keys += [k for k in (d.pdf_key, d.certified_key) if k]
    objects = {key: sha256_of_key(key) for key in keys}
    fields = {f"{d.number:02d}-{d.doc_type}": {n: f.get("value") for n, f in d.fields.items()} for d in done}
    documents = [{"index": d.number, "doc_type": d.doc_type, "pdf": d.pdf_key, "certified": d.certified_key}
                 for d in done]
    earlier = latest_manifest(services.db, closing.ctx.dossier_code)
    if earlier is not None:
        said = json.loads(services.store.get_bytes(earlier[0]))
        if said.get("objects") == objects and said.get("fields") == fields and said.get("documents") == documents:
            return replace(closing, summary=replace(summary, manifest_key=earlier[0],
                                                    manifest_signature_key=earlier[1]))
    body = build_manifest(
        closing.ctx.dossier_code, objects, fields, created_at=datetime.now(UTC),
        procedure=closing.ctx.procedure_code, documents=documents,
    )
    signature = sign_manifest(body, services.signer)
    key, signature_key = record_manifest(
        services.db, services.store, dossier_code=closing.ctx.dossier_code, batch_id=closing.ctx.batch_id,
        manifest=canonical(body), signature=signature, actor=closing.ctx.station,
    )
    return replace(closing, summary=replace(summary, manifest_key=key, manifest_signature_key=signature_key))


# ------------------------------------------------------------------------------------- the flow

STEPS: tuple[Step, ...] = (
    Step("read", Phase.INTAKE, read),
    Step("store_originals", Phase.INTAKE, store_originals),
    Step("verify_signed_originals", Phase.INTAKE, verify_signed_originals),
    Step("page_work", Phase.PAGES, page_work),
    Step("split", Phase.SPLIT, split),
    Step("classify", Phase.DOCUMENTS, classify),
    Step("extract", Phase.DOCUMENTS, extract),
    Step("flag_pages", Phase.DOCUMENTS, flag_pages),
    Step("assemble_pdf", Phase.DOCUMENTS, assemble_pdf),
    Step("sign_digitized", Phase.DOCUMENTS, sign_digitized),
    Step("archive", Phase.DOCUMENTS, archive),
    Step("issue_result", Phase.DOCUMENTS, issue_result),
    Step("certify", Phase.DOCUMENTS, certify, applies=lambda ctx: ctx.certify, signs=True),
    Step("agree", Phase.CLOSING, agree),
    Step("finish", Phase.CLOSING, finish),
    Step("manifest", Phase.CLOSING, manifest),
)


def steps_of(phase: Phase) -> tuple[Step, ...]:
    return tuple(step for step in STEPS if step.phase is phase)


def run_page(page: Page, lang: str) -> Page:
    """The page phase for one page. A failure is the page's, not the batch's (:mod:`flow.policy`)."""
    started = time.perf_counter()
    try:
        for step in steps_of(Phase.PAGES):
            page = step.run(page, lang)  # type: ignore[assignment]
        _measured_pages([page], time.perf_counter() - started)
        return page
    except Exception as exc:  # noqa: BLE001 - recorded as the page's failure with its reason
        reason = failure_reason(exc, page.label)
        log.error("%s: page work failed: %s", page.label, reason)
        failed = replace(page, words=(), text="", failure=reason)
        _measured_pages([failed], time.perf_counter() - started)
        return failed


def run_document(
    work: DocumentWork, ctx: BatchContext, services: Services, *, signing: bool | None = None
) -> DocumentWork:
    """The document phase: every document step that applies to this batch, in order. ``signing``
    False runs only the steps that need no signer, True only those that do (a runner that sends
    certification to the machines holding the key runs the phase in these two parts)."""
    for step in steps_of(Phase.DOCUMENTS):
        if step.applies(ctx) and (signing is None or step.signs == signing):
            work = _measured(step, work, ctx, services, failure_counts="documents")
            progress.step_done(services.db, ctx.batch_id, step.name)
    # A document is counted once, by the call that finishes its phase: the signing part when a
    # signing step applies, else the part without a signer.
    signs = any(st.signs and st.applies(ctx) for st in steps_of(Phase.DOCUMENTS))
    if signing is None or signing == signs:
        metrics.count("documents", "done")
    return work


def _measured(step: Step, *args: object, failure_counts: str | None = None) -> Any:
    """Run one step, its time and any failure counted for Prometheus (:mod:`core.metrics`)."""
    started = time.perf_counter()
    try:
        result = step.run(*args)
    except Exception:
        metrics.observe_step(step.name, time.perf_counter() - started, failed=True)
        if failure_counts:
            metrics.count(failure_counts, "failed")
        raise
    metrics.observe_step(step.name, time.perf_counter() - started)
    return result


def close_batch(closing: Closing, services: Services) -> BatchSummary:
    for step in steps_of(Phase.CLOSING):
        closing = _measured(step, closing, services)
    assert closing.summary is not None
    return closing.summary


def document_done(work: DocumentWork) -> DocumentOutcome:
    """The outcome of a document whose steps all ran."""
    document = work.document
    return DocumentOutcome(
        number=work.number,
        state=OutcomeState.DONE,
        doc_type=document.doc_type,
        confidence=round(document.type_confidence, 4),
        pages=tuple(p.label for p in document.pages),
        fields=fields_to_dict(document),
        needs_review=tuple(document.fields_needing_review),
        personal_id=document.personal_id,
        sha256=document.sha256,
        document_id=work.document_id,
        pdf_key=work.pdf_key,
        pdf_sha256=work.pdf_sha256,
        review_state=work.review_state,
        reused_from=work.reused_from,
        already_recorded=work.already_recorded,
        certified_id=work.certified_id,
        certified_key=work.certified_key,
        certification_number=work.certification_number,
    )


def document_failed(number: int, pages: Sequence[Page], reason: str) -> DocumentOutcome:
    return DocumentOutcome(number=number, state=OutcomeState.FAILED, reason=reason,
                           pages=tuple(p.label for p in pages))


def failure_reason(exc: BaseException, what: str) -> str:
    """One line for the batch record: the message of an error a user can act on; for a bug, its
    type (the traceback goes to the log)."""
    if isinstance(exc, SohoaError):
        return str(exc)
    log.error("%s failed", what, exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


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


# ------------------------------------------------------------------------------------------ helpers

_MEDIA_TYPES = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg", "png": "image/png"}


def media_type(path: Path) -> str:
    """The media type recorded with an original, by its magic bytes as ingest reads them."""
    with path.open("rb") as fh:
        kind = sniff(fh.read(1024))
    return _MEDIA_TYPES.get(kind or "", "application/octet-stream")
