"""Results of procedures, reuse as an act, the owner's store and the national-portal export.

The workflow system (the province's TTHC system) registers where a dossier was received, posts the
result its agency issued, records the components it took from earlier digitized papers instead of
having them scanned again, reads an owner's store and exports a dossier for the national portal.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.app import AppState, state_of
from api.auth import Principal, Role, require
from api.budget import OverBudget, ParseBudget, Refused, run_budgeted
from api.routes.stations import CODE, ERRORS
from api.routes.workflow import MAX_ID, NOT_FOUND, Purpose, WorkflowKey, _attachment
from api.uploads import UploadRefused
from core.errors import ExternalToolError, InputError
from core.model import nfc
from core.settings import Settings
from flow.run import analyse_document, ocr_pages
from flow.steps import fields_to_dict, signed_original_summary
from pipeline.executor import PageBudget, ProcessPoolPageExecutor
from pipeline.ingest import ContentBomb, read_bytes
from signing.keys import trust_config
from signing.stamp import VIETNAM_TIME
from signing.verify import NO_SIGNATURE, verify_pdf
from storage.components import (
    Place,
    components_of,
    declare_paper,
    owner_documents,
    record_reuse,
    set_reception,
)
from storage.export import export_dossier
from storage.records import document_by_id
from storage.results import (
    CodeIssuer,
    ResultFile,
    TextSource,
    check_owner_id,
    check_result_type,
    dossier_results,
    record_result,
)
from storage.trail import record_access

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["workflow"])

StationOrWorkflow = Annotated[Principal, Depends(require(Role.WORKFLOW, Role.STATION))]
DossierCode = Annotated[str, Path(pattern=CODE.pattern, description="the dossier code (mã hồ sơ)")]
BAD_INPUT = {422: {"description": "the request was refused, with the reason in one line"}}


class ReceptionIn(BaseModel):
    """Where and when a dossier was received. Give the post-2025 codes, or the printed address of the
    receiving commune and sohoa derives them from the register of administrative units."""

    procedure_code: str | None = Field(None, max_length=64, description="MaTTHC")
    agency: str | None = Field(None, max_length=255, description="the receiving agency")
    commune_code: str | None = Field(None, max_length=16, description="post-2025 commune code (5 digits)")
    province_code: str | None = Field(None, max_length=8, description="post-2025 province code (2 digits)")
    address: str | None = Field(None, max_length=500, description="the receiving commune as printed")
    received_at: datetime | None = Field(None, description="when the dossier was received (a new dossier only)")


class ComponentIn(BaseModel):
    """A component not scanned at reception: taken from an earlier digitized paper
    (``reuse_document_id``), or handed in on paper only (``doc_type`` with ``paper: true``)."""

    reuse_document_id: int | None = Field(None, ge=1, le=MAX_ID)
    doc_type: str | None = Field(None, max_length=64)
    paper: bool = False
    procedure_code: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=500)


def _place_of(body: ReceptionIn) -> Place:
    """The codes as given; from the printed address when none are given."""
    if body.address and not body.commune_code:
        from classifiers.places import match_place

        match = match_place(body.address)
        if match is None:
            raise InputError("the address names no province or commune of the register of administrative units")
        return Place(commune_code=match.commune_code_2025, province_code=body.province_code or match.province_code_2025,
                     commune_name=match.commune_2025, address=match.printed, confidence=round(match.confidence, 3),
                     ambiguous=match.ambiguous)
    return Place(commune_code=body.commune_code, province_code=body.province_code,
                 address=nfc(body.address) if body.address else None, confidence=1.0 if body.commune_code else None)


@router.put("/dossiers/{code}/reception", summary="Where and when a dossier was received",
            responses={**ERRORS, **BAD_INPUT})
def put_reception(code: DossierCode, body: ReceptionIn, request: Request, principal: WorkflowKey) -> dict[str, Any]:
    """Creates the dossier if sohoa does not know it yet; the place is kept beside it for the figures."""
    state = state_of(request)
    return set_reception(state.records, code, actor=principal.actor, procedure_code=body.procedure_code,
                         agency=body.agency, place=_place_of(body), received=body.received_at)


@dataclass(frozen=True)
class ResultReading:
    """What reading a result's PDF found, as it comes back from its parse process: plain values only.
    ``scanned`` counts the pages without a text layer; ``text`` is None while they wait for OCR."""

    page_count: int
    scanned: int
    text: str | None
    text_source: TextSource
    fields: dict[str, Any]
    signatures: dict[str, Any] | None


def read_result(data: bytes, name: str, result_type: str, settings: Settings, ocr: bool) -> ResultReading:
    """The result's pages, its text (its own text layer; OCR of the pages without one only when
    ``ocr``), the fields of its type and its signatures. Runs in a parse process under the API's
    budget (:mod:`api.budget`): the file is the caller's choice, and so is what parsing it costs.
    Without ``ocr``, a result with scanned pages comes back with its signatures and page count but no
    text, so that the OCR is asked for under a budget sized to those pages."""
    try:
        pages = read_bytes(data, name, max_pages=settings.max_pages_per_file, max_bytes=settings.max_file_bytes)
        scanned = sum(1 for p in pages if not p.born_digital)
        signatures = None if ocr else _signatures(data, settings)
        if scanned and not ocr:
            return ResultReading(len(pages), scanned, None, TextSource.OCR, {}, signatures)
        source = TextSource.TEXT_LAYER
        if scanned:
            # One page after another in this process: its CPU time is the budget's to count, and a
            # parse process may not start a pool of its own.
            executor = ProcessPoolPageExecutor(1, PageBudget(seconds=settings.page_seconds))
            pages = ocr_pages(pages, settings, executor)
            source = TextSource.OCR
    except ContentBomb as exc:
        raise UploadRefused(413, str(exc)) from exc
    except InputError as exc:
        raise UploadRefused(422, str(exc)) from exc
    except ExternalToolError as exc:
        raise UploadRefused(503, f"{name}: the result could not be read now ({exc}); try again later") from exc
    fields: dict[str, Any] = {}
    try:
        document = analyse_document(pages)
        if document.doc_type == result_type:
            fields = fields_to_dict(document)
    except Exception as exc:  # noqa: BLE001 - fields are a bonus; the result is recorded without them
        log.warning("%s: fields not extracted (%s)", name, type(exc).__name__)
    text = "\f".join(p.text or "" for p in pages)
    return ResultReading(len(pages), scanned, text, source, fields, signatures)


def _signatures(data: bytes, settings: Settings) -> dict[str, Any] | None:
    if b"/ByteRange" not in data:
        return None
    trust = trust_config(settings)
    report = verify_pdf(data, roots=list(trust.roots), allow_fetching=False, intermediates=trust.intermediates,
                        tsa_roots=trust.tsa_roots, policy=trust.policy)
    if NO_SIGNATURE in report.reasons and not report.signatures:
        return None
    return signed_original_summary(report)


def _ocr_budget(base: ParseBudget, settings: Settings, scanned: int) -> ParseBudget:
    """The parse budget with each scanned page's OCR on top (SOHOA_PAGE_SECONDS a page): a scanned
    result of ten pages is honest work, a born-digital one needs none of it."""
    per_page = settings.page_seconds or 120
    return replace(base, cpu_seconds=base.cpu_seconds + per_page * scanned,
                   wall_seconds=base.wall_seconds + per_page * scanned)


def _budgeted_reading(state: AppState, data: bytes, name: str, result_type: str) -> ResultReading:
    """:func:`read_result` in a parse process, away from the request threads: first the file and its
    signatures under the parse budget, then, only if some pages are scans, their OCR under a budget
    grown by those pages. A file over budget is refused with the reason."""
    budget = state.api.parse_budget()
    try:
        reading = run_budgeted(read_result, data, name, result_type, state.settings, False, budget=budget)
        if reading.text is None:
            budget = _ocr_budget(budget, state.settings, reading.scanned)
            signatures = reading.signatures
            reading = replace(run_budgeted(read_result, data, name, result_type, state.settings, True, budget=budget),
                              signatures=signatures)
    except Refused as exc:
        raise UploadRefused(exc.status, exc.message) from exc
    except OverBudget as exc:
        log.warning("result %s: reading stopped over its budget: %s", hashlib.sha256(data).hexdigest()[:12], exc)
        raise UploadRefused(422, f"{name}: refused: reading the result was stopped because {exc} "
                                 "(SOHOA_API_PARSE_*); it was not recorded") from exc
    except RuntimeError as exc:
        log.error("result %s: reading failed: %s", hashlib.sha256(data).hexdigest()[:12], exc)
        raise UploadRefused(422, f"{name}: the result could not be read; it was not recorded") from exc
    return reading


@router.post("/dossiers/{code}/results", status_code=201, summary="Record the result of a procedure",
             responses={**ERRORS, **BAD_INPUT})
async def post_result(
    code: DossierCode,
    request: Request,
    principal: WorkflowKey,
    file: Annotated[UploadFile, File(description="the result as issued (a PDF, kept byte for byte)")],
    owner_id: Annotated[str, Form(description="the owner's personal ID (12 digits) or enterprise code (10)")],
    result_type: Annotated[str, Form(description="the paper's type, e.g. birth_certificate")],
    valid_from: Annotated[date | None, Form()] = None,
    valid_until: Annotated[date | None, Form()] = None,
    procedure_code: Annotated[str | None, Form(max_length=64)] = None,
) -> JSONResponse:
    """Keeps the file as is, reads its text layer (OCR only where a page has none), verifies its
    signatures, gives it a digitization result code and offers it to its owner for reuse."""
    state = state_of(request)
    owner_id, result_type = check_owner_id(owner_id), check_result_type(result_type)
    data = await file.read()
    name = nfc(file.filename or "ket-qua.pdf")
    if not data.startswith(b"%PDF-"):
        raise InputError(f"{name}: a result is a PDF file")
    result = await run_in_threadpool(_prepare, state, code, data, name, owner_id, result_type,
                                     valid_from, valid_until, procedure_code)
    codes = CodeIssuer(agency_code=state.settings.agency_code, fmt=state.settings.result_code_format,
                       day=datetime.now(VIETNAM_TIME).date())
    recorded = await run_in_threadpool(record_result, state.records, state.store, result, actor=principal.actor,
                                       codes=codes)
    body = recorded.as_json()
    body["download_url"] = f"/v1/documents/{recorded.document_id}/file"
    return JSONResponse(body, status_code=200 if recorded.existed else 201,
                        headers={"Location": body["download_url"]})


def _prepare(state: AppState, code: str, data: bytes, name: str, owner_id: str, result_type: str,
             valid_from: date | None, valid_until: date | None, procedure_code: str | None) -> ResultFile:
    reading = _budgeted_reading(state, data, name, result_type)
    return ResultFile(dossier_code=code, owner_id=owner_id, result_type=result_type, name=name, data=data,
                      page_count=reading.page_count, text=reading.text or "", text_source=reading.text_source,
                      fields=reading.fields, signatures=reading.signatures, valid_from=valid_from,
                      valid_until=valid_until, procedure_code=procedure_code)


@router.get("/dossiers/{code}/results", summary="The results recorded for a dossier", responses={**ERRORS, **BAD_INPUT})
def get_results(code: DossierCode, request: Request, _principal: WorkflowKey) -> dict[str, Any]:
    found = dossier_results(state_of(request).records, code)
    return {"dossier_code": code, "results": [
        {**r.as_json(), "download_url": f"/v1/documents/{r.document_id}/file"} for r in found]}


@router.post("/dossiers/{code}/components", status_code=201, summary="Record a component reused or on paper",
             responses={**ERRORS, **BAD_INPUT})
def post_component(code: DossierCode, body: ComponentIn, request: Request,
                   principal: StationOrWorkflow) -> JSONResponse:
    """Reuse as an act: the component is the earlier digitized paper ``reuse_document_id`` (kept at
    both ends; the audit trail says who reused what). A paper no longer valid, or still under
    review, is refused."""
    state = state_of(request)
    if body.reuse_document_id is not None:
        if body.paper:
            raise InputError("a reused component is not a paper one")
        info = record_reuse(state.records, code, body.reuse_document_id, actor=principal.actor,
                            procedure_code=body.procedure_code, note=body.note)
    elif body.paper and body.doc_type:
        info = declare_paper(state.records, code, body.doc_type, actor=principal.actor,
                             procedure_code=body.procedure_code, note=body.note)
    else:
        raise InputError("give reuse_document_id, or doc_type with paper: true")
    return JSONResponse(info.as_json(), status_code=200 if info.existed else 201)


@router.get("/dossiers/{code}/components", summary="Components reused or declared on paper",
            responses={**ERRORS, **BAD_INPUT})
def get_components(code: DossierCode, request: Request, _principal: StationOrWorkflow) -> dict[str, Any]:
    return {"dossier_code": code, "components": [c.as_json() for c in components_of(state_of(request).records, code)]}


ADDRESS_FIELDS = ("place_of_residence", "place_of_origin", "place_of_birth", "address", "registration_place",
                  "place_of_death")


def _places(fields: dict[str, Any]) -> dict[str, Any]:
    """Each address field as printed, with the post-2025 province and commune it names (from the
    register of administrative units), its confidence and whether an old ward was split."""
    from classifiers.places import match_place

    out = {}
    for name in ADDRESS_FIELDS:
        printed = fields.get(name)
        if not isinstance(printed, str) or not printed.strip():
            continue
        match = match_place(printed)
        out[name] = {"printed": printed} if match is None else {
            "printed": printed, "province_code_2025": match.province_code_2025,
            "commune_code_2025": match.commune_code_2025, "province_2025": match.province_2025,
            "commune_2025": match.commune_2025, "confidence": round(match.confidence, 3),
            "ambiguous": match.ambiguous, "candidates_2025": list(match.candidates_2025)}
    return out


@router.get("/owners/{owner_id}/documents", summary="The owner's data store", responses={**ERRORS, **BAD_INPUT})
def get_owner_documents(
    owner_id: Annotated[str, Path(pattern=r"^(\d{12}|\d{10})$", description="personal ID or enterprise code")],
    request: Request,
    principal: WorkflowKey,
    purpose: Purpose = None,
) -> dict[str, Any]:
    """Everything digitized or issued for one owner across dossiers, agencies and communes of the
    province, newest first, each saying whether it is valid today."""
    state = state_of(request)
    documents = [{**d, "places": _places(d["fields"])} for d in owner_documents(state.records, owner_id)]
    record_access(state.records, actor=principal.actor, action="owner.documents.read", subject=f"person:{owner_id}",
                  details={"found": len(documents), "purpose": purpose})
    return {"owner_id": owner_id, "documents": documents}


@router.get("/dossiers/{code}/export", summary="The dossier for the national public service portal",
            responses={**ERRORS, **BAD_INPUT})
def get_export(code: DossierCode, request: Request, principal: WorkflowKey) -> dict[str, Any]:
    """The portal's field names: DuocSoHoa, DuocTaiSuDung, the result codes, links the portal can
    reach (under SOHOA_PUBLIC_BASE_URL) and the statuses in Vietnamese."""
    state = state_of(request)
    data = export_dossier(state.records, state.store, code, public_base_url=state.settings.public_base_url)
    record_access(state.records, actor=principal.actor, action="dossier.exported", subject=f"dossier:{code}",
                  details={"papers": len(data["DanhSachGiayToKetQua"])})
    return data


@router.get("/documents/{document_id}/file", summary="The stored file of a document or result",
            response_class=Response, responses={**ERRORS, **NOT_FOUND})
def get_document_file(document_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request,
                      principal: WorkflowKey, purpose: Purpose = None) -> Response:
    """A result as issued (byte for byte), or a received paper's searchable PDF/A."""
    state = state_of(request)
    document = document_by_id(state.records, document_id)
    if document is None:
        raise HTTPException(404, f"no document {document_id}")
    record_access(state.records, actor=principal.actor, action="document.downloaded",
                  subject=f"document:{document_id}", details={"purpose": purpose})
    data = state.store.get_bytes(document.pdf_key)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": _attachment(f"{document.dossier_code}-{document.doc_type}-{document_id}.pdf"),
        "X-Content-SHA256": document.pdf_sha256,
    })


