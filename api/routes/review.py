"""The verification station over HTTP: the queue, a document's fields with their images, and the
clerk's confirmations and corrections; the ``/review`` page for people.

Only ``verifier`` keys reach the queue and the decisions, and each carries the official's full
name: it is what the records and the audit log show beside every decision, and they decide on documents
in review only. A document's fields and its page and field images serve each role the documents its
work needs (:mod:`api.routes.page_access`). Images are cut from the searchable PDF,
which holds the original scan pixels, so the clerk compares the value with the paper itself.
"""

from __future__ import annotations

import logging
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from api.app import AppState, state_of
from api.auth import Principal, Role, require
from api.review import (
    PageImages,
    Submission,
    alternatives,
    field_crop,
    page_thumbnail,
    png_bytes,
    reason_vi,
    submit_review,
    unsure_spans,
)
from api.routes.page_access import DocumentReaderKey, check_access
from api.routes.stations import CODE, ERRORS
from api.schemas import (
    MachineReading,
    Problem,
    QueueItemOut,
    ReviewDecisionOut,
    ReviewFieldOut,
    ReviewIn,
    ReviewOut,
    ReviewQueueOut,
)
from core.doctypes import DOC_TYPES, VIETNAMESE_NAMES
from storage.review import FieldRefused, ReviewDocument, StaleReview, document_for_review, review_queue

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["review"])
page = APIRouter(include_in_schema=False)

VerifierKey = Annotated[Principal, Depends(require(Role.VERIFIER))]
MAX_ID = 2**31 - 1
NOT_FOUND = {404: {"model": Problem, "description": "no such document, field or page"}}
PNG = {200: {"content": {"image/png": {}}, "description": "a PNG image"}}
PAGE = FsPath(__file__).resolve().parent.parent / "static" / "review.html"
FIELD_NAME = r"^[a-z][a-z0-9_]{0,63}$"

_images = PageImages()


@router.get("/review/queue", response_model=ReviewQueueOut, summary="Documents needing review, oldest first",
            responses=ERRORS)
def get_queue(
    request: Request,
    _principal: VerifierKey,
    station: Annotated[str | None, Query(max_length=64, description="a station's code")] = None,
    dossier: Annotated[str | None, Query(pattern=CODE.pattern, description="a dossier code")] = None,
    doc_type: Annotated[str | None, Query(max_length=64, description="a document type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReviewQueueOut:
    if doc_type is not None and doc_type not in DOC_TYPES:
        raise HTTPException(422, f"doc_type: unknown document type {doc_type!r}")
    items = review_queue(state_of(request).records, station=station, dossier=dossier, doc_type=doc_type,
                         limit=limit)
    return ReviewQueueOut(documents=[
        QueueItemOut(document_id=i.document_id, dossier_code=i.dossier_code, doc_type=i.doc_type,
                     flagged=list(i.flagged), created=i.created, station=i.station)
        for i in items
    ])


@router.get("/documents/{document_id}/review", response_model=ReviewOut,
            summary="A document's fields as the clerk checks them", responses={**ERRORS, **NOT_FOUND})
def get_review(
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, principal: DocumentReaderKey
) -> ReviewOut:
    """Every field with its value, confidence, reason, the other readings, page, box and image;
    plus ``version``, to send back with the decisions. Each role reads the documents it reads the
    pages of (:mod:`api.routes.page_access`): a verifier those in review, not the whole archive."""
    state = state_of(request)
    document = _document(state, document_id)
    check_access(state, principal, document, what="fields")
    return review_out(document)


@router.post("/documents/{document_id}/review", response_model=ReviewOut,
             summary="Confirm and correct a document's fields",
             responses={**ERRORS, **NOT_FOUND,
                        409: {"model": Problem, "description": "reviewed by someone else since `version`"},
                        422: {"model": Problem, "description": "a value that fails its rules, naming the field"}})
def post_review(
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: ReviewIn, request: Request, principal: VerifierKey
) -> ReviewOut:
    """``{"version": V, "fields": {"full_name": {"value": "…"}, "sex": {"confirm": true}}}``. Values are
    normalised (NFC) and validated as at extraction; a value that fails is refused (422, naming the
    field) and nothing of the submission is stored. When no field is left flagged the document is
    ``reviewed`` and offered for reuse."""
    state = state_of(request)
    check_access(state, principal, _document(state, document_id), what="fields")
    values: dict[str, str] = {}
    confirm: list[str] = []
    for name, decision in body.fields.items():
        if decision.value is not None and decision.confirm:
            raise HTTPException(422, f"fields.{name}: send either a value or confirm, not both")
        if decision.value is not None:
            values[name] = decision.value
        elif decision.confirm:
            confirm.append(name)
        else:
            raise HTTPException(422, f"fields.{name}: send a value or confirm: true")
    submission = Submission(version=body.version, confirm=tuple(confirm), values=values, doc_type=body.doc_type)
    try:
        updated = submit_review(
            state.records, document_id, submission, official=principal.official or principal.name,
            actor=principal.actor,
        )
    except StaleReview as exc:
        raise HTTPException(409, str(exc)) from None
    except FieldRefused as exc:
        where = exc.field if exc.field in ("doc_type", "fields") else f"fields.{exc.field}"
        raise HTTPException(422, f"{where}: {str(exc).split(': ', 1)[1]}") from None
    log.info("document %d reviewed by key %d: %d field(s), now %s", document_id, principal.key_id,
             len(values) + len(confirm), updated.review_state)
    return review_out(updated)


@router.get("/documents/{document_id}/fields/{name}/image", response_class=Response,
            summary="The field's value and label, cut from the original page (PNG)",
            responses={**ERRORS, **NOT_FOUND, **PNG})
async def get_field_image(
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    name: Annotated[str, Path(pattern=FIELD_NAME)],
    request: Request,
    principal: DocumentReaderKey,
    mark: Annotated[bool, Query(description="outline the value")] = True,
) -> Response:
    """Each role reads the images of the documents its work needs (:mod:`api.routes.page_access`)."""
    state = state_of(request)
    document = await run_in_threadpool(_document, state, document_id)
    await run_in_threadpool(check_access, state, principal, document)
    entry = document.fields.get(name)
    if entry is None:
        raise HTTPException(404, f"a {document.doc_type} has no field {name}")
    if entry.get("page") is None or not entry.get("box"):
        raise HTTPException(404, f"{name} was not found on the paper: no image (see the page)")

    def cut() -> bytes:
        image = _images.page(state.store, document.pdf_key, int(entry["page"]))
        return png_bytes(field_crop(image, entry["box"], mark=mark))

    return Response(await run_in_threadpool(cut), media_type="image/png", headers=_PRIVATE)


@router.get("/documents/{document_id}/pages/{n}/image", response_class=Response,
            summary="One page of the document (PNG; n counts from 1)", responses={**ERRORS, **NOT_FOUND, **PNG})
async def get_page_image(
    document_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    n: Annotated[int, Path(ge=1, le=10_000)],
    request: Request,
    principal: DocumentReaderKey,
    width: Annotated[int | None, Query(ge=64, le=10_000, description="scale down to this width")] = None,
) -> Response:
    """Each role reads the pages of the documents its work needs (:mod:`api.routes.page_access`)."""
    state = state_of(request)
    document = await run_in_threadpool(_document, state, document_id)
    await run_in_threadpool(check_access, state, principal, document)
    if n > document.page_count:
        raise HTTPException(404, f"document {document_id} has {document.page_count} page(s), not {n}")

    def render() -> bytes:
        image = _images.page(state.store, document.pdf_key, n - 1)
        return png_bytes(page_thumbnail(image, width) if width else image)

    return Response(await run_in_threadpool(render), media_type="image/png", headers=_PRIVATE)


_PRIVATE = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}


@page.get("/review", response_class=HTMLResponse)
def review_page() -> HTMLResponse:
    """The clerk's page: the queue, then one document at a time, driven from the keyboard; with a
    certifier's key, the certified-copy requests waiting for the officer instead. The key is typed
    in and kept in the tab only; images come through the API with it."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={
        "Content-Security-Policy": "default-src 'none'; script-src 'self' 'unsafe-inline'; "
        "style-src 'unsafe-inline'; img-src blob: 'self'; connect-src 'self'; form-action 'none'; "
        "frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    })


def _document(state: AppState, document_id: int) -> ReviewDocument:
    document = document_for_review(state.records, document_id)
    if document is None:
        raise HTTPException(404, f"no document {document_id}")
    return document


def review_out(document: ReviewDocument) -> ReviewOut:
    base = f"/v1/documents/{document.document_id}"
    fields = []
    for name, entry in document.fields.items():
        machine = entry.get("machine")
        review: dict[str, Any] | None = entry.get("review")
        alts = alternatives(entry)
        flagged = bool(entry.get("needs_review")) or not entry.get("valid", True)
        reason = (machine or entry).get("reason") or ""
        has_box = entry.get("page") is not None and bool(entry.get("box"))
        fields.append(ReviewFieldOut(
            name=name,
            value=entry.get("value"),
            confidence=entry.get("confidence"),
            needs_review=bool(entry.get("needs_review")),
            valid=bool(entry.get("valid", True)),
            reason=reason,
            reason_vi=reason_vi(reason, flagged=flagged),
            alternatives=alts,
            unsure=unsure_spans(entry.get("value"), alts, reason) if flagged else [],
            page=entry.get("page"),
            box=entry.get("box"),
            image_url=f"{base}/fields/{name}/image" if has_box else None,
            page_url=f"{base}/pages/{int(entry['page']) + 1}/image" if entry.get("page") is not None else None,
            machine=MachineReading(value=machine.get("value"), confidence=machine.get("confidence"),
                                   reason=machine.get("reason")) if machine else None,
            review=ReviewDecisionOut(**review) if review else None,
        ))
    return ReviewOut(
        document_id=document.document_id,
        dossier_code=document.dossier_code,
        doc_type=document.doc_type,
        machine_doc_type=document.machine_doc_type,
        review_state=document.review_state,
        version=document.version,
        pages=document.page_count,
        station=document.station,
        created=document.created,
        flagged=list(document.flagged),
        fields=fields,
        doc_types=list(DOC_TYPES),
        doc_type_names={t: VIETNAMESE_NAMES.get(t, t) for t in DOC_TYPES},
    )
