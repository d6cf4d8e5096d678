"""Stations: upload the scans of a dossier, then follow their processing.

The upload is answered 202 as soon as the files are on disk and checked; OCR runs afterwards in a
job process. A station sees only its own batches: another station's batch id answers 404, exactly
as an id that does not exist, so ids reveal nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from api.app import state_of
from api.auth import Principal, Role, require
from api.budget import ParseBudget
from api.db import write_lock
from api.jobs import rename
from api.schemas import BatchAccepted, BatchList, BatchOut, BatchState, Problem
from api.uploads import ReceivedFile, UploadRefused, inspect_files, receive_multipart, remove_spool
from core.model import BatchStatus, nfc
from storage.batches import (
    BatchRecord,
    BatchReport,
    batch_report,
    find_by_idempotency_key,
    record_upload,
    reports,
    retire_idempotency_key,
)
from storage.batches import (
    list_batches as list_records,
)
from storage.models import Batch, Document, Station
from storage.progress import StageProgress, current_stage, stage_progress

router = APIRouter(prefix="/v1", tags=["stations"])

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["dossier_code", "files"],
                    "properties": {
                        "dossier_code": {
                            "type": "string", "pattern": CODE.pattern,
                            "description": "the dossier code (mã hồ sơ), e.g. 000.00.19.H99-261124-0001",
                        },
                        "procedure_code": {
                            "type": "string", "pattern": CODE.pattern,
                            "description": "the administrative procedure code (mã TTHC), e.g. 1.001612",
                        },
                        "certify": {
                            "type": "boolean", "default": False,
                            "description": "also make a certified copy of every document while processing",
                        },
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "PDF, TIFF, JPEG or PNG scans (type checked by content, not by name)",
                        },
                    },
                },
                "encoding": {"files": {"contentType": "application/pdf, image/tiff, image/jpeg, image/png"}},
            }
        },
    }
}

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no API key, or not a valid one"},
    403: {"model": Problem, "description": "the key's role does not admit this call"},
}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    400: {"model": Problem, "description": "malformed multipart body"},
    409: {"model": Problem, "description": "the Idempotency-Key was used before for a different upload"},
    413: {"model": Problem, "description": "a file, page count or page size above the limits"},
    415: {"model": Problem, "description": "not a PDF, TIFF, JPEG or PNG file"},
    422: {"model": Problem, "description": "missing fields, or a file that cannot be read"},
}

StationKey = Annotated[Principal, Depends(require(Role.STATION))]


@router.post(
    "/batches",
    status_code=202,
    response_model=BatchAccepted,
    summary="Upload the scans of one dossier",
    responses={200: {"model": BatchAccepted, "description": "a retried upload: the batch made the first time"},
               **UPLOAD_ERRORS},
    openapi_extra=UPLOAD_BODY,
)
async def upload_batch(
    request: Request,
    principal: StationKey,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="any unique string per upload; a retry with the same key and the same files is not "
            "processed again and answers with the first batch, unless that batch failed: then the retry "
            "is a new batch (202) and the key moves to it",
        ),
    ] = None,
) -> JSONResponse:
    """Files are streamed to disk and checked (type by content, size, pages, pixel bombs); the answer
    comes before any OCR, with the batch id to poll. Refused uploads leave nothing behind."""
    started = time.perf_counter()
    state = state_of(request)
    limits = state.api.limits(state.settings)
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise UploadRefused(400, "Idempotency-Key must be 1–255 visible ASCII characters")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise UploadRefused(400, "Content-Length is not a number")
        if int(length) > limits.max_batch_bytes + 1024 * 1024:
            raise UploadRefused(
                413, f"the upload is larger than the limit of {limits.max_batch_bytes / 2**20:.0f} MiB per batch"
            )
    batch_id = uuid.uuid4().hex
    spool = state.api.spool(state.settings) / batch_id
    keep = False
    try:
        form = await receive_multipart(request.stream(), request.headers.get("content-type"), spool, limits)
        dossier_code = _code(form.fields.get("dossier_code"), "dossier_code", required=True)
        procedure_code = _code(form.fields.get("procedure_code"), "procedure_code", required=False)
        certify = _flag(form.fields.get("certify"), "certify")
        if not form.files:
            raise UploadRefused(422, "no files: send one or more scans in the 'files' field")
        values = {
            "public_id": batch_id, "station": principal.name, "idempotency_key": idempotency_key,
            "fingerprint": _fingerprint(dossier_code, procedure_code, certify, form.files),
            "dossier_code": dossier_code, "procedure_code": procedure_code, "certify": certify,
            "spool_dir": str(spool), "official": principal.official,  # signs the scans (Circular 01/2023)
        }
        record, replayed = await run_in_threadpool(_check_and_record, state.records, form.files, limits, values,
                                                   state.api.parse_budget())
        keep = not replayed
    finally:
        if not keep:
            remove_spool(spool)
    if not replayed:
        state.runner.submit(batch_id)
    body = BatchAccepted(
        id=record.public_id,
        status=record.status,
        dossier_code=record.dossier_code or "",
        files=[_file_out(f) for f in record.files],
        replayed=replayed,
        status_url=f"/v1/batches/{record.public_id}",
    )
    headers = {"Location": body.status_url,
               "Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.1f}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if replayed else 202, headers=headers)


@router.get("/batches/{batch_id}", response_model=BatchOut, summary="Progress and results of one batch",
            responses={**ERRORS, 404: {"model": Problem, "description": "no such batch for this station"}})
def get_batch(batch_id: str, request: Request, principal: StationKey) -> BatchOut:
    """Progress, then the documents, read from the records whichever runner processes the batch."""
    db = state_of(request).records
    report = batch_report(db, batch_id, station=principal.name)
    if report is None:
        raise HTTPException(404, f"no batch {batch_id} for station {principal.name}")
    return batch_out(report, own_documents(db, principal.name, [report]), stages=stage_progress(db, report.batch.id))


@router.get("/batches", response_model=BatchList, summary="This station's recent batches", responses=ERRORS)
def list_batches(
    request: Request,
    principal: StationKey,
    status: Annotated[BatchState | None, Query(description="only batches in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BatchList:
    db = state_of(request).records
    found = list_records(db, station=principal.name, status=BatchStatus(status) if status else None, limit=limit)
    found_reports = reports(db, found)
    own = own_documents(db, principal.name, found_reports)
    return BatchList(batches=[batch_out(r, own, stages=stage_progress(db, r.batch.id)) for r in found_reports])


# ------------------------------------------------------------------------------------------- helpers


def _progress(report: BatchReport, stages: list[StageProgress] | None) -> dict[str, Any]:
    """Pages, and each stage with the first one not finished named: the share done moves through
    every stage, not the pages alone (which reached 100% long before the documents were done)."""
    total, done = report.pages_total, report.pages_done
    body: dict[str, Any] = {"pages_total": total, "pages_done": min(done, total) if total else done,
                            "percent": round(100.0 * min(done, total) / total, 1) if total else 0.0}
    if stages is not None:
        shares = [min(1.0, s.done / s.total) if s.total else (1.0 if s.total == 0 else 0.0) for s in stages]
        finished = report.batch.status == BatchStatus.DONE
        body["percent"] = 100.0 if finished else round(100.0 * sum(shares) / len(shares), 1)
        body["stage"] = None if finished else current_stage(stages)
        body["stages"] = [{"stage": s.stage, "done": s.done, "total": s.total} for s in stages]
    return body


def _code(value: str | None, name: str, *, required: bool) -> str | None:
    if not value:
        if required:
            raise UploadRefused(422, f"{name} is required")
        return None
    if not CODE.fullmatch(value):
        raise UploadRefused(
            422, f"{name} must be 1–64 letters, digits, '.', '-' or '_' (got {value[:70]!r})"
        )
    return value


def _flag(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise UploadRefused(422, f"{name} must be true or false")


def _check_and_record(
    db: Any, files: list[ReceivedFile], limits: Any, values: dict[str, Any], budget: ParseBudget
) -> tuple[BatchRecord, bool]:
    """One trip to a worker thread: a retry is answered from its first batch without inspecting
    the files again; a new upload is inspected, then recorded ``queued``."""
    key = values["idempotency_key"]
    if key is not None:
        existing = find_by_idempotency_key(db, values["station"], key)
        if existing is not None:
            _replay(existing, values["fingerprint"])
            if existing.status != BatchStatus.FAILED:
                return existing, True
            # The same upload again after its batch failed: a new attempt, not the failure replayed.
            retire_idempotency_key(db, existing.public_id)
    inspect_files(files, limits, budget)
    with write_lock:
        record, created = record_upload(db, files=[f.to_dict() for f in files], **values)
    if not created:  # another request with the same key got in first
        return _replay(record, values["fingerprint"]), True
    return record, False


def _fingerprint(dossier: str, procedure: str | None, certify: bool, files: list[ReceivedFile]) -> str:
    material = json.dumps([dossier, procedure, certify, [(f.name, f.sha256) for f in files]], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def _replay(existing: BatchRecord, fingerprint: str) -> BatchRecord:
    if existing.fingerprint != fingerprint:
        raise UploadRefused(409, "this Idempotency-Key was already used for a different upload (other files or codes)")
    return existing


_FILE_KEYS = ("name", "size", "sha256", "media_type", "pages")


def _file_out(f: dict[str, Any]) -> dict[str, Any]:
    """What a client sees of a file it sent (not where the spool kept it)."""
    return {k: f.get(k) for k in _FILE_KEYS}


def own_documents(db: Any, station: str, found: list[BatchReport]) -> set[int]:
    """Of the documents these batches reuse, those made from this station's own uploads. A reused
    document may belong to another station's dossier: its id is that dossier's business, and a
    station learning it could probe for it, so only the station's own earlier documents are named."""
    ids = {d.reused_from for r in found for d in r.documents if d.reused_from is not None}
    if not ids:
        return set()
    with db.session() as session:
        return set(session.scalars(
            select(Document.id)
            .join(Batch, Document.batch_id == Batch.id)
            .join(Station, Batch.station_id == Station.id)
            .where(Document.id.in_(ids), Station.code == nfc(station))
        ))


def batch_out(report: BatchReport, own: set[int] | None = None, stages: list[StageProgress] | None = None) -> BatchOut:
    """The batch as its station sees it; ``reused_from`` only where it names a document in ``own``
    (see :func:`own_documents`; None shows none)."""
    b = report.batch
    names = {f["spool_name"]: f["name"] for f in b.files if f.get("spool_name")}
    spool = Path(b.spool_dir) if b.spool_dir else None
    error = b.error
    if error is None and b.status == BatchStatus.FAILED and b.errors:
        error = rename("; ".join(b.errors), names, spool)
    return BatchOut(
        id=b.public_id,
        status=b.status,
        station=b.station,
        dossier_code=b.dossier_code or "",
        procedure_code=b.procedure_code,
        files=[_file_out(f) for f in b.files],
        progress=_progress(report, stages),
        documents=[
            {
                "index": d.index, "document_id": d.document_id, "doc_type": d.doc_type, "confidence": d.confidence,
                "pages": list(d.pages), "fields": d.fields, "needs_review": list(d.needs_review), "sha256": d.sha256,
                "certification_number": d.certification_number, "reused_from": d.reused_from if own and d.reused_from in own else None,
            }
            for d in report.documents
        ],
        error=error,
        record_batch_id=b.id,
        created=b.created,
        started=b.started,
        finished=b.finished,
    )
