"""The certifying officer in the loop (``SOHOA_CERTIFY_BY_OFFICER=true``): a workflow system's
certified-copy request waits in a queue until an official with a ``certifier`` key compares the copy
with the original and confirms it — then it is numbered in the register and signed with that
officer's own key, their name on the stamp — or refuses it, with the reason.

Only ``certifier`` keys decide (another role: 403), and each carries the officer's full name: the
register, the stamp, the signature and the audit trail name the same person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.app import AppState, state_of
from api.auth import Principal, Role, require
from api.routes.stations import ERRORS
from api.schemas import CertifiedCopyOut, Problem
from flow import policy
from storage.certify_queue import (
    AlreadyDecided,
    CertifyRequest,
    RequestState,
    enqueue,
    get_request,
    list_requests,
    refuse,
)
from storage.models import Document, Dossier

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["certification"])

CertifierKey = Annotated[Principal, Depends(require(Role.CERTIFIER))]
NOT_FOUND = {404: {"model": Problem, "description": "no such request"}}
DECIDED = {409: {"model": Problem, "description": "the request was already decided"}}
HELD = {409: {"model": Problem, "description": "the request was already decided, or its paper is held "
                                               "until a verifier settles a disagreement in its dossier"}}
MAX_ID = 2**31 - 1


class CertifyRequestOut(BaseModel):
    id: int
    document_id: int
    dossier_code: str | None = Field(default=None, description="the dossier the document belongs to")
    doc_type: str | None = None
    pages: int | None = Field(default=None, description="the document's page count, to see each page")
    state: RequestState
    requested_by: str
    purpose: str | None = None
    requested: datetime
    officer: str | None = Field(default=None, description="the certifying officer who decided it")
    decided: datetime | None = None
    reason: str | None = Field(default=None, description="why it was refused, or why signing failed")
    certified_copy_id: int | None = None
    held: bool = Field(default=False, description="a waiting request whose paper another paper of its dossier "
                                                  "reads otherwise: confirm answers 409 until a verifier settles it")
    held_fields: list[str] = Field(default_factory=list, description="the fields the papers disagree on")
    url: str


class Refusal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="why the copy is not certified")


@dataclass(frozen=True)
class _DocumentSummary:
    dossier_code: str
    doc_type: str
    pages: int


def _summaries(state: AppState, document_ids: set[int]) -> dict[int, _DocumentSummary]:
    """What the officer needs to pick a request (dossier, type, pages), in one read for the list."""
    if not document_ids:
        return {}
    with state.records.session() as session:
        rows = session.execute(
            select(Document.id, Dossier.code, Document.doc_type, Document.page_count)
            .join(Dossier, Document.dossier_id == Dossier.id)
            .where(Document.id.in_(document_ids))
        )
        return {row[0]: _DocumentSummary(row[1], row[2], row[3]) for row in rows}


def _holds(state: AppState, requests: list[CertifyRequest]) -> dict[int, tuple[str, ...]]:
    """The waiting requests' papers the dossier's agreement check holds, with the fields in
    disagreement (their names only: the other paper's value is not the officer's to read here)."""
    return policy.agreement_holds(state.records, {r.document_id for r in requests if r.state is RequestState.WAITING})


def request_out(request: CertifyRequest, document: _DocumentSummary | None = None,
                held: tuple[str, ...] = ()) -> CertifyRequestOut:
    held = held if request.state is RequestState.WAITING else ()
    return CertifyRequestOut(
        held=bool(held), held_fields=list(held),
        id=request.id, document_id=request.document_id, state=request.state, requested_by=request.requested_by,
        dossier_code=document.dossier_code if document else None, doc_type=document.doc_type if document else None,
        pages=document.pages if document else None,
        purpose=request.purpose, requested=request.requested, officer=request.officer, decided=request.decided,
        reason=request.reason, certified_copy_id=request.certified_copy_id,
        url=f"/v1/certify-queue/{request.id}",
    )


def queue_request(state: AppState, principal: Principal, document_id: int, purpose: str | None) -> JSONResponse:
    """The answer to a certified-copy request when an officer must confirm it: 202 and where to
    follow it."""
    queued = enqueue(state.records, document_id=document_id, requested_by=principal.actor, purpose=purpose)
    out = request_out(queued)
    log.info("document %d: certified copy requested by %s, waiting for a certifying officer (request %d)",
             document_id, principal.actor, queued.id)
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.url})


def _officer(principal: Principal) -> str:
    if not principal.official:
        raise HTTPException(403, "this certifier key names no official; make the key with --official")
    return principal.official


def _request(state: AppState, request_id: int) -> CertifyRequest:
    request = get_request(state.records, request_id)
    if request is None:
        raise HTTPException(404, f"no certification request {request_id}")
    return request


@router.get("/certify-queue", response_model=list[CertifyRequestOut], summary="Certified-copy requests",
            responses=ERRORS)
def list_queue(
    request: Request,
    _principal: CertifierKey,
    state: Annotated[RequestState | None, Query(description="default: the waiting ones")] = RequestState.WAITING,
) -> list[CertifyRequestOut]:
    """A waiting request whose paper the dossier's agreement check holds is marked ``held``, with
    the fields in disagreement: the officer sees why a confirmation would be refused (409)."""
    app = state_of(request)
    requests = list_requests(app.records, state)
    documents = _summaries(app, {r.document_id for r in requests})
    holds = _holds(app, requests)
    return [request_out(r, documents.get(r.document_id), holds.get(r.document_id, ())) for r in requests]


@router.get("/certify-queue/{request_id}", response_model=CertifyRequestOut, summary="One request",
            responses={**ERRORS, **NOT_FOUND})
def get_one(request_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request,
            _principal: CertifierKey) -> CertifyRequestOut:
    state = state_of(request)
    one = _request(state, request_id)
    return request_out(one, _summaries(state, {one.document_id}).get(one.document_id),
                       _holds(state, [one]).get(one.document_id, ()))


@router.post(
    "/certify-queue/{request_id}/confirm",
    status_code=201,
    response_model=CertifiedCopyOut,
    summary="Confirm a request: the copy is certified and signed with the officer's key",
    responses={**ERRORS, **NOT_FOUND, **HELD, 503: {"model": Problem, "description": "the signer is not available"}},
)
def confirm(request_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request,
            principal: CertifierKey) -> JSONResponse:
    state = state_of(request)
    officer = _officer(principal)
    _request(state, request_id)
    try:
        with state.sign_lock:
            copy, copy_id, _key = policy.confirm_certification(
                state.records, state.store, state.settings, request_id=request_id, officer=officer,
                actor=principal.actor, agency_signer=lambda: state.signer,
            )
    except (AlreadyDecided, policy.HeldByAgreement) as exc:
        raise HTTPException(409, str(exc)) from None
    out = CertifiedCopyOut(
        id=copy_id, document_id=_request(state, request_id).document_id,
        certification_number=copy.certification_number, signer=copy.signer, signed_at=copy.signed_at,
        timestamp=copy.timestamp, sha256=copy.sha256, size=len(copy.pdf),
        download_url=f"/v1/certified-copies/{copy_id}",
    )
    log.info("certification request %d confirmed by %s: copy %d (%s)", request_id, principal.actor, copy_id,
             copy.certification_number)
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers={"Location": out.download_url})


@router.post("/certify-queue/{request_id}/refuse", response_model=CertifyRequestOut,
             summary="Refuse a request, with the reason", responses={**ERRORS, **NOT_FOUND, **DECIDED})
def refuse_one(request_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, principal: CertifierKey,
               body: Annotated[Refusal, Body()]) -> CertifyRequestOut:
    state = state_of(request)
    officer = _officer(principal)
    _request(state, request_id)
    try:
        refused = refuse(state.records, request_id, officer=officer, actor=principal.actor, reason=body.reason)
    except AlreadyDecided as exc:
        raise HTTPException(409, str(exc)) from exc
    log.info("certification request %d refused by %s", request_id, principal.actor)
    return request_out(refused)
