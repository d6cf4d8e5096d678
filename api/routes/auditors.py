"""Auditors: verification reports for uploaded PDFs, the audit trail, and a small page for people.

Verification fetches nothing from addresses named inside the uploaded file: a PDF's certificates
are the uploader's choice, and letting them steer the server's outgoing requests would hand any
auditor key a way to probe the internal network. Only what the file embeds is used; a copy without
embedded revocation data (B-B, B-T) gets ``could_not_check`` (``TRY_LATER``), a B-LT/B-LTA copy
is checked completely. ``SOHOA_API_VERIFY_FETCH=true`` allows fetching, behind an egress policy.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.app import AppState, state_of
from api.auth import Principal, Role, require
from api.routes.stations import CODE, ERRORS
from api.schemas import AuditEventOut, AuditOut, ChainOut, Problem, VerificationOut
from api.uploads import UploadRefused, display_name, receive_multipart, remove_spool
from signing.keys import trust_config
from signing.verify import verify_pdf
from storage.audit import verify_chain
from storage.records import find_by_sha256
from storage.trail import audit_events, dossier_subjects, record_access

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["auditors"])
page = APIRouter(include_in_schema=False)

AuditorKey = Annotated[Principal, Depends(require(Role.AUDITOR))]
VERDICTS = {"PASSED": "valid", "FAILED": "invalid"}
PAGE = FsPath(__file__).resolve().parent.parent / "static" / "auditor.html"

VERIFY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "the PDF"}},
                }
            },
        },
    }
}


@router.post(
    "/verify",
    response_model=VerificationOut,
    summary="Verify a certified PDF",
    openapi_extra=VERIFY_BODY,
    responses={
        **ERRORS,
        400: {"model": Problem, "description": "malformed body"},
        413: {"model": Problem, "description": "larger than the per-file limit"},
        415: {"model": Problem, "description": "not a PDF"},
        422: {"model": Problem, "description": "empty body"},
    },
)
async def verify(
    request: Request,
    principal: AuditorKey,
    expected_sha256: Annotated[
        str | None,
        Query(pattern=r"^[0-9a-fA-F]{64}$", description="the hash the dossier record holds, if the auditor has it"),
    ] = None,
) -> VerificationOut:
    """Signature integrity, signer and chain to the configured roots, revocation, timestamp, changes
    after signing, and whether the file is one the dossier records hold. Send the PDF as the body
    (``Content-Type: application/pdf``) or as the ``file`` field of a multipart form."""
    state = state_of(request)
    data, name = await _read_pdf(request, state)
    if b"%PDF-" not in data[:1024]:
        raise UploadRefused(415, f"{name}: not a PDF file (by its first bytes)")
    body = await run_in_threadpool(_verify, state, data, name, expected_sha256)
    log.info("verify %s by %s: %s", body.sha256[:12], principal.actor, body.verdict)
    await run_in_threadpool(record_access, state.records, actor=principal.actor, action="file.verified",
                            subject=f"file:{body.sha256}", details={"verdict": body.verdict, "name": name})
    return body


@router.get("/audit", response_model=AuditOut, summary="The audit trail, with its hash chain checked",
            responses={**ERRORS, 404: {"model": Problem, "description": "no such dossier"}})
def audit(
    request: Request,
    _principal: AuditorKey,
    dossier: Annotated[str | None, Query(pattern=CODE.pattern, description="only events about this dossier")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> AuditOut:
    """The chain is checked over the whole log (an event removed anywhere breaks it), then the
    events about the dossier (its batches, source files, documents and certified copies) are listed."""

    db = state_of(request).records
    chain = verify_chain(db)
    subjects = None
    if dossier is not None:
        subjects = dossier_subjects(db, dossier)
        if subjects is None:
            raise HTTPException(404, f"no dossier {dossier}")
    out = [
        AuditEventOut(seq=e.seq, at=e.at, actor=e.actor, action=e.action, subject=e.subject,
                      details=e.details, hash=e.hash, prev_hash=e.prev_hash)
        for e in audit_events(db, subjects=subjects, limit=limit)
    ]
    return AuditOut(
        dossier=dossier,
        chain=ChainOut(ok=chain.ok, events=chain.events, last_hash=chain.last_hash,
                       first_broken_seq=chain.first_broken_seq, reason=chain.reason),
        events=out,
    )


@page.get("/auditor", response_class=HTMLResponse)
def auditor_page() -> HTMLResponse:
    """A page for people: drop a PDF, read the report. The key is typed in and kept in the tab only."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={
        "Content-Security-Policy": "default-src 'none'; script-src 'self' 'unsafe-inline'; "
        "style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    })


@page.get("/", include_in_schema=False)
def root() -> HTMLResponse:
    return HTMLResponse('<p>sohoa API: <a href="/docs">documentation</a> · <a href="/auditor">auditor page</a></p>')


# ------------------------------------------------------------------------------------------- helpers


async def _read_pdf(request: Request, state: AppState) -> tuple[bytes, str]:
    limits = state.api.limits(state.settings)
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        spool = state.api.spool(state.settings) / f"verify-{os.urandom(8).hex()}"
        try:
            one = replace(limits, max_files=1, max_batch_bytes=limits.max_file_bytes)
            form = await receive_multipart(request.stream(), request.headers.get("content-type"), spool, one)
            if not form.files:
                raise UploadRefused(422, "no file: send the PDF in the 'file' field")
            f = form.files[0]
            if f.kind != "pdf":
                raise UploadRefused(415, f"{f.name}: not a PDF file (by its first bytes)")
            return f.path.read_bytes(), f.name
        finally:
            remove_spool(spool)
    if ctype not in ("application/pdf", "application/octet-stream"):
        raise UploadRefused(415, "send the PDF as application/pdf or as multipart/form-data")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limits.max_file_bytes:
            raise UploadRefused(413, f"larger than the limit of {limits.max_file_bytes / 2**20:.0f} MiB")
    if not data:
        raise UploadRefused(422, "the body is empty: send the PDF")
    raw_name = request.headers.get("x-file-name")
    name = display_name(unquote(raw_name), 0) if raw_name else "upload.pdf"
    return bytes(data), name


def _verify(state: AppState, data: bytes, name: str, expected_sha256: str | None) -> VerificationOut:
    sha = hashlib.sha256(data).hexdigest()
    matches = find_by_sha256(state.records, sha)
    records = [
        {
            "kind": m.kind,
            "dossier_code": m.document.dossier_code,
            "document_id": m.document.id,
            "doc_type": m.document.doc_type,
            "certification_number": m.certified.certification_number if m.certified else None,
            "certified_copy_id": m.certified.id if m.certified else None,
        }
        for m in matches
    ]
    try:
        trust = trust_config(state.settings)
        report = verify_pdf(
            data,
            roots=list(trust.roots),
            intermediates=trust.intermediates,
            tsa_roots=trust.tsa_roots,
            expected_sha256=expected_sha256.lower() if expected_sha256 else None,
            record_lookup=None if expected_sha256 else (lambda _sha: True if matches else None),
            allow_fetching=state.api.verify_fetch,
        )
    except Exception as exc:  # a file the verifier trips over: the auditor still gets a verdict
        log.warning("verify %s: the verifier failed: %s", sha[:12], exc, exc_info=True)
        return VerificationOut(
            file_name=name,
            sha256=sha,
            verdict="could_not_check",
            exit_code=2,
            report={"status": "INDETERMINATE", "reasons": ["VERIFIER_ERROR"], "signatures": [],
                    "record_match": True if matches else None, "sha256": sha, "level": None,
                    "messages": [f"the file could not be checked: {type(exc).__name__}: {str(exc)[:200]}"]},
            records=records,
        )
    return VerificationOut(
        file_name=name,
        sha256=sha,
        verdict=VERDICTS.get(report.status, "could_not_check"),  # type: ignore[arg-type]
        exit_code=report.exit_code,
        report=report.to_dict(),
        records=records,
    )
