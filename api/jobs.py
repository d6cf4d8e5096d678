"""Processing uploaded batches in the background, in the embedded mode.

The upload answer must come back in milliseconds while a batch takes seconds to minutes of OCR, so
each batch runs in a separate, lower-priority process (``nice``): the page work competes with the
API's event loop only for what the API leaves idle, and the GIL of the serving process is never
held by image work. The batch record is the one made at upload time (``storage.batches``); the
runner continues it, so nothing flows back through the pool but "finished", and nothing is copied.

A batch is processed at most once: a job first claims its record (``queued`` → ``processing`` in
one conditional UPDATE); a second submission of the same id finds nothing to claim and returns. On
start, the API queues again whatever a stopped server left queued or half done (an upload whose
files still wait in the spool).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from api.uploads import remove_spool
from core.errors import SohoaError
from core.settings import Settings
from storage.batches import (
    BatchRecord,
    claim_batch,
    fail_batch,
    record_progress,
    release_spool,
    requeue_unfinished,
)
from storage.db import Database, open_database

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes

_records: dict[str, Database] = {}
_records_lock = threading.Lock()


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
            _fail(self.settings, batch_id, f"processing stopped: {exc}")

    def resume(self) -> int:
        """Queue again what a previous server left unfinished; returns how many."""

        try:
            ids = requeue_unfinished(records(self.settings))
        except SohoaError as exc:  # the records are down: nothing can run until they are back
            log.error("unfinished batches not queued again: %s", exc)
            return 0
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


def records(settings: Settings) -> Database:
    """The records database, opened once per process (the API's and each job process's)."""
    url = settings.resolved_database_url
    with _records_lock:
        db = _records.get(url)
        if db is None:
            db = _records[url] = open_database(url)
        return db


def _fail(settings: Settings, batch_id: str, error: str) -> None:
    try:
        fail_batch(records(settings), batch_id, error)
    except Exception:  # the database itself is gone: the log keeps the reason
        log.exception("batch %s: cannot record its failure (%s)", batch_id, error)


def run_batch(batch_id: str, settings: Settings) -> str:
    """Claim one uploaded batch and run it: in this process, or on the workers with a broker.

    ``batch_id`` is the public id. The record made at upload time is the one the runner continues
    (``batch_id=`` the record's id), so progress, errors, status and documents land in it
    directly; this function adds only the line the station is shown when the run is refused."""
    from flow.run import process_paths  # the flow (OpenCV, pyHanko) loads in job processes, not the API

    db = records(settings)
    batch = claim_batch(db, batch_id, agency=settings.agency)
    if batch is None:
        return "skipped"
    if batch.spool_dir is None:  # claimed, but its files were handed over before: nothing to run
        _fail(settings, batch_id, "the upload's files are no longer on this server; upload them again")
        return "failed"
    spool = Path(batch.spool_dir)
    names = {f["spool_name"]: f["name"] for f in batch.files}
    paths = [spool / f["spool_name"] for f in batch.files]

    if settings.broker_url:
        return _dispatch_to_workers(batch, paths, settings, names, spool)

    done = 0
    last_write = 0.0

    def pages_read(count: int) -> None:
        record_progress(db, batch.id, pages_total=count)

    def page_done(_page: object) -> None:
        nonlocal done, last_write
        done += 1
        now = time.monotonic()
        if now - last_write >= PROGRESS_EVERY:
            last_write = now
            record_progress(db, batch.id, pages_done=done)

    try:
        process_paths(
            paths,
            settings,
            dossier_code=batch.dossier_code,
            procedure_code=batch.procedure_code,
            certify=batch.certify,
            station=batch.station,
            batch_id=batch.id,
            on_pages_read=pages_read,
            on_page_done=page_done,
        )
    except SohoaError as exc:
        message = rename(str(exc), names, spool)
        log.info("batch %s refused by the pipeline: %s", batch_id, message)
        _fail(settings, batch_id, message)
        return "failed"
    except Exception as exc:  # a bug: keep the traceback in the log, one line in the batch
        log.exception("batch %s failed", batch_id)
        _fail(settings, batch_id, f"internal error: {type(exc).__name__}")
        return "failed"
    finally:
        _let_go(db, batch.id, spool)
    return "done"


def _let_go(db: Database, record_id: int, spool: Path) -> None:
    """The spool's files are no longer needed (stored by the run, or refused): remove them."""
    remove_spool(spool)
    try:
        release_spool(db, record_id)
    except Exception:  # the row still names the spool; a restart finds it empty and fails the batch
        log.warning("batch %s: cannot clear its spool folder in the record", record_id, exc_info=True)


def _dispatch_to_workers(
    batch: BatchRecord, paths: list[Path], settings: Settings, names: dict[str, str], spool: Path
) -> str:
    """With a broker configured, hand the batch to the Celery workers (``workers.submit``): the
    originals and page images go to the object store and one task per page to the broker. The
    workers continue the same record (``batch_id=``) and finish it themselves."""
    from workers.submit import submit_batch  # Celery loads only where a broker is configured

    db = records(settings)
    try:
        submit_batch(
            paths, settings, dossier_code=batch.dossier_code, procedure_code=batch.procedure_code,
            station=batch.station, certify=batch.certify, batch_id=batch.id,
        )
    except SohoaError as exc:
        _fail(settings, batch.public_id, rename(str(exc), names, spool))
        return "failed"
    except Exception as exc:  # the broker or the store is down: one line in the batch, traceback in the log
        log.exception("batch %s: cannot hand it to the workers", batch.public_id)
        _fail(settings, batch.public_id, f"cannot reach the workers: {type(exc).__name__}")
        return "failed"
    finally:
        _let_go(db, batch.id, spool)
    return "dispatched"


def rename(text: str, names: dict[str, str], spool: Path | None) -> str:
    """Show the station's own file names, not the spool's, in labels and messages."""
    if spool is not None:
        text = text.replace(str(spool) + os.sep, "")
    for spool_name, name in names.items():
        text = text.replace(spool_name, name)
    return text
