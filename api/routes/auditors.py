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
from api.budget import OverBudget, Refused, run_budgeted
from api.routes.stations import CODE, ERRORS
from api.schemas import AuditEventOut, AuditOut, ChainOut, Problem, VerificationOut
from api.uploads import UploadRefused, display_name, receive_multipart, remove_spool
from core.settings import Settings
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
    spool = state.api.spool(state.settings) / f"verify-{os.urandom(8).hex()}"
    try:
        path, name, sha = await _spool_pdf(request, state, spool)
        _check_tail(path, name)
        body = await run_in_threadpool(_verify, state, path, name, sha, expected_sha256)
    finally:
        remove_spool(spool)
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


async def _spool_pdf(request: Request, state: AppState, spool: FsPath) -> tuple[FsPath, str, str]:
    """The PDF written to ``spool`` as it arrives, never held in memory: its path, its display name
    and its SHA-256. Past the per-file limit the upload stops with 413."""
    limits = state.api.limits(state.settings)
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        one = replace(limits, max_files=1, max_batch_bytes=limits.max_file_bytes)
        form = await receive_multipart(request.stream(), request.headers.get("content-type"), spool, one)
        if not form.files:
            raise UploadRefused(422, "no file: send the PDF in the 'file' field")
        f = form.files[0]
        if f.kind != "pdf":
            raise UploadRefused(415, f"{f.name}: not a PDF file (by its first bytes)")
        return f.path, f.name, f.sha256
    if ctype not in ("application/pdf", "application/octet-stream"):
        raise UploadRefused(415, "send the PDF as application/pdf or as multipart/form-data")
    raw_name = request.headers.get("x-file-name")
    name = display_name(unquote(raw_name), 0) if raw_name else "upload.pdf"
    spool.mkdir(parents=True, exist_ok=False)
    path = spool / "000.pdf"
    digest = hashlib.sha256()
    size = 0
    head = b""
    with path.open("xb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_file_bytes:
                raise UploadRefused(413, f"larger than the limit of {limits.max_file_bytes / 2**20:.0f} MiB")
            if len(head) < 1024:
                head += chunk[: 1024 - len(head)]
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise UploadRefused(422, "the body is empty: send the PDF")
    if b"%PDF-" not in head:
        raise UploadRefused(415, f"{name}: not a PDF file (by its first bytes)")
    return path, name, digest.hexdigest()


TAIL_BYTES = 4096


def _check_tail(path: FsPath, name: str) -> None:
    """A PDF ends with the offset of its cross-reference table (``startxref``), a signed one with
    that of its last signature's revision; a file without one is not a whole PDF, and is refused
    at once rather than handed to a verifier that would search the whole file for its structure
    (40 MB of it took 36 s of CPU)."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - TAIL_BYTES))
        tail = fh.read()
    if b"startxref" not in tail:
        raise UploadRefused(422, f"{name}: not a complete PDF (no cross-reference offset at its end); "
                                 "it may have been cut short")


def _verify(state: AppState, path: FsPath, name: str, sha: str, expected_sha256: str | None) -> VerificationOut:
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
        checked = run_budgeted(
            verify_file, str(path), state.settings, expected_sha256.lower() if expected_sha256 else None,
            bool(matches), state.api.verify_fetch, budget=state.api.parse_budget(),
        )
    except OverBudget as exc:
        log.warning("verify %s: stopped over its budget: %s", sha[:12], exc)
        raise UploadRefused(422, f"{name}: refused: checking this file was stopped because {exc} "
                                 "(SOHOA_API_PARSE_*); a certified copy is checked in well under that") from exc
    except (RuntimeError, Refused) as exc:  # a file the verifier trips over: the auditor still gets a verdict
        log.warning("verify %s: the verifier failed: %s", sha[:12], exc)
        return VerificationOut(
            file_name=name,
            sha256=sha,
            verdict="could_not_check",
            exit_code=2,
            report={"status": "INDETERMINATE", "reasons": ["VERIFIER_ERROR"], "signatures": [],
                    "record_match": True if matches else None, "sha256": sha, "level": None,
                    "messages": [f"the file could not be checked: {str(exc)[:200]}"]},
            records=records,
        )
    return VerificationOut(
        file_name=name,
        sha256=sha,
        verdict=VERDICTS.get(checked["status"], "could_not_check"),  # type: ignore[arg-type]
        exit_code=checked["exit_code"],
        report=checked["report"],
        records=records,
    )


def verify_file(path: str, settings: Settings, expected_sha256: str | None, matched: bool,
                allow_fetching: bool) -> dict[str, Any]:
    """The verification itself, as run in the budgeted process (see :mod:`api.budget`): the file
    is read there, once, and only the report's plain values come back."""
    data = FsPath(path).read_bytes()
    trust = trust_config(settings)
    report = verify_pdf(
        data,
        roots=list(trust.roots),
        intermediates=trust.intermediates,
        tsa_roots=trust.tsa_roots,
        policy=trust.policy,
        expected_sha256=expected_sha256,
        record_lookup=None if expected_sha256 else (lambda _sha: True if matched else None),
        allow_fetching=allow_fetching,
    )
    return {"status": report.status, "exit_code": report.exit_code, "report": report.to_dict()}
