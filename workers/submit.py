"""The Celery runner's first half: the intake where the files are, then one task per page.

The submitting process does what only it can: the flow's intake steps (read the files it was given,
refusing bad input before anything is written; record the batch and its originals), and put each
page image into the object store as a PNG. Then it sends one small JSON message per page.
Everything after that runs on whichever workers are up (:mod:`workers.tasks`), and any process can
follow the batch through ``sohoa status`` or wait for its summary here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import chord, group
from celery.result import AsyncResult

from core.model import Page
from core.settings import Settings
from flow import steps
from flow.context import BatchContext, BatchSummary, Services
from flow.run import ProcessResult, write_out
from workers import resources
from workers.app import app
from workers.serialize import PNG, encode_png, image_sha256, page_to_json
from workers.state import BatchState
from workers.tasks import page_task, plan_documents

log = logging.getLogger(__name__)

UPLOAD_THREADS = 4  # PNG encoding releases the GIL and S3 round trips overlap


@dataclass(frozen=True)
class Submitted:
    """A batch on its way: its record id, and the result of its first chord (the plan)."""

    batch_id: int
    batch: str  # the batch id as the task state knows it
    dossier_code: str
    pages: int
    result: AsyncResult


def store_pages(pages: Sequence[Page], store: Any) -> list[dict[str, Any]]:
    """Put every page image into the store as a PNG; returns each page's JSON metadata.

    A page without an ``image_sha256`` gets one here: the hash is the page's idempotency key.
    """

    def one(page: Page) -> dict[str, Any]:
        if not page.image_sha256:
            page = replace(page, image_sha256=image_sha256(page.image))
        meta = page_to_json(page, store.put_bytes(encode_png(page.image), PNG).key)
        if page.source_jpeg is not None:  # the PDF embeds the scan's own JPEG, as in-process
            meta["source_jpeg_key"] = store.put_bytes(page.source_jpeg, "image/jpeg").key
        return meta

    with ThreadPoolExecutor(max_workers=min(UPLOAD_THREADS, max(1, len(pages)))) as pool:
        return list(pool.map(one, pages))


@dataclass(frozen=True)
class PreparedBatch:
    """A batch recorded and its pages stored, not yet sent: what :func:`dispatch_batch` sends."""

    ctx: BatchContext
    metas: list[dict[str, Any]]
    lang: str

    @property
    def batch_id(self) -> int:
        return self.ctx.batch_id

    @property
    def dossier_code(self) -> str:
        return self.ctx.dossier_code

    @property
    def batch(self) -> str:
        return str(self.ctx.batch_id)


def _services(settings: Settings) -> Services:
    return Services(settings, db=resources.database(settings), store=resources.store(settings))


def prepare_batch(
    paths: Sequence[Path],
    settings: Settings,
    *,
    dossier_code: str | None = None,
    procedure_code: str | None = None,
    station: str = "cli",
    certify: bool = False,
    batch_id: int | None = None,
    received_at: datetime | None = None,
) -> PreparedBatch:
    """The flow's intake steps, then every page image into the store. ``batch_id`` continues a
    batch the caller has recorded already (an upload answered 202)."""
    services = _services(settings)
    sources = steps.read(paths, settings)
    ctx = steps.take_in(
        sources, services, dossier_code=dossier_code, procedure_code=procedure_code, station=station,
        certify=certify, batch_id=batch_id, received_at=received_at,
    )
    metas = store_pages([page for source in sources for page in source.pages], services.store)
    return PreparedBatch(ctx, metas, settings.ocr_lang)


def dispatch_batch(prepared: PreparedBatch) -> Submitted:
    """One page task per page, joined by a chord whose callback plans the documents."""
    batch = prepared.batch
    ctx = prepared.ctx.to_json()
    header = group(
        page_task.s(batch, position, meta, prepared.lang, prepared.batch_id)
        for position, meta in enumerate(prepared.metas)
    )
    result = chord(header, plan_documents.s(batch, ctx)).apply_async(task_id=f"sohoa-{batch}-plan")
    log.info("batch %s: %d page(s) sent for dossier %s", batch, len(prepared.metas), prepared.dossier_code)
    return Submitted(prepared.batch_id, batch, prepared.dossier_code, len(prepared.metas), result)


def submit_batch(
    paths: Sequence[Path],
    settings: Settings,
    *,
    dossier_code: str | None = None,
    procedure_code: str | None = None,
    station: str = "cli",
    certify: bool = False,
    batch_id: int | None = None,
    received_at: datetime | None = None,
) -> Submitted:
    """Record a batch, store its pages and send one task per page; returns without waiting."""
    return dispatch_batch(
        prepare_batch(
            paths, settings, dossier_code=dossier_code, procedure_code=procedure_code, station=station,
            certify=certify, batch_id=batch_id, received_at=received_at,
        )
    )


def wait_for_batch(batch: str, settings: Settings, timeout: float | None = None, poll: float = 0.2) -> dict:
    """Block until the batch's last task wrote its summary; returns the summary (JSON).

    Polls the task state rather than joining results, so it works from any process, for a batch
    submitted by another one.
    """
    state = BatchState(resources.redis_client(app.conf.result_backend), batch)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        summary = state.summary()
        if summary is not None:
            return summary
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch} not finished after {timeout:.0f} s")
        time.sleep(poll)


def process_on_workers(
    paths: Sequence[Path],
    settings: Settings,
    *,
    dossier_code: str | None = None,
    procedure_code: str | None = None,
    certify: bool = True,
    out_dir: Path | None = None,
    station: str = "cli",
    received_at: datetime | None = None,
    timeout: float | None = None,
) -> ProcessResult:
    """``sohoa process`` with a broker: the whole flow on the workers, waited for here."""
    started = time.perf_counter()
    submitted = submit_batch(
        paths, settings, dossier_code=dossier_code, procedure_code=procedure_code, station=station,
        certify=certify, received_at=received_at,
    )
    summary = BatchSummary.from_json(wait_for_batch(submitted.batch, settings, timeout=timeout))
    written = write_out(summary, _services(settings), out_dir) if out_dir is not None else {}
    return ProcessResult(summary, time.perf_counter() - started, written)
