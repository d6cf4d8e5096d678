"""Handing a batch to the workers, and waiting for it.

The submitting process does what only it can: read the files it was given (ingest refuses bad input
before anything is written), record the batch and its originals, and put each page image into the
object store as a PNG. Then it sends one small JSON message per page. Everything after that runs
on whichever workers are up, and any process can follow the batch through ``sohoa status``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from celery import chord, group
from celery.result import AsyncResult

from core.model import Page
from core.settings import Settings
from workers.serialize import PNG, encode_png, image_sha256, page_to_json

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
    from dataclasses import replace

    def one(page: Page) -> dict[str, Any]:
        if not page.image_sha256:
            page = replace(page, image_sha256=image_sha256(page.image))
        return page_to_json(page, store.put_bytes(encode_png(page.image), PNG).key)

    with ThreadPoolExecutor(max_workers=min(UPLOAD_THREADS, max(1, len(pages)))) as pool:
        return list(pool.map(one, pages))


def default_dossier_code(source_hashes: Sequence[str]) -> str:
    """Same rule as the in-process pipeline: the day plus a digest of the files handed in."""
    digest = hashlib.sha256("".join(source_hashes).encode()).hexdigest()
    return f"HS-{datetime.now(UTC):%Y%m%d}-{digest[:6].upper()}"


@dataclass(frozen=True)
class PreparedBatch:
    """A batch recorded and its pages stored, not yet sent: what :func:`dispatch_batch` sends."""

    batch_id: int
    dossier_code: str
    metas: list[dict[str, Any]]
    ctx: dict[str, Any]
    lang: str

    @property
    def batch(self) -> str:
        return str(self.batch_id)


def prepare_batch(
    paths: Sequence[Path],
    settings: Settings,
    *,
    dossier_code: str | None = None,
    procedure_code: str | None = None,
    station: str = "cli",
    certify: bool = False,
) -> PreparedBatch:
    """Read the files, record the batch and its originals, store every page image."""
    from flow.run import read_sources
    from storage.archive import record_source_file, start_batch, update_batch
    from workers import resources

    sources = read_sources(paths, settings)
    pages = [page for source in sources for page in source.pages]
    dossier_code = dossier_code or default_dossier_code([s.data_sha256 for s in sources])
    store = resources.store(settings)
    db = resources.database(settings)
    batch_id = start_batch(
        db,
        station=station,
        dossier_code=dossier_code,
        procedure_code=procedure_code,
        files=len(sources),
        agency=settings.agency,
        actor=station,
    )
    source_keys = [
        record_source_file(
            db, store, batch_id=batch_id, name=s.name, data=s.path, media_type=s.media_type, actor=station
        ).key
        for s in sources
    ]
    metas = store_pages(pages, store)
    update_batch(db, batch_id, pages_total=len(pages))
    ctx = {
        "batch_id": batch_id,
        "dossier_code": dossier_code,
        "procedure_code": procedure_code,
        "source_keys": source_keys,
        "station": station,
        "certify": certify,
        "pages_total": len(pages),
    }
    return PreparedBatch(batch_id, dossier_code, metas, ctx, settings.ocr_lang)


def dispatch_batch(prepared: PreparedBatch) -> Submitted:
    """One page task per page, joined by a chord whose callback plans the documents."""
    from workers.tasks import page_task, plan_documents

    batch = prepared.batch
    header = group(
        page_task.s(batch, position, meta, prepared.lang, prepared.batch_id)
        for position, meta in enumerate(prepared.metas)
    )
    result = chord(header, plan_documents.s(batch, prepared.ctx)).apply_async(task_id=f"sohoa-{batch}-plan")
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
) -> Submitted:
    """Record a batch, store its pages and send one task per page; returns without waiting."""
    return dispatch_batch(
        prepare_batch(
            paths,
            settings,
            dossier_code=dossier_code,
            procedure_code=procedure_code,
            station=station,
            certify=certify,
        )
    )


def wait_for_batch(batch: str, settings: Settings, timeout: float | None = None, poll: float = 0.2) -> dict:
    """Block until the batch's last task wrote its summary; returns the summary.

    Polls the task state rather than joining results, so it works from any process, for a batch
    submitted by another one.
    """
    from workers.app import app
    from workers.resources import redis_client
    from workers.state import BatchState

    state = BatchState(redis_client(app.conf.result_backend), batch)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        summary = state.summary()
        if summary is not None:
            return summary
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch} not finished after {timeout:.0f} s")
        time.sleep(poll)
