"""Processing uploaded batches in the background, in the embedded mode.

The upload answer must come back in milliseconds while a batch takes seconds to minutes of OCR, so
each batch runs in a separate, lower-priority process (``nice``): the page work competes with the
API's event loop only for what the API leaves idle, and the GIL of the serving process is never
held by image work. The job process reads and writes the batch row itself (progress, result), so
nothing flows back through the pool but "finished".

A batch is processed at most once: a job first claims its row (``queued`` → ``processing`` in one
conditional UPDATE); a second submission of the same id finds nothing to claim and returns. On
start, the API queues again whatever a stopped server left queued or half done.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from api.db import BatchStatus, api_batches, engine_for, utcnow
from api.uploads import remove_spool
from core.settings import Settings

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes


def _init_job_process(niceness: int) -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if niceness:
        try:
            os.nice(niceness)
        except OSError:
            pass


def _noop(_: object) -> None:
    return None


class JobRunner:
    """A small pool of job processes; ``submit`` never blocks the caller."""

    def __init__(self, settings: Settings, *, jobs: int = 1, niceness: int = 10, spool: Path | None = None) -> None:
        self.settings = settings
        self.spool = spool
        self.jobs = max(1, jobs)
        self.niceness = niceness
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: the serving process has threads; forking it directly could copy held locks.
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_job_process,
                initargs=(self.niceness,),
            )
        return self._pool

    def start(self) -> None:
        """Start the job processes now, so the first upload does not wait for them."""
        try:
            list(self._executor().map(_noop, range(self.jobs)))
        except (BrokenProcessPool, OSError, RuntimeError) as exc:  # e.g. a __main__ they cannot import
            log.warning("job processes did not start (they are tried again on the next upload): %s", exc)
            self._pool = None

    def submit(self, batch_id: str) -> None:
        """Queue a batch; a pool broken by a dead job process is replaced, and a batch that cannot
        be queued at all stays ``queued`` in its row for the next start."""
        for attempt in range(2):
            try:
                future = self._executor().submit(run_batch, batch_id, self.settings)
            except (BrokenProcessPool, RuntimeError, OSError) as exc:
                self._pool = None
                if attempt:
                    log.error("batch %s: cannot start a job process (%s); it stays queued", batch_id, exc)
                    return
                continue
            future.add_done_callback(lambda f: self._done(batch_id, f))
            return

    def _done(self, batch_id: str, future: Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, BrokenProcessPool):
            self._pool = None  # a job process died; the next submit starts a fresh pool
        if exc is not None:
            # The job process died (killed, out of memory) before it could record the failure.
            log.error("batch %s: job process failed: %s", batch_id, exc)
            _finish(self.settings, batch_id, status=BatchStatus.FAILED, error=f"processing stopped: {exc}")

    def resume(self) -> int:
        """Queue again what a previous server left unfinished; returns how many."""
        engine = engine_for(self.settings.resolved_database_url)
        with engine.begin() as conn:
            conn.execute(
                update(api_batches)
                .where(api_batches.c.status == BatchStatus.PROCESSING)
                .values(status=BatchStatus.QUEUED)
            )
            ids = conn.execute(
                select(api_batches.c.id).where(api_batches.c.status == BatchStatus.QUEUED).order_by(api_batches.c.created)
            ).scalars().all()
        for batch_id in ids:
            self.submit(batch_id)
        self._remove_orphan_spools(set(ids))
        return len(ids)

    def _remove_orphan_spools(self, live: set[str]) -> None:
        """Spool folders of uploads cut short by a crash (no batch row points at them)."""
        if self.spool is None or not self.spool.is_dir():
            return
        for entry in self.spool.iterdir():
            if entry.name not in live:
                log.info("removing the spool of an unfinished upload: %s", entry.name)
                remove_spool(entry)

    def shutdown(self) -> None:
        """Stop at once: a batch cut short is still ``processing`` in its row and is queued again
        on the next start (the pipeline writes its records only at the end, in one go)."""
        if self._pool is not None:
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                process.join(timeout=5)
            self._pool = None


def _finish(settings: Settings, batch_id: str, **values: Any) -> None:
    engine = engine_for(settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(
            update(api_batches)
            .where(api_batches.c.id == batch_id, api_batches.c.status.in_([BatchStatus.QUEUED, BatchStatus.PROCESSING]))
            .values(finished=utcnow(), **values)
        )


def run_batch(batch_id: str, settings: Settings) -> str:
    """Run the pipeline over one uploaded batch and record the outcome in its row."""
    from core.errors import SohoaError
    from flow.run import process_paths

    engine = engine_for(settings.resolved_database_url)
    with engine.begin() as conn:
        claimed = conn.execute(
            update(api_batches)
            .where(api_batches.c.id == batch_id, api_batches.c.status == BatchStatus.QUEUED)
            .values(status=BatchStatus.PROCESSING, started=utcnow(), attempts=api_batches.c.attempts + 1)
        ).rowcount
        row = conn.execute(select(api_batches).where(api_batches.c.id == batch_id)).mappings().first()
    if not claimed or row is None:
        return "skipped"

    spool = Path(row["spool_dir"])
    files = row["files"]
    names = {f["spool_name"]: f["name"] for f in files}
    paths = [spool / f["spool_name"] for f in files]
    done = 0
    last_write = 0.0

    def write_progress(**values: Any) -> None:
        with engine.begin() as conn:
            conn.execute(update(api_batches).where(api_batches.c.id == batch_id).values(**values))

    def pages_read(count: int) -> None:
        write_progress(pages_total=count)

    def page_done(_page: object) -> None:
        nonlocal done, last_write
        done += 1
        now = time.monotonic()
        if now - last_write >= PROGRESS_EVERY:
            last_write = now
            write_progress(pages_done=done)

    if settings.broker_url:
        return _dispatch_to_workers(batch_id, row, paths, settings, names, spool)

    record_batch = _start_record_batch(settings, row)
    write_progress(storage_batch_id=record_batch)
    try:
        result = process_paths(
            paths,
            settings,
            dossier_code=row["dossier_code"],
            procedure_code=row["procedure_code"],
            certify=bool(row["certify"]),
            station=row["station"],
            batch_id=record_batch,
            on_pages_read=pages_read,
            on_page_done=page_done,
        )
    except SohoaError as exc:
        message = _rename(str(exc), names, spool)
        log.info("batch %s refused by the pipeline: %s", batch_id, message)
        _fail_record_batch(settings, record_batch, message)
        _finish(settings, batch_id, status=BatchStatus.FAILED, error=message, pages_done=done)
        remove_spool(spool)
        return "failed"
    except Exception as exc:  # a bug: keep the traceback in the log, one line in the batch
        log.exception("batch %s failed", batch_id)
        _fail_record_batch(settings, record_batch, f"internal error: {type(exc).__name__}")
        _finish(settings, batch_id, status=BatchStatus.FAILED, error=f"internal error: {type(exc).__name__}")
        remove_spool(spool)
        return "failed"

    payload = result.to_dict()
    for document in payload["documents"]:  # type: ignore[union-attr]
        document["pages"] = [_rename(label, names, spool) for label in document["pages"]]
        document.pop("certified_path", None)  # a path on this server: of no use to a client
    _finish(
        settings,
        batch_id,
        status=BatchStatus.DONE,
        result=payload,
        storage_batch_id=result.batch_id,
        pages_total=result.pages,
        pages_done=result.pages,
    )
    remove_spool(spool)
    return "done"


def _start_record_batch(settings: Settings, row: Any) -> int | None:
    """The batch in the dossier records, started when processing starts (not in the upload answer,
    whose time budget the audit chain's lock would eat into), so ``sohoa status`` sees it too."""
    from storage.archive import start_batch
    from storage.db import open_database

    db = open_database(settings.resolved_database_url)
    try:
        return start_batch(
            db, station=row["station"], dossier_code=row["dossier_code"], procedure_code=row["procedure_code"],
            files=len(row["files"]), agency=settings.agency, actor=row["station"],
        )
    finally:
        db.dispose()


def _fail_record_batch(settings: Settings, record_batch: int | None, message: str) -> None:
    """``process_paths`` marks its batch failed for errors after reading; a refusal while reading
    (a file ingest cannot decode) is recorded here."""
    if record_batch is None:
        return
    from storage.archive import update_batch
    from storage.db import open_database

    db = open_database(settings.resolved_database_url)
    try:
        update_batch(db, record_batch, status="failed", error=message)
    except Exception:  # the API's own row still says why; the record is a courtesy
        log.warning("batch %s: cannot mark the record failed", record_batch, exc_info=True)
    finally:
        db.dispose()


def _dispatch_to_workers(
    batch_id: str, row: Any, paths: list[Path], settings: Settings, names: dict[str, str], spool: Path
) -> str:
    """With a broker configured, hand the batch to the Celery workers (``workers.submit``): the
    originals and page images go to the object store and one task per page to the broker. The
    row stays ``processing`` and points at the record batch; ``sync_from_records`` finishes it."""
    from core.errors import SohoaError
    from workers.submit import submit_batch

    try:
        submitted = submit_batch(
            paths, settings, dossier_code=row["dossier_code"], procedure_code=row["procedure_code"],
            station=row["station"], certify=bool(row["certify"]),
        )
    except SohoaError as exc:
        _finish(settings, batch_id, status=BatchStatus.FAILED, error=_rename(str(exc), names, spool))
        remove_spool(spool)
        return "failed"
    except Exception as exc:  # the broker or the store is down: one line in the batch, traceback in the log
        log.exception("batch %s: cannot hand it to the workers", batch_id)
        _finish(settings, batch_id, status=BatchStatus.FAILED, error=f"cannot reach the workers: {type(exc).__name__}")
        remove_spool(spool)
        return "failed"
    engine = engine_for(settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(
            update(api_batches).where(api_batches.c.id == batch_id).values(
                storage_batch_id=submitted.batch_id, pages_total=submitted.pages, result={"mode": "workers"}
            )
        )
    remove_spool(spool)
    return "dispatched"


def sync_from_records(engine: Any, records: Any, row: Any) -> Any:
    """For a batch on the workers: copy progress, and the documents once finished, from the records."""
    from sqlalchemy import select as sa_select

    from storage.models import Document
    from storage.records import batch_progress

    progress = batch_progress(records, row["storage_batch_id"])
    values: dict[str, Any] = {"pages_done": progress.pages_done, "pages_total": progress.pages_total}
    if progress.status in (BatchStatus.DONE, BatchStatus.FAILED):
        with records.session() as session:
            docs = session.scalars(
                sa_select(Document).where(Document.batch_id == row["storage_batch_id"]).order_by(Document.id)
            ).all()
            documents = [
                {
                    "index": i, "document_id": d.id, "doc_type": d.doc_type, "confidence": d.type_confidence,
                    "pages": [f"p.{n + 1}" for n in range(d.page_count)], "fields": dict(d.fields),
                    "needs_review": sorted(k for k, f in d.fields.items() if isinstance(f, dict) and f.get("needs_review")),
                    "sha256": d.pdf_sha256, "reused_from": d.reused_from_id,
                }
                for i, d in enumerate(docs, start=1)
            ]
        values.update(
            status=progress.status, finished=progress.finished or utcnow(),
            result={"mode": "workers", "documents": documents},
            error="; ".join(progress.errors) or None if progress.status == BatchStatus.FAILED else None,
        )
    with engine.begin() as conn:
        conn.execute(update(api_batches).where(api_batches.c.id == row["id"]).values(**values))
        return conn.execute(select(api_batches).where(api_batches.c.id == row["id"])).mappings().first()


def _rename(text: str, names: dict[str, str], spool: Path) -> str:
    """Show the station's own file names, not the spool's, in labels and messages."""
    text = text.replace(str(spool) + os.sep, "")
    for spool_name, name in names.items():
        text = text.replace(spool_name, name)
    return text
