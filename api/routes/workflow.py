"""Workflow systems: dossiers, certified copies made on request, and reuse look-ups.

A certified copy is made synchronously (a PAdES signature takes ~0.2 s) so the caller gets its
certification number in the answer; the PDF is downloaded from ``GET /v1/certified-copies/{id}``
or through a presigned link when the store is S3.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import insert

from api.app import AppState, state_of
from api.auth import Principal, Role, require
from api.db import api_copy_requests, copy_request, utcnow, write_lock
from api.routes.certify_queue import queue_request
from api.routes.stations import CODE, ERRORS
from api.schemas import (
    CertifiedCopyOut,
    CertifyRequest,
    CopyLink,
    DocumentOut,
    DossierOut,
    Problem,
    ReusableOut,
    ReuseOut,
    SignatureSeenOut,
    SignedOriginalOut,
)
from core.doctypes import DOC_TYPES
from flow import policy
from signing.officials import official_signer
from storage.records import certified_copy_by_id, document_by_id, dossier_by_code
from storage.result_codes import result_codes_of
from storage.reuse import find_reusable
from storage.trail import record_access

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["workflow"])

WorkflowKey = Annotated[Principal, Depends(require(Role.WORKFLOW))]
NOT_FOUND = {404: {"model": Problem, "description": "no such record"}}
DocType = StrEnum("DocType", {t: t for t in DOC_TYPES})  # type: ignore[misc]
MAX_ID = 2**31 - 1


@router.get("/dossiers/{code}", response_model=DossierOut, summary="A dossier with its documents",
            responses={**ERRORS, **NOT_FOUND})
def get_dossier(
    code: Annotated[str, Path(pattern=CODE.pattern, description="the dossier code (mã hồ sơ)")],
    request: Request,
    _principal: WorkflowKey,
) -> DossierOut:
    """Documents with their types, fields, review flags and certified copies."""
    info = dossier_by_code(state_of(request).records, code)
    if info is None:
        raise HTTPException(404, f"no dossier {code}")
    codes = result_codes_of(state_of(request).records, [d.id for d in info.documents])
    return DossierOut(
        code=info.code,
        procedure_code=info.procedure_code,
        agency=info.agency,
        applicant_personal_id=info.applicant_personal_id,
        status=info.status,
        created=info.created,
        updated=info.updated,
        documents=[_document_out(d, codes) for d in info.documents],
        signed_originals=[
            SignedOriginalOut(name=s.name, sha256=s.sha256, status=s.status, reasons=list(s.reasons),
                              signatures=[SignatureSeenOut(**sig) for sig in s.signatures])
            for s in info.signed_originals
        ],
    )


@router.get("/documents/{document_id}", response_model=DocumentOut, summary="One document",
            responses={**ERRORS, **NOT_FOUND})
def get_document(
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, _principal: WorkflowKey
) -> DocumentOut:
    document = _document(state_of(request), document_id)
    return _document_out(document, result_codes_of(state_of(request).records, [document.id]))


@router.post(
    "/documents/{document_id}/certified-copies",
    status_code=201,
    response_model=CertifiedCopyOut,
    summary="Make a certified electronic copy of a document",
    responses={**ERRORS, **NOT_FOUND, 503: {"model": Problem, "description": "the signer is not available"},
               409: {"model": Problem, "description": "held: another paper of the dossier reads it otherwise"}},
)
def create_certified_copy(
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    principal: WorkflowKey,
    body: Annotated[CertifyRequest | None, Body()] = None,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=255,
               description="a retry with the same key answers with the copy made the first time"),
    ] = None,
) -> JSONResponse:
    """Stamp + PAdES certification signature by the agency ("chứng thực bản sao điện tử từ bản
    chính", Decree 45/2020), stored and recorded with an audit event naming the caller. Each call
    makes a new copy with its own certification number, unless it repeats an Idempotency-Key."""
    state = state_of(request)
    settings = state.settings
    document = _document(state, document_id)
    try:  # a paper another paper of its dossier contradicts waits for a verifier, queued or not
        policy.ensure_not_held(state.records, document.id, actor=principal.actor)
    except policy.HeldByAgreement as exc:
        raise HTTPException(409, str(exc)) from None
    if settings.certify_by_officer:  # a certifying officer confirms it first (202, the queue entry)
        return queue_request(state, principal, document.id, body.reason if body else None)
    dossier = dossier_by_code(state.records, document.dossier_code)
    with state.sign_lock:  # also serialises retries of one Idempotency-Key within this process
        earlier = _earlier_copy(state, principal, idempotency_key, document.id)
        if earlier is not None:
            return JSONResponse(earlier.model_dump(mode="json"), status_code=200,
                                headers={"Location": earlier.download_url, "Idempotent-Replayed": "true"})
        pdf = state.store.get_bytes(document.pdf_key)
        # Each request is a new entry in the register; a repeated Idempotency-Key found it above.
        officer = official_signer(settings, settings.certifying_officer, agency=lambda: state.signer)
        try:  # checked again as the number is reserved, under the register's write lock: a paper
            # recorded since the check above is seen there, one recorded after waits for it
            copy, copy_id, _key = policy.certify_into_register(
                state.records, state.store, officer, settings, pdf=pdf, document_id=document.id,
                document_sha256=document.pdf_sha256, dossier_code=document.dossier_code,
                procedure_code=dossier.procedure_code if dossier else None,
                doc_type=document.doc_type, actor=principal.actor, check_agreement=True,
            )
        except policy.HeldByAgreement as exc:
            raise HTTPException(409, str(exc)) from None
        number = copy.certification_number
        if idempotency_key is not None:
            with write_lock, state.engine.begin() as conn:
                conn.execute(insert(api_copy_requests).values(
                    caller=principal.name, idempotency_key=idempotency_key, document_id=document.id,
                    copy_id=copy_id, created=utcnow(),
                ))
    log.info("document %d: certified copy %d (%s) for %s%s", document.id, copy_id, number, principal.actor,
             f" ({body.reason})" if body and body.reason else "")
    out = CertifiedCopyOut(
        id=copy_id,
        document_id=document.id,
        certification_number=copy.certification_number,
        signer=copy.signer,
        signed_at=copy.signed_at,
        timestamp=copy.timestamp,
        sha256=copy.sha256,
        size=len(copy.pdf),
        download_url=f"/v1/certified-copies/{copy_id}",
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers={"Location": out.download_url})


def _earlier_copy(state: AppState, principal: Principal, key: str | None, document_id: int) -> CertifiedCopyOut | None:
    """The copy an earlier request with this Idempotency-Key made, if any (409 for another document)."""

    if key is None:
        return None
    request = copy_request(state.engine, principal.name, key)
    if request is None:
        return None
    if request["document_id"] != document_id:
        raise HTTPException(409, "this Idempotency-Key was already used for a copy of another document")
    c = certified_copy_by_id(state.records, request["copy_id"])
    if c is None:
        return None
    return CertifiedCopyOut(
        id=c.id, document_id=document_id, certification_number=c.certification_number, signer=c.signer,
        signed_at=c.signed_at, timestamp=c.timestamp, sha256=c.sha256, size=c.size,
        download_url=f"/v1/certified-copies/{c.id}",
    )


@router.get(
    "/certified-copies/{copy_id}",
    summary="Download a certified copy (or a link to it)",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
                        "application/json": {"schema": CopyLink.model_json_schema()}},
            "description": "the PDF; with `?link=true`, a link to it (presigned when the store is S3)",
        },
        **ERRORS,
        **NOT_FOUND,
    },
)
def get_certified_copy(
    copy_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    principal: WorkflowKey,
    link: Annotated[bool, Query(description="answer with a download link instead of the PDF")] = False,
    expires_minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 60,
    purpose: Purpose = None,
) -> Response:
    state = state_of(request)
    row = _certified_row(state, copy_id)
    record_access(state.records, actor=principal.actor, action="certified_copy.downloaded",
                  subject=f"certified_copy:{copy_id}",
                  details={"link": link, "number": row["certification_number"], "purpose": purpose})
    if link:
        expires = timedelta(minutes=expires_minutes)
        url = state.store.presigned_url(row["object_key"], expires=expires)
        if url.startswith(("http://", "https://")):
            body = CopyLink(url=url, presigned=True, expires=datetime.now(UTC) + expires)
        else:  # a local folder has no signed links: the client downloads through this API
            body = CopyLink(url=f"/v1/certified-copies/{copy_id}", presigned=False, expires=None)
        return JSONResponse(body.model_dump(mode="json"))
    data = state.store.get_bytes(row["object_key"])  # checked against its hash on the way out
    number = row["certification_number"]
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": _attachment(f"ban-sao-chung-thuc-{number}.pdf"),
            # Header values are Latin-1: the register number ("12, Quyển số: …") goes percent-encoded.
            "X-Certification-Number": quote(number, safe=" ,:/-"),
            "X-Content-SHA256": row["sha256"],
        },
    )


def _attachment(name: str) -> str:
    """A download name for every client: an ASCII fallback and the UTF-8 name (RFC 6266, RFC 8187)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", unicodedata.normalize("NFKD", name).encode("ascii", "ignore")
                        .decode()).strip("-") or "certified-copy.pdf"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


Purpose = Annotated[
    str | None,
    Query(max_length=500, description="why the caller reads this (kept in the audit trail with who and when)"),
]


@router.get("/reuse", response_model=ReuseOut, summary="Reusable results for a person",
            responses={**ERRORS})
def reuse(
    request: Request,
    principal: WorkflowKey,
    personal_id: Annotated[str, Query(pattern=r"^\d{12}$", description="the 12-digit personal ID (số định danh)")],
    doc_type: Annotated[DocType | None, Query(description="one document type; all types if omitted")] = None,
    purpose: Purpose = None,
    type_: Annotated[DocType | None, Query(alias="type", description="the same as doc_type")] = None,
) -> ReuseOut:
    """The latest valid digitized result per document type, so the citizen hands nothing in twice
    (a paper past its validity is not offered)."""

    state = state_of(request)
    if doc_type is not None and type_ is not None and doc_type != type_:
        raise HTTPException(422, "type and doc_type name different document types")
    doc_type = doc_type or type_
    found = find_reusable(state.records, personal_id, doc_type.value if doc_type else None)
    record_access(state.records, actor=principal.actor, action="reuse.looked_up", subject=f"person:{personal_id}",
                  details={"doc_type": doc_type.value if doc_type else None, "found": [r.document_id for r in found],
                           "purpose": purpose})
    results = []
    codes = result_codes_of(state.records, [i for r in found for i in (r.original_id, r.document_id)])
    for r in found:
        cert = r.certified
        results.append(
            ReusableOut(
                result_code=codes.get(r.original_id) or codes.get(r.document_id),
                document_id=r.document_id,
                original_id=r.original_id,
                dossier_code=r.dossier_code,
                procedure_code=r.procedure_code,
                doc_type=r.doc_type,
                personal_id=r.personal_id,
                review_state=r.review_state,
                created=r.created,
                pdf_sha256=r.pdf_sha256,
                fields={k: (v or {}).get("value") for k, v in r.fields.items()},
                certified_copy=None if cert is None else CertifiedCopyOut(
                    id=cert.id,
                    certification_number=cert.certification_number,
                    signer=cert.signer,
                    signed_at=cert.signed_at,
                    sha256=cert.sha256,
                    download_url=f"/v1/certified-copies/{cert.id}",
                ),
            )
        )
    return ReuseOut(personal_id=personal_id, doc_type=doc_type.value if doc_type else None, results=results)


# ------------------------------------------------------------------------------------------- helpers


def _document(state: AppState, document_id: int) -> Any:
    document = document_by_id(state.records, document_id)
    if document is None:
        raise HTTPException(404, f"no document {document_id}")
    return document


def _certified_row(state: AppState, copy_id: int) -> dict[str, Any]:
    c = certified_copy_by_id(state.records, copy_id)
    if c is None:
        raise HTTPException(404, f"no certified copy {copy_id}")
    return {"object_key": c.object_key, "certification_number": c.certification_number, "sha256": c.sha256}


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, f in fields.items():
        if isinstance(f, dict):
            out[name] = {k: v for k, v in f.items() if k in ("value", "confidence", "needs_review", "reason", "valid")}
        else:
            out[name] = {"value": None if f is None else str(f)}
    return out


def _document_out(d: Any, result_codes: dict[int, str] | None = None) -> DocumentOut:
    fields = _fields(d.fields)
    return DocumentOut(
        result_code=(result_codes or {}).get(d.id),
        id=d.id,
        dossier_code=d.dossier_code,
        doc_type=d.doc_type,
        type_confidence=d.type_confidence,
        personal_id=d.personal_id,
        review_state=d.review_state,
        needs_review=sorted(n for n, f in fields.items() if f.get("needs_review")),
        fields=fields,
        page_count=d.page_count,
        pdf_sha256=d.pdf_sha256,
        reused_from=d.reused_from,
        created=d.created,
        certified_copies=[
            CertifiedCopyOut(
                id=c.id,
                document_id=d.id,
                certification_number=c.certification_number,
                signer=c.signer,
                signed_at=c.signed_at,
                timestamp=c.timestamp,
                sha256=c.sha256,
                size=c.size,
                download_url=f"/v1/certified-copies/{c.id}",
            )
            for c in d.certified
        ],
    )
