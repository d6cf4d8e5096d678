"""The Celery tasks: thin wrappers that fetch inputs by object key, call the same stage functions as
:mod:`flow.run`, and put outputs back by key.

A batch is one chord per phase::

    page × N  ──chord──►  plan_documents  ──chord──►  document × D  ──►  finish_batch
    (clean-up + OCR)      (split into documents)      (classify, extract,   (dossier status,
                                                        assemble, store)      certify on request)

Every task may run twice (a worker killed before acknowledging, a redelivery after the visibility
timeout), so each is idempotent: a page's result blob is found by (batch, page hash) and returned;
a document is found by (batch, number) in the task state and, underneath, by its page hashes in the
records (``archive_document`` never records the same document twice for a dossier); the second
chord has fixed task ids, so planning twice dispatches the same tasks and the chord counts each once.

Faults of the services (S3, PostgreSQL) are retried with exponential back-off; anything else marks
that page or document failed with its reason and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import redis.exceptions
import sqlalchemy.exc
import urllib3.exceptions
from celery import chord, group
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init

from core.errors import ExternalToolError, SohoaError
from core.model import Dossier, DossierStatus, Page
from workers import resources
from workers.app import app, soft_limit
from workers.config import PRELOAD
from workers.serialize import (
    JSON,
    PNG,
    decode_png,
    document_summary,
    dumps,
    encode_png,
    loads,
    page_from_json,
    page_label,
    page_to_json,
)
from workers.state import DONE, FAILED, BatchState

log = logging.getLogger(__name__)

settings = app.conf.sohoa_settings
ws = app.conf.sohoa_worker_settings

# What a briefly absent service raises: the S3 store maps its network faults to ExternalToolError,
# the database raises OperationalError/InterfaceError, sockets OSError.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ExternalToolError,
    OSError,
    urllib3.exceptions.HTTPError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


@worker_init.connect
def _preload(**_: Any) -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            log.warning("could not preload %s: %s", name, exc)


class Transient(Exception):
    """A fault of a service the task talks to, worth retrying; never raised by stage code."""


def io(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a storage/database function, turning its service faults into :class:`Transient`.

    Only calls made through here are retried: a Tesseract failure inside a stage is not a service
    fault and retrying it would only delay the batch.
    """
    try:
        return fn(*args, **kwargs)
    except TRANSIENT_ERRORS as exc:
        raise Transient(f"could not {what}: {type(exc).__name__}: {exc}") from exc


def backoff(retries: int) -> int:
    return min(ws.retry_backoff_max, 2**retries)


def _retry_or_give_up(task: Any, exc: Transient, what: str | None = None) -> str:
    """Retry ``task`` after a growing pause while it has retries left (raises Celery's Retry); past
    them, the reason its work failed. ``what`` names the work in the warning logged before a retry."""
    retries = task.request.retries
    if retries < ws.task_max_retries:
        countdown = backoff(retries)
        if what is not None:
            log.warning("%s: %s; retry %d in %d s", what, exc, retries + 1, countdown)
        raise task.retry(countdown=countdown, exc=exc) from exc
    return f"gave up after {retries} retries: {exc}"


def _state(batch: str) -> BatchState:
    return BatchState(resources.redis_client(app.conf.result_backend), batch)


def _store():  # -> ObjectStore
    return io("open the object store", resources.store, settings)


def _db():  # -> Database
    return io("open the records database", resources.database, settings)


def _failure_reason(exc: BaseException, what: str) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"{what} took longer than its time limit"
    if isinstance(exc, SohoaError):
        return str(exc)
    log.error("%s failed", what, exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def _add_batch_error(batch_id: int, line: str) -> None:
    """Append an error line to the batch record unless a redelivered task already did."""
    from storage.archive import update_batch
    from storage.models import Batch

    db = _db()
    with db.session() as session:
        row = session.get(Batch, batch_id)
        if row is None or line in (row.errors or []):
            return
    io("record the error", update_batch, db, batch_id, error=line)


def _give_up_batch(batch: str, ctx: dict[str, Any], reason: str) -> dict:
    """Mark the whole batch failed (best effort: the services may be the reason) and write the summary
    that anyone waiting on the batch is polling for."""
    log.error("batch %s failed: %s", batch, reason)
    batch_id = ctx.get("batch_id")
    summary = {
        "batch": batch,
        "batch_id": batch_id,
        "status": "failed",
        "dossier_status": "failed",
        "pages_total": ctx.get("pages_total"),
        "pages_done": None,
        "pages_failed": None,
        "documents": [],
        "reason": reason,
    }
    try:
        if batch_id is not None:
            from storage.archive import update_batch

            _add_batch_error(batch_id, reason)
            io("fail the batch", update_batch, _db(), batch_id, status="failed")
    except Exception:
        log.warning("batch %s: could not record its failure", batch, exc_info=True)
    try:
        _state(batch).set_summary(summary)
    except Exception:
        log.warning("batch %s: could not write its summary", batch, exc_info=True)
    return summary


# ---------------------------------------------------------------------------------------------- pages


@app.task(
    bind=True,
    name="sohoa.page",
    time_limit=ws.page_time_limit,
    soft_time_limit=soft_limit(ws.page_time_limit),
    max_retries=None,
)
def page_task(self, batch: str, position: int, meta: dict[str, Any], lang: str, batch_id: int | None) -> dict:
    """Clean-up, OCR and QR of one page (:func:`flow.run.work_on_page`).

    Returns ``{position, label, page_sha, state, result_key | reason}``; the result blob holds the
    page's JSON (words, text, rotation, skew, blank, qr) and the key of its upright image.
    """
    from flow.run import work_on_page

    page_sha = meta["image_sha256"]
    label = page_label(meta)
    outcome: dict[str, Any] = {"position": position, "label": label, "page_sha": page_sha}
    try:
        state = _state(batch)
        store = _store()
        result_key = io("look up the page result", state.page_result, page_sha)
        if result_key is None or not io("look up the page result", store.exists, result_key):
            started, started_wall = time.perf_counter(), time.time()
            image = decode_png(io("fetch the page image", store.get_bytes, meta["image_key"]))
            page = page_from_json(meta, image)
            work_started = time.perf_counter()
            done = work_on_page(page, lang)
            compute = time.perf_counter() - work_started
            result = _result_json(page, done, meta["image_key"], store)
            result_key = io("store the page result", store.put_bytes, dumps(result), JSON).key
            io("record the page result", state.set_page_result, page_sha, result_key)
            io(
                "record timings",
                state.record_timing,
                position,
                compute,
                time.perf_counter() - started,
                started_wall,
                time.time(),
                self.request.hostname or "",
            )
            log.info("%s: page done in %.2f s (batch %s)", label, compute, batch)
        else:
            log.info("%s: already done in batch %s, result %s", label, batch, result_key)
        outcome.update(state=DONE, result_key=result_key)
        _record_page(state, batch_id, outcome)
        return outcome
    except Transient as exc:
        reason = _retry_or_give_up(self, exc, label)
    except Exception as exc:  # noqa: BLE001 - a permanent failure: this page fails, the batch goes on
        reason = _failure_reason(exc, label)
    log.error("%s: failed: %s", label, reason)
    outcome.update(state=FAILED, reason=reason)
    try:
        _record_page(_state(batch), batch_id, outcome)
    except Exception:
        log.warning("%s: could not record the failure", label, exc_info=True)
    return outcome


def _result_json(before: Page, done: Page, image_key: str, store: Any) -> dict[str, Any]:
    """The page's OCR result; its image is stored again only if the page work turned it upright."""
    same = done.image is before.image or (
        done.image.shape == before.image.shape and np.array_equal(done.image, before.image)
    )
    if not same:
        image_key = io("store the upright page image", store.put_bytes, encode_png(done.image), PNG).key
    return page_to_json(done, image_key)


def _record_page(state: BatchState, batch_id: int | None, outcome: dict[str, Any]) -> None:
    """Page outcome into the task state, then the absolute count into the batch record."""
    io("record the page outcome", state.set_page_outcome, outcome["position"], outcome)
    if batch_id is None:
        return
    from storage.archive import update_batch

    done = sum(1 for o in io("read page outcomes", state.page_outcomes).values() if o.get("state") == DONE)
    io("record batch progress", update_batch, _db(), batch_id, pages_done=done)
    if outcome["state"] == FAILED:
        _add_batch_error(batch_id, f"page {outcome['label']}: {outcome['reason']}")


# ------------------------------------------------------------------------------------------ documents


def _load_page(store: Any, result_key: str, *, with_image: bool = True) -> Page:
    meta = loads(io("fetch the page result", store.get_bytes, result_key))
    if with_image:
        image = decode_png(io("fetch the page image", store.get_bytes, meta["image_key"]))
    else:
        # Splitting reads the pixels of nearly empty pages only (blank and QR separator sheets); a
        # page with text gets a white stand-in of the right shape and costs no download.
        image = np.broadcast_to(np.uint8(255), tuple(meta["shape"]))
    return page_from_json(meta, image)


def _needs_pixels_to_split(page: Page) -> bool:
    from classifiers import split

    threshold = getattr(split, "NEARLY_BLANK_LETTERS", 60)
    return page.blank or sum(c.isalpha() for c in (page.text or page.text_layer or "")) < threshold


def document_task_id(batch: str, number: int) -> str:
    return f"sohoa-{batch}-document-{number}"


@app.task(
    bind=True,
    name="sohoa.plan_documents",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def plan_documents(self, results: list[dict], batch: str, ctx: dict[str, Any]) -> dict:
    """Chord callback of the page tasks: split the OCR'd pages into documents, fan out one task each.

    The plan is a pure function of the page results and its tasks have fixed ids, so a redelivered
    callback dispatches the very same chord again and each document is counted once.
    """
    from classifiers.split import split_documents

    done = sorted((r for r in results if r.get("state") == DONE), key=lambda r: r["position"])
    try:
        store = _store()
        pages = []
        for r in done:
            page = _load_page(store, r["result_key"], with_image=False)
            if _needs_pixels_to_split(page):
                page = _load_page(store, r["result_key"])
            pages.append(page)
        groups = split_documents(pages) if pages else []
    except Transient as exc:
        return _give_up_batch(batch, ctx, f"planning documents {_retry_or_give_up(self, exc)}")
    except Exception as exc:  # noqa: BLE001 - recorded as the batch's failure, so no one waits for ever
        return _give_up_batch(batch, ctx, _failure_reason(exc, "planning documents"))
    key_of = {(p.source_sha256, p.index): r["result_key"] for p, r in zip(pages, done, strict=True)}
    plan = [
        [{"result_key": key_of[(p.source_sha256, p.index)], "qr_payloads": list(p.qr_payloads)} for p in doc]
        for doc in groups
    ]
    header = group(
        document_task.s(batch, number, refs, ctx).set(task_id=document_task_id(batch, number))
        for number, refs in enumerate(plan, start=1)
    ).set(task_id=f"sohoa-{batch}-documents")
    chord(header, finish_batch.s(batch, ctx)).apply_async(task_id=f"sohoa-{batch}-finish")
    log.info(
        "batch %s: %d page(s) OCR'd, %d failed, %d document(s) planned",
        batch,
        len(done),
        len(results) - len(done),
        len(plan),
    )
    return {"documents": len(plan), "pages_done": len(done), "pages_failed": len(results) - len(done)}


@app.task(
    bind=True,
    name="sohoa.document",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def document_task(self, batch: str, number: int, refs: list[dict], ctx: dict[str, Any]) -> dict:
    """Classify, extract, assemble the searchable PDF/A and store one document
    (:func:`flow.run.analyse_document`, :func:`flow.run.assemble_pdf`, ``archive_document``)."""
    from flow.run import analyse_document, assemble_pdf

    batch_id: int | None = ctx.get("batch_id")
    outcome: dict[str, Any] = {"number": number}
    try:
        state = _state(batch)
        earlier = io("look up the document", state.document, number)
        if earlier and earlier.get("state") == DONE:
            log.info("batch %s: document %d already done", batch, number)
            return earlier
        store = _store()
        pages = []
        for ref in refs:
            page = _load_page(store, ref["result_key"])
            if tuple(ref.get("qr_payloads", ())) != page.qr_payloads:
                page = replace(page, qr_payloads=tuple(ref["qr_payloads"]))
            pages.append(page)
        document = assemble_pdf(analyse_document(pages), ctx["dossier_code"])
        outcome.update(state=DONE, personal_id=document.personal_id, **document_summary(document))
        if batch_id is not None:
            from storage.archive import archive_document

            dossier = Dossier(
                code=ctx["dossier_code"],
                procedure_code=ctx.get("procedure_code"),
                agency=settings.agency,
                applicant_personal_id=document.personal_id,
                documents=(document,),
                status=DossierStatus.PROCESSING,
            )
            archived = io(
                "archive the document",
                archive_document,
                _db(),
                store,
                dossier=dossier,
                document=document,
                batch_id=batch_id,
                source_keys=ctx.get("source_keys", []),
                certified=None,
                actor=ctx.get("station", "worker"),
            )
            outcome.update(
                document_id=archived.document_id,
                pdf_key=archived.pdf_key,
                review_state=archived.review_state,
                reused_from=archived.reused_from,
            )
        else:
            assert document.pdf is not None
            outcome["pdf_key"] = io("store the PDF", store.put_bytes, document.pdf, "application/pdf").key
        io("record the document", state.set_document, number, outcome)
        log.info("batch %s: document %d (%s, %d page(s)) done", batch, number, document.doc_type, len(pages))
        return outcome
    except Transient as exc:
        reason = _retry_or_give_up(self, exc, f"batch {batch} document {number}")
    except Exception as exc:  # noqa: BLE001 - permanent: recorded with its reason, the batch goes on
        reason = _failure_reason(exc, f"document {number}")
    log.error("batch %s: document %d failed: %s", batch, number, reason)
    outcome.update(state=FAILED, reason=reason)
    try:
        _state(batch).set_document(number, outcome)
        if batch_id is not None:
            _add_batch_error(batch_id, f"document {number}: {reason}")
    except Exception:
        log.warning("batch %s: could not record the failure of document %d", batch, number, exc_info=True)
    return outcome


@app.task(
    bind=True,
    name="sohoa.finish_batch",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def finish_batch(self, results: list[dict], batch: str, ctx: dict[str, Any]) -> dict:
    """Chord callback of the document tasks: final counts, dossier and batch status, and the
    certification tasks when the batch asked for them."""
    from storage.archive import update_batch, upsert_dossier

    batch_id: int | None = ctx.get("batch_id")
    docs = sorted(results, key=lambda r: r["number"])
    ok = [d for d in docs if d.get("state") == DONE]
    try:
        outcomes = io("read page outcomes", _state(batch).page_outcomes)
        pages_done = sum(1 for o in outcomes.values() if o.get("state") == DONE)
        pages_failed = sum(1 for o in outcomes.values() if o.get("state") == FAILED)
        failures = pages_failed + (len(docs) - len(ok))
        if not ok:
            dossier_status = DossierStatus.FAILED
        elif failures or any(d.get("review_state", "ok") != "ok" or d.get("needs_review") for d in ok):
            dossier_status = DossierStatus.NEEDS_REVIEW
        else:
            dossier_status = DossierStatus.DIGITIZED
        batch_status = "done" if ok or not failures else "failed"
        summary = {
            "batch": batch,
            "batch_id": batch_id,
            "status": batch_status,
            "dossier_status": str(dossier_status),
            "pages_total": ctx.get("pages_total", len(outcomes)),
            "pages_done": pages_done,
            "pages_failed": pages_failed,
            "documents": docs,
        }
        if batch_id is not None:
            db = _db()
            applicant = next((d["personal_id"] for d in ok if d.get("personal_id")), None)

            def _dossier() -> None:
                with db.transaction() as session:
                    upsert_dossier(
                        session,
                        code=ctx["dossier_code"],
                        status=dossier_status,
                        applicant_personal_id=applicant,
                    )

            io("update the dossier", _dossier)
            io("finish the batch", update_batch, db, batch_id, pages_done=pages_done, status=batch_status)
        io("record the summary", _state(batch).set_summary, summary)
    except Transient as exc:
        return _give_up_batch(batch, ctx, f"finishing {_retry_or_give_up(self, exc)}")
    if ctx.get("certify") and batch_id is not None:
        group(
            certify_task.s(d["document_id"], ctx.get("station", "worker")).set(
                task_id=f"sohoa-{batch}-certify-{d['number']}"
            )
            for d in ok
        ).apply_async()
    log.info(
        "batch %s finished: %s, %d/%d page(s), %d document(s)",
        batch,
        batch_status,
        pages_done,
        summary["pages_total"],
        len(ok),
    )
    return summary


# -------------------------------------------------------------------------------------- certification

_signer_cache: dict[int, Any] = {}


@app.task(
    bind=True,
    name="sohoa.certify",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def certify_task(self, document_id: int, actor: str = "worker") -> dict:
    """Certify an archived document as an electronic copy of its original, on request.

    The certification number is derived from the task id, which a redelivery keeps, so a redelivered
    task finds the copy it already recorded instead of making a second.
    """
    import os

    from sqlalchemy import select

    from flow.run import certification_number
    from signing.certify import certify_copy, dossier_stamp
    from signing.keys import load_signer
    from storage.archive import record_certified_copy
    from storage.models import CertifiedCopy as CopyRow
    from storage.models import Document as DocumentRow
    from storage.models import Dossier as DossierRow

    try:
        db = _db()
        store = _store()

        def _look_up() -> tuple[Any, Any]:
            with db.session() as session:
                row = session.get(DocumentRow, document_id)
                if row is None:
                    raise LookupError(f"no document {document_id}")
                return row, session.get(DossierRow, row.dossier_id)

        row, dossier = io("look up the document", _look_up)
        now = datetime.now(UTC)
        number_text = certification_number(now, request_id=self.request.id)

        def _existing() -> Any:
            with db.session() as session:
                return session.scalar(select(CopyRow).where(CopyRow.certification_number == number_text))

        existing = io("look up the certified copy", _existing)
        if existing is not None:
            return {
                "document_id": document_id,
                "state": DONE,
                "certified_id": existing.id,
                "certified_key": existing.object_key,
                "certification_number": number_text,
            }
        pdf = io("fetch the PDF", store.get_bytes, row.pdf_key)
        signer = _signer_cache.get(os.getpid())
        if signer is None:
            signer = _signer_cache[os.getpid()] = load_signer(settings)
        stamp = dossier_stamp(
            settings,
            certification_number=number_text,
            signed_at=now,
            dossier_code=dossier.code,
            procedure_code=dossier.procedure_code,
            owner_id=row.personal_id,
            doc_type=row.doc_type,
        )
        copy = certify_copy(pdf, signer, stamp, tsa_url=settings.tsa_url, document_sha256=row.pdf_sha256)
        certified_id, key = io(
            "record the certified copy",
            record_certified_copy,
            db,
            store,
            document_id=document_id,
            certified=copy,
            actor=actor,
        )
        return {
            "document_id": document_id,
            "state": DONE,
            "certified_id": certified_id,
            "certified_key": key,
            "certification_number": number_text,
        }
    except Transient as exc:
        reason = _retry_or_give_up(self, exc)
    except Exception as exc:  # noqa: BLE001 - permanent: recorded with its reason, the batch goes on
        reason = _failure_reason(exc, f"certifying document {document_id}")
    log.error("certifying document %d failed: %s", document_id, reason)
    return {"document_id": document_id, "state": FAILED, "reason": reason}
