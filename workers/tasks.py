"""The Celery runner's second half: the flow's page, split, document and closing phases as tasks.

A batch is one chord per phase::

    page × N  ──chord──►  plan_documents  ──chord──►  document × D  ──chord──►  certify_documents
    (the page phase)      (the split step)            (the document             ──chord──►  certify × D
                                                        steps)                  ──►  finish_batch
                                                                                (the closing steps:
                                                                                 status, manifest)

Certification waits for every document of the batch to be recorded, as in-process: the certify
step compares the dossier's recorded papers and holds one another contradicts
(:func:`flow.policy.held_by_agreement`), which only works once they are all there. Without
certification the document chord's callback is ``finish_batch`` itself.

Each task calls the same functions of :mod:`flow.steps` as the in-process runner (``run_page``,
``split``, ``run_document``, ``close_batch``), and :mod:`flow.policy` decides what its failures
mean; the tasks only fetch inputs by object key, put outputs back by key and keep the task state.

Every task may run twice (a worker killed before acknowledging, a redelivery after the visibility
timeout), so each is idempotent: a page's result blob is found by (batch, page hash) and returned;
a document is found by (batch, number) in the task state and, underneath, by its page hashes in the
records (``archive_document`` never records the same document twice for a dossier, and the certify
step finds the copy it made); the second chord has fixed task ids, so planning twice dispatches the
same tasks and the chord counts each once (so has the certify chord, for the same reason).

Faults of the services (S3, PostgreSQL, Redis) are retried with exponential back-off; anything else
fails that page or document with its reason and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import Any

import numpy as np
import redis.exceptions
import sqlalchemy.exc
import urllib3.exceptions
from celery import chord, group
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init

from classifiers.split import NEARLY_BLANK_LETTERS
from core.errors import ExternalToolError
from core.model import BatchStatus, Document, DossierStatus, Page
from flow import steps
from flow.context import BatchContext, BatchSummary, DocumentOutcome, DocumentWork, OutcomeState, Services
from pipeline.pdf_images import EncodedImage, PreparedImages, encode_image
from signing.keys import AgencySigner, load_signer
from storage import progress
from storage.archive import update_batch
from storage.records import batch_progress
from workers import resources
from workers.app import app, soft_limit
from workers.config import PRELOAD
from workers.serialize import (
    JSON,
    PNG,
    decode_png,
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


_signers: dict[int, AgencySigner] = {}


def _signer() -> AgencySigner:
    """One signer per worker process, opened on the first certification and kept (a PKCS#11 login
    costs more than a signature)."""
    signer = _signers.get(os.getpid())
    if signer is None:
        signer = _signers[os.getpid()] = load_signer(settings)
    return signer


def _services() -> Services:
    return Services(settings, db=_db(), store=_store(), signer_factory=_signer)


def _failure_reason(exc: BaseException, what: str) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"{what} took longer than its time limit"
    return steps.failure_reason(exc, what)


def _add_batch_error(batch_id: int, line: str) -> None:
    """Append an error line to the batch record unless a redelivered task already did."""
    db = _db()
    if line in io("read the batch", batch_progress, db, batch_id).errors:
        return
    io("record the error", update_batch, db, batch_id, error=line)


def _give_up_batch(batch: str, ctx: BatchContext, reason: str) -> dict:
    """Mark the whole batch failed (best effort: the services may be the reason) and write the summary
    that anyone waiting on the batch is polling for."""
    log.error("batch %s failed: %s", batch, reason)
    summary = BatchSummary(
        batch_id=ctx.batch_id, dossier_code=ctx.dossier_code, procedure_code=ctx.procedure_code,
        status=BatchStatus.FAILED, dossier_status=DossierStatus.FAILED, pages_total=ctx.pages_total, pages_done=0,
        pages_failed=0, documents=(), errors=(reason,),
    ).to_json()
    try:
        _add_batch_error(ctx.batch_id, reason)
        io("fail the batch", update_batch, _db(), ctx.batch_id, status=BatchStatus.FAILED)
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
def page_task(self, batch: str, position: int, meta: dict[str, Any], lang: str, batch_id: int) -> dict:
    """The page phase of one page (:func:`flow.steps.run_page`).

    Returns ``{position, label, page_sha, state, result_key | reason}``; the result blob holds the
    page's JSON (words, text, rotation, skew, blank, qr) and the key of its upright image.
    """
    page_sha = meta["image_sha256"]
    label = page_label(meta)
    outcome: dict[str, Any] = {"position": position, "label": label, "page_sha": page_sha}
    try:
        state = _state(batch)
        store = _store()
        result_key = io("look up the page result", state.page_result, page_sha)
        if result_key is None or not io("look up the page result", store.exists, result_key):
            started, started_wall = time.perf_counter(), time.time()
            page = _with_source_jpeg(store, meta, page_from_json(meta, decode_png(
                io("fetch the page image", store.get_bytes, meta["image_key"]))))
            work_started = time.perf_counter()
            # The PDF's encoding of the page's pixels is made here, not in its document's task after
            # every page is done (see _prepared_images): on a thread beside the page's clean-up and
            # OCR (Tesseract runs as a program), kept unless the clean-up turned the page.
            with PreparedImages([page], ahead=1) as prepared:
                done = steps.run_page(page, lang)
                compute = time.perf_counter() - work_started
                if done.failure is not None:
                    raise _PageFailed(done.failure)
                result = _result_json(page, done, meta["image_key"], store)
                if done.source_jpeg is None:
                    prepared.done(done)
                    encoded = prepared.take(done) or encode_image(done.image)
                    result["pdf_image_key"] = io("store the page's PDF image", store.put_bytes,
                                                 encoded.to_blob()).key
            if done.source_jpeg is not None and "source_jpeg_key" in meta:
                result["source_jpeg_key"] = meta["source_jpeg_key"]
            result_key = io("store the page result", store.put_bytes, dumps(result), JSON).key
            io("record the page result", state.set_page_result, page_sha, result_key)
            io(
                "record timings", state.record_timing, position, compute, time.perf_counter() - started,
                started_wall, time.time(), self.request.hostname or "",
            )
            log.info("%s: page done in %.2f s (batch %s)", label, compute, batch)
        else:
            log.info("%s: already done in batch %s, result %s", label, batch, result_key)
        outcome.update(state=DONE, result_key=result_key)
        _record_page(state, batch_id, outcome)
        return outcome
    except Transient as exc:
        reason = _retry_or_give_up(self, exc, label)
    except _PageFailed as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - the policy: this page fails, the batch goes on
        reason = _failure_reason(exc, label)
    log.error("%s: failed: %s", label, reason)
    outcome.update(state=FAILED, reason=reason)
    try:
        _record_page(_state(batch), batch_id, outcome)
    except Exception:
        log.warning("%s: could not record the failure", label, exc_info=True)
    return outcome


class _PageFailed(Exception):
    """The page work failed on this page (its reason already a user-facing line)."""


def _result_json(before: Page, done: Page, image_key: str, store: Any) -> dict[str, Any]:
    """The page's OCR result; its image is stored again only if the page work turned it upright."""
    same = done.image is before.image or (
        done.image.shape == before.image.shape and np.array_equal(done.image, before.image)
    )
    if not same:
        image_key = io("store the upright page image", store.put_bytes, encode_png(done.image), PNG).key
    return page_to_json(done, image_key)


def _record_page(state: BatchState, batch_id: int, outcome: dict[str, Any]) -> None:
    """Page outcome into the task state, then the absolute count into the batch record."""
    io("record the page outcome", state.set_page_outcome, outcome["position"], outcome)
    done = sum(1 for o in io("read page outcomes", state.page_outcomes).values() if o.get("state") == DONE)
    io("record batch progress", update_batch, _db(), batch_id, pages_done=done)
    if outcome["state"] == FAILED:
        _add_batch_error(batch_id, f"page {outcome['label']}: {outcome['reason']}")


# ---------------------------------------------------------------------------------------------- split


def _load_page(store: Any, result_key: str, *, with_image: bool = True) -> Page:
    return _page_of(store, loads(io("fetch the page result", store.get_bytes, result_key)), with_image=with_image)


def _page_of(store: Any, meta: dict[str, Any], *, with_image: bool = True) -> Page:
    if with_image:
        image = decode_png(io("fetch the page image", store.get_bytes, meta["image_key"]))
    else:
        # Splitting reads the pixels of nearly empty pages only (blank and separator sheets); a page
        # with text gets a white stand-in of the right shape and costs no download.
        image = np.broadcast_to(np.uint8(255), tuple(meta["shape"]))
        return page_from_json(meta, image)
    return _with_source_jpeg(store, meta, page_from_json(meta, image))


def _prepared_images(store: Any, keys: list[str | None], pages: list[Page]) -> PreparedImages:
    """The PDF encodings the page tasks made of these pages' pixels (the same bytes the PDF would
    make: :func:`pipeline.pdf_images.encode_image` of the same pixels). A page without one (a result
    made before, a blob gone) is encoded by the PDF itself, as before."""
    prepared = PreparedImages((), ahead=0)
    for key, page in zip(keys, pages, strict=True):
        if key is None:
            continue
        try:
            prepared.given(page, EncodedImage.from_blob(store.get_bytes(key)))
        except Exception as exc:  # noqa: BLE001 - an optimisation only: the PDF encodes the page itself
            log.info("%s: no prepared PDF image (%s); encoded with the document", page.label, type(exc).__name__)
    return prepared


def _with_source_jpeg(store: Any, meta: dict[str, Any], page: Page) -> Page:
    """The scan's own JPEG bytes, when the intake kept them: the searchable PDF embeds them as they
    are, on a worker as in-process, so both runners store the same PDF."""
    key = meta.get("source_jpeg_key")
    if key is None:
        return page
    return replace(page, source_jpeg=io("fetch the source JPEG", store.get_bytes, key))


def _needs_pixels_to_split(page: Page) -> bool:
    return page.blank or sum(c.isalpha() for c in (page.text or page.text_layer or "")) < NEARLY_BLANK_LETTERS


def document_task_id(batch: str, number: int) -> str:
    return f"sohoa-{batch}-document-{number}"


@app.task(
    bind=True,
    name="sohoa.plan_documents",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def plan_documents(self, results: list[dict], batch: str, ctx_json: dict[str, Any]) -> dict:
    """Chord callback of the page tasks: the split step, then one document task per document.

    The plan is a pure function of the page results and its tasks have fixed ids, so a redelivered
    callback dispatches the very same chord again and each document is counted once.
    """
    ctx = BatchContext.from_json(ctx_json)
    done = sorted((r for r in results if r.get("state") == DONE), key=lambda r: r["position"])
    try:
        store = _store()
        pages = []
        for r in done:
            page = _load_page(store, r["result_key"], with_image=False)
            if _needs_pixels_to_split(page):
                page = _load_page(store, r["result_key"])
            pages.append(page)
        groups = steps.split(pages)
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
        document_task.s(batch, number, refs, ctx_json).set(task_id=document_task_id(batch, number))
        for number, refs in enumerate(plan, start=1)
    ).set(task_id=f"sohoa-{batch}-documents")
    progress.plan_documents(_db(), ctx.batch_id, len(plan), certify=ctx.certify)  # for sohoa status
    if ctx.certify:  # every paper recorded first: the certify step compares them
        chord(header, certify_documents.s(batch, ctx_json)).apply_async(task_id=f"sohoa-{batch}-certifying")
    else:
        chord(header, finish_batch.s(batch, ctx_json)).apply_async(task_id=f"sohoa-{batch}-finish")
    log.info("batch %s: %d page(s) OCR'd, %d failed, %d document(s) planned",
             batch, len(done), len(results) - len(done), len(plan))
    return {"documents": len(plan), "pages_done": len(done), "pages_failed": len(results) - len(done)}


# ------------------------------------------------------------------------------------------ documents


@app.task(
    bind=True,
    name="sohoa.document",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def document_task(self, batch: str, number: int, refs: list[dict], ctx_json: dict[str, Any]) -> dict:
    """The document steps of one document (:func:`flow.steps.run_document`)."""
    ctx = BatchContext.from_json(ctx_json)
    pages: list[Page] = []
    try:
        state = _state(batch)
        earlier = io("look up the document", state.document, number)
        if earlier and earlier.get("state") == DONE:
            log.info("batch %s: document %d already done", batch, number)
            return earlier
        store = _store()
        image_keys: list[str | None] = []
        for ref in refs:
            meta = loads(io("fetch the page result", store.get_bytes, ref["result_key"]))
            page = _page_of(store, meta)
            if tuple(ref.get("qr_payloads", ())) != page.qr_payloads:
                page = replace(page, qr_payloads=tuple(ref["qr_payloads"]))
            pages.append(page)
            image_keys.append(meta.get("pdf_image_key"))
        work = DocumentWork(number=number, document=Document(pages=tuple(pages)))
        services = _services()
        services.page_images = _prepared_images(store, image_keys, pages)
        try:
            work = steps.run_document(work, ctx, services, signing=False)
        except TRANSIENT_ERRORS as exc:  # every document step is safe to run again
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        finally:
            services.page_images.close()
            services.page_images = None
        outcome = steps.document_done(work).to_json()
        io("record the document", state.set_document, number, outcome)
        log.info("batch %s: document %d (%s, %d page(s)) done", batch, number, work.document.doc_type, len(pages))
        return outcome
    except Transient as exc:
        reason = _retry_or_give_up(self, exc, f"batch {batch} document {number}")
    except Exception as exc:  # noqa: BLE001 - the policy: this document fails, the batch goes on
        reason = _failure_reason(exc, f"document {number}")
    log.error("batch %s: document %d failed: %s", batch, number, reason)
    failed = steps.document_failed(number, pages, reason).to_json()
    try:
        _state(batch).set_document(number, failed)
        _add_batch_error(ctx.batch_id, f"document {number}: {reason}")
    except Exception:
        log.warning("batch %s: could not record the failure of document %d", batch, number, exc_info=True)
    return failed


def certify_task_id(batch: str, number: int) -> str:
    return f"sohoa-{batch}-certify-{number}"


@app.task(
    bind=True,
    name="sohoa.certify_documents",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def certify_documents(self, results: list[dict], batch: str, ctx_json: dict[str, Any]) -> dict:
    """Chord callback of the document tasks when the batch asked for copies: every paper of the
    batch is recorded now, so each certify task (on the certify queue, the machines that hold the
    key) compares it with all of them, as the in-process runner does. The certify tasks have fixed
    ids, so a redelivered callback dispatches the very same chord again."""
    outcomes = sorted(results, key=lambda r: r["number"])
    header = group(
        certify_task.s(outcome, batch, ctx_json).set(task_id=certify_task_id(batch, outcome["number"]))
        for outcome in outcomes
    ).set(task_id=f"sohoa-{batch}-certify")
    if outcomes:
        chord(header, finish_batch.s(batch, ctx_json)).apply_async(task_id=f"sohoa-{batch}-finish")
    else:  # a chord of no task never calls back
        finish_batch.apply_async(([], batch, ctx_json), task_id=f"sohoa-{batch}-finish")
    log.info("batch %s: %d document(s) recorded, certifying", batch, len(outcomes))
    return {"documents": len(outcomes)}


@app.task(
    bind=True,
    name="sohoa.certify",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def certify_task(self, outcome_json: dict, batch: str, ctx_json: dict[str, Any]) -> dict:
    """The steps of one archived document that need the signer (the certify step), once every
    document of the batch is recorded (:func:`certify_documents`). The step reads what it
    certifies from the records and finds a copy it already made, so a redelivery makes no second."""
    outcome = DocumentOutcome.from_json(outcome_json)
    if not outcome.done or outcome.certified_key:
        return outcome_json
    ctx = BatchContext.from_json(ctx_json)
    work = DocumentWork(number=outcome.number, document=Document(pages=()), document_id=outcome.document_id,
                        pdf_key=outcome.pdf_key, pdf_sha256=outcome.pdf_sha256)
    try:
        try:
            work = steps.run_document(work, ctx, _services(), signing=True)
        except TRANSIENT_ERRORS as exc:  # certifying is safe to run again
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        certified = replace(outcome, certified_id=work.certified_id, certified_key=work.certified_key,
                            certification_number=work.certification_number,
                            review_state=work.review_state or outcome.review_state).to_json()
        io("record the document", _state(batch).set_document, outcome.number, certified)
        return certified
    except Transient as exc:
        reason = _retry_or_give_up(self, exc, f"batch {batch} certifying document {outcome.number}")
    except Exception as exc:  # noqa: BLE001 - the policy: this document fails, the batch goes on
        reason = _failure_reason(exc, f"certifying document {outcome.number}")
    log.error("batch %s: certifying document %d failed: %s", batch, outcome.number, reason)
    failed = replace(outcome, state=OutcomeState.FAILED, reason=reason).to_json()
    try:
        _state(batch).set_document(outcome.number, failed)
        _add_batch_error(ctx.batch_id, f"document {outcome.number}: {reason}")
    except Exception:
        log.warning("batch %s: could not record the failure of document %d", batch, outcome.number, exc_info=True)
    return failed


# -------------------------------------------------------------------------------------------- closing


@app.task(
    bind=True,
    name="sohoa.finish_batch",
    time_limit=ws.document_time_limit,
    soft_time_limit=soft_limit(ws.document_time_limit),
    max_retries=None,
)
def finish_batch(self, results: list[dict], batch: str, ctx_json: dict[str, Any]) -> dict:
    """Chord callback of the document tasks: the closing steps (:func:`flow.steps.close_batch`)."""
    ctx = BatchContext.from_json(ctx_json)
    documents = tuple(sorted((DocumentOutcome.from_json(r) for r in results), key=lambda d: d.number))
    try:
        outcomes = io("read page outcomes", _state(batch).page_outcomes)
        pages = sorted(outcomes.values(), key=lambda o: o["position"])
        failed_pages = [o for o in pages if o.get("state") == FAILED]
        closing = steps.Closing(ctx, documents, pages_done=len(pages) - len(failed_pages),
                                pages_failed=len(failed_pages))
        try:
            summary = steps.close_batch(closing, _services())
        except TRANSIENT_ERRORS as exc:  # the closing steps are safe to run again
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        errors = tuple(f"page {o['label']}: {o['reason']}" for o in failed_pages) + tuple(
            f"document {d.number}: {d.reason}" for d in documents if not d.done
        )
        summary = replace(summary, errors=errors).to_json()
        io("record the summary", _state(batch).set_summary, summary)
    except Transient as exc:
        return _give_up_batch(batch, ctx, f"finishing {_retry_or_give_up(self, exc)}")
    except Exception as exc:  # noqa: BLE001 - recorded as the batch's failure, so no one waits for ever
        return _give_up_batch(batch, ctx, _failure_reason(exc, "finishing the batch"))
    log.info("batch %s finished: %s, %d/%d page(s), %d document(s)", batch, summary["status"],
             summary["pages_done"], summary["pages_total"], sum(d.done for d in documents))
    return summary
