"""The one policy of the flow: what a failure means, which status a dossier gets, how a certified
copy is numbered and stamped, and what a dossier is called when the station gave no code.

Both runners (in-process and Celery), the API and the CLI take these decisions here and nowhere
else, so a batch ends the same way whichever machine ran it.

Failures, from the smallest unit up:

* a file the intake cannot read refuses the whole batch before anything is stored (the station
  sees one clear line and hands the paper in again; nothing half-accepted is left behind);
* a page whose page work fails is left out of the documents; its reason goes on the batch record
  and the rest of the batch goes on (one torn page must not cost a clerk the other forty);
* a document whose steps fail is recorded as failed with its reason; the others go on;
* a document with a page the page work flagged (turn undecided, reading poor) needs review;
* the batch is ``failed`` only when it produced no document and something failed; otherwise
  ``done``, with its errors listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from classifiers.agreement import agree as agree_readings
from classifiers.agreement import disagreeing, field_of, without_findings
from core.errors import InputError
from core.model import BatchStatus, CertifiedCopy, Document, DossierStatus, Field, PageWarning, ReviewState
from core.result_code import certified_copy_qr_payload
from core.settings import Settings
from signing.certify import StampInfo, certify_copy
from signing.keys import AgencySigner
from signing.officials import official_signer
from signing.stamp import VIETNAM_TIME
from storage.archive import record_certified_copy
from storage.certify_queue import Paper, PaperCheck, claim, confirmed, dossier_papers, release
from storage.db import Database
from storage.flags import record_field_findings
from storage.objects import ObjectStore
from storage.records import DocumentInfo, document_by_id, dossier_by_code
from storage.register import RegisterNumber, mark_used, reserve_number, void_number
from storage.result_codes import result_code_of


def agreement_findings(document_id: int, papers: Sequence[Paper | DocumentInfo]) -> dict[str, str]:
    """The fields of ``document_id`` that another of its dossier's ``papers`` (itself among them)
    reads otherwise (one person's ID, name or birth date, ``classifiers.agreement``), each with the
    reason naming the other paper's value; empty when the papers agree. Reads and writes nothing.
    A document a person already reviewed is not held: their review is that decision."""
    own = next((p for p in papers if p.id == document_id), None)
    if own is None or own.review_state not in (ReviewState.OK, ReviewState.NEEDS_REVIEW):
        return {}
    compared = [p for p in papers if p.review_state != ReviewState.REJECTED]
    if len(compared) < 2:
        return {}
    agreed = agree_readings([(p.doc_type, {n: without_findings(field_of(e)) for n, e in (p.fields or {}).items()})
                             for p in compared])
    fields = agreed[[p.id for p in compared].index(document_id)]
    return {n: fields[n].reason for n in disagreeing(fields)}


def _record_held(db: Database, document_id: int, findings: dict[str, str], *, actor: str) -> None:
    """A held paper goes to review: its fields in disagreement need review, with their reason."""
    record_field_findings(db, document_id, {n: {"needs_review": True, "reason": reason}
                                            for n, reason in findings.items()}, actor=actor, action="document.agreement")


def held_by_agreement(db: Database, document_id: int, *, actor: str) -> tuple[str, ...]:
    """The fields of a recorded document that another recorded paper of its dossier reads
    otherwise (:func:`agreement_findings`), written into the record as needing review with the
    other paper's value in the reason; empty when the papers agree. A certified copy is not made
    while any is left (:func:`flow.steps.certify`): the copy would vouch for a paper that another
    paper of the same dossier contradicts, and a person must first say which one is right."""
    info = document_by_id(db, document_id)
    if info is None:
        return ()
    dossier = dossier_by_code(db, info.dossier_code)
    findings = agreement_findings(document_id, dossier.documents if dossier else (info,))
    if findings:
        _record_held(db, document_id, findings, actor=actor)
    return tuple(findings)


def agreement_holds(db: Database, document_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """Of ``document_ids``, those the agreement check holds now, with the fields in disagreement:
    what the certify queue shows so an officer sees why a confirmation would be refused. Only
    reads (the hold is recorded when a copy is asked or confirmed)."""
    papers = dossier_papers(db, document_ids)
    holds = {d: tuple(agreement_findings(d, beside)) for d, beside in papers.items()}
    return {d: fields for d, fields in holds.items() if fields}


class HeldByAgreement(InputError):
    """A certified copy was asked of a paper another paper of its dossier contradicts: no copy
    until a verifier settles which reading is right (the API answers 409 with this reason)."""

    def __init__(self, document_id: int, fields: Sequence[str]) -> None:
        self.document_id = document_id
        self.fields = tuple(fields)
        super().__init__(
            f"document {document_id} is held for review: another paper of its dossier reads "
            f"{', '.join(self.fields)} otherwise; a verifier must settle it before a certified copy is made")


def ensure_not_held(db: Database, document_id: int, *, actor: str) -> None:
    """Refuse (:class:`HeldByAgreement`) to certify a paper :func:`held_by_agreement` holds. Every
    way to a copy passes here — the flow's certify step, a workflow system's direct request, an
    officer's confirmation — so none of them vouches for a contradicted paper."""
    held = held_by_agreement(db, document_id, actor=actor)
    if held:
        raise HeldByAgreement(document_id, held)


def _not_held(found: dict[str, str]) -> PaperCheck:
    """The agreement check run inside a write (an officer's claim, a register reservation), under
    the records' write lock: a paper recorded a moment before is seen, one recorded after waits
    for the write. The findings go into ``found`` so the hold is recorded once the write is undone."""

    def check(document_id: int, papers: tuple[Paper, ...]) -> None:
        found.update(agreement_findings(document_id, papers))
        if found:
            raise HeldByAgreement(document_id, tuple(found))

    return check


@dataclass(frozen=True)
class DocumentVerdict:
    """What the policy needs to know of one document's outcome."""

    done: bool
    needs_review: bool


def dossier_status(documents: Sequence[DocumentVerdict], failures: int) -> DossierStatus:
    """No document done: failed. Anything failed or any field unsure: a person must look
    (needs review). Otherwise the dossier is digitized."""
    done = [d for d in documents if d.done]
    if not done:
        return DossierStatus.FAILED
    if failures or any(d.needs_review for d in done):
        return DossierStatus.NEEDS_REVIEW
    return DossierStatus.DIGITIZED


PAGE_FLAGS_FIELD = "page_flags"
BLANK_PAGES_FIELD = "blank_pages"


def with_page_flags(document: Document) -> Document:
    """A document with a page the page work flagged (its turn undecided, its reading poor) needs
    review: the flags become one field that needs review, so the review station, the records and
    every JSON output carry them, and the document is never silently filed, say as ``other``
    with no field, upside down. The field names each flagged page of the document (1-based) with
    its warning and confidence.

    Blank pages kept in the document are named in a field of their own that needs no review: a
    blank back side is part of the paper, and the record shows where the scan holds one."""
    fields = dict(document.fields)
    blank = [n for n, page in enumerate(document.pages)
             if any(flag.warning == PageWarning.BLANK_PAGE for flag in page.flags)]
    if blank:
        fields[BLANK_PAGES_FIELD] = Field(value=", ".join(f"p.{n + 1}" for n in blank), confidence=1.0,
                                          page=blank[0], reason="blank pages of the paper, kept in the scan")
    notes = [(n, flag) for n, page in enumerate(document.pages) for flag in page.flags
             if flag.warning != PageWarning.BLANK_PAGE]
    if notes:
        value = "; ".join(f"p.{n + 1} {flag.warning} {flag.confidence:.2f}" for n, flag in notes)
        fields[PAGE_FLAGS_FIELD] = Field(value=value, confidence=min(flag.confidence for _, flag in notes),
                                         page=notes[0][0], needs_review=True,
                                         reason="the page work could not vouch for these pages")
    return replace(document, fields=fields) if fields != document.fields else document


def batch_status(documents_done: int, failures: int) -> BatchStatus:
    return BatchStatus.FAILED if documents_done == 0 and failures else BatchStatus.DONE


def default_dossier_code(source_hashes: Sequence[str], when: datetime) -> str:
    """The day the files were received and a digest of them: the same files handed in again the
    same day land in the same dossier (and so are recognised, not digitized twice)."""
    digest = hashlib.sha256("".join(source_hashes).encode()).hexdigest()
    return f"HS-{when:%Y%m%d}-{digest[:6].upper()}"


def book_name(book: int, year: int) -> str:
    """The register book as Circular 01/2020/TT-BTP names it, electronic copies in their own book."""
    return f"{book:02d}/{year}-SCTĐT/BS"


def register_text(number: RegisterNumber) -> str:
    """The certification number as the stamp and every record say it: "12, Quyển số: 01/2026-SCTĐT/BS"."""
    return f"{number.number}, Quyển số: {book_name(number.book, number.year)}"


def register_year(when: datetime) -> int:
    """Registers run by the calendar year in Vietnam (UTC+7), not in UTC."""
    return when.astimezone(VIETNAM_TIME).year


def stamp(
    settings: Settings,
    *,
    certification_number: str,
    signed_at: datetime,
    dossier_code: str,
    procedure_code: str | None,
    document_sha256: str,
    doc_type: str,
    officer: str | None = None,
    result_code: str | None = None,
) -> StampInfo:
    """The stamp of a copy of a dossier's document: the configured agency and officer, and a QR code
    naming the dossier, the paper, its register number, the document's hash and where to verify it
    (no personal data), whoever makes the copy."""
    base = (settings.public_base_url or "").rstrip("/")
    return StampInfo(
        agency=settings.agency,
        officer=officer or settings.certifying_officer,
        certification_number=certification_number,
        signed_at=signed_at,
        result_code=result_code,
        qr_payload=certified_copy_qr_payload(
            dossier_code=dossier_code,
            procedure_code=procedure_code,
            document_name=doc_type,
            certification_number=certification_number,
            document_sha256=document_sha256,
            result_code=result_code,
            verify_url=f"{base}/auditor#sha256={document_sha256}" if base else None,
        ),
    )


def certify_document(
    pdf: bytes,
    signer: AgencySigner,
    settings: Settings,
    *,
    number: str,
    document_sha256: str,
    dossier_code: str,
    procedure_code: str | None,
    doc_type: str,
    when: datetime,
    officer: str | None = None,
    result_code: str | None = None,
) -> CertifiedCopy:
    """A certified electronic copy of a dossier's document under register number ``number``,
    stamped by this policy and signed by ``signer`` (PAdES, with a timestamp when a TSA is set)."""
    info = stamp(
        settings,
        certification_number=number,
        signed_at=when,
        dossier_code=dossier_code,
        procedure_code=procedure_code,
        document_sha256=document_sha256,
        doc_type=doc_type,
        officer=officer,
        result_code=result_code,
    )
    return certify_copy(pdf, signer, info, tsa_url=settings.tsa_url, document_sha256=document_sha256)


def certify_into_register(
    db: Database,
    store: ObjectStore,
    signer: AgencySigner,
    settings: Settings,
    *,
    pdf: bytes,
    document_id: int,
    document_sha256: str,
    dossier_code: str,
    procedure_code: str | None,
    doc_type: str,
    actor: str,
    officer: str | None = None,
    check_agreement: bool = False,
) -> tuple[CertifiedCopy, int, str]:
    """Certify a recorded document: reserve the register's next number, sign under it, record the
    copy and mark the number used — or void it with the reason, so the register keeps no gap.
    The stamp names ``officer`` (default: the configured certifying officer) and its QR code the
    document's digitization result code. Returns the copy, its record id and its object key.

    With ``check_agreement`` the reservation itself checks the agreement hold, in its transaction
    under the register's write lock: a paper another paper of its dossier contradicts gets no
    number (:class:`HeldByAgreement`, the paper recorded as held), even one recorded in the
    instant before — the way to a copy with no officer's claim to check it (a workflow system's
    direct request)."""
    when = datetime.now(UTC)
    held: dict[str, str] = {}
    try:
        entry = reserve_number(db, agency=settings.agency, year=register_year(when), document_id=document_id,
                               actor=actor, check=_not_held(held) if check_agreement else None)
    except HeldByAgreement as exc:  # nothing reserved; the paper goes to review
        _record_held(db, exc.document_id, held, actor=actor)
        raise
    try:
        copy = certify_document(
            pdf, signer, settings, number=register_text(entry), document_sha256=document_sha256,
            dossier_code=dossier_code, procedure_code=procedure_code, doc_type=doc_type,
            when=when, officer=officer, result_code=result_code_of(db, document_id),
        )
        copy_id, key = record_certified_copy(db, store, document_id=document_id, certified=copy, actor=actor,
                                             agency=entry.agency)
    except BaseException as exc:
        void_number(db, entry.entry_id, reason=f"{type(exc).__name__}: {exc}", actor=actor)
        raise
    mark_used(db, entry.entry_id, certified_copy_id=copy_id, actor=actor)
    return copy, copy_id, key


def confirm_certification(
    db: Database,
    store: ObjectStore,
    settings: Settings,
    *,
    request_id: int,
    officer: str,
    actor: str,
    agency_signer: Callable[[], AgencySigner] | None = None,
) -> tuple[CertifiedCopy, int, str]:
    """A certifying officer confirms a waiting certified-copy request (``SOHOA_CERTIFY_BY_OFFICER``):
    the request is taken (no other officer can decide it meanwhile), the copy is numbered in the
    register, stamped with the officer's name and signed with the officer's own key; if signing
    fails the request waits again with the reason (and the number is voided, as always). A paper
    another paper of its dossier contradicts is not taken: :class:`HeldByAgreement`, the request
    still waiting. The check and the claim are one transaction, so no paper recorded in between
    slips through."""
    held: dict[str, str] = {}
    try:  # the check runs inside the claim's transaction, under the queue's write lock
        request = claim(db, request_id, officer=officer, actor=actor, check=_not_held(held))
    except HeldByAgreement as exc:  # the request still waits; the paper goes to review
        _record_held(db, exc.document_id, held, actor=actor)
        raise
    try:
        info = document_by_id(db, request.document_id)
        if info is None:
            raise InputError(f"no document {request.document_id} to certify")
        dossier = dossier_by_code(db, info.dossier_code)
        signer = official_signer(settings, officer, agency=agency_signer)
        copy, copy_id, key = certify_into_register(
            db, store, signer, settings, pdf=store.get_bytes(info.pdf_key), document_id=info.id,
            document_sha256=info.pdf_sha256, dossier_code=info.dossier_code,
            procedure_code=dossier.procedure_code if dossier else None, doc_type=info.doc_type,
            actor=actor, officer=officer,
        )
    except BaseException as exc:
        release(db, request_id, officer=officer, actor=actor, reason=f"{type(exc).__name__}: {exc}")
        raise
    confirmed(db, request_id, officer=officer, actor=actor, certified_copy_id=copy_id)
    return copy, copy_id, key
