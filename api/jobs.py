"""Processing uploaded batches in the background, in the embedded mode.

The upload answer must come back in milliseconds while a batch takes seconds to minutes of OCR, so
each batch runs in a process of its own, of lower priority (``nice``): the page work competes with
the API's event loop only for what the API leaves idle, and the GIL of the serving process is never
held by image work. The batch record is the one made at upload time (``storage.batches``); the
runner continues it, so nothing flows back but the process's exit.

One process per batch, watched from the server, so that nothing stalls, nothing is lost and
nothing is done twice:

* a job process that dies (a crash, the kernel's OOM killer) costs only its own batch: the batch
  is started again, at most ``job_attempts`` times in all, then failed with the reason — a
  pool shared by every batch used to fail all of them when one process died;
* a job over its wall time or memory (its page workers included) is killed and its batch failed
  with that reason, so one hostile batch cannot hold up every other station's;
* a job claims its batch with a lease in the record and renews it while it runs; a batch still
  ``processing`` after a restart is taken up again only once the lease has lapsed, the rule the
  Celery runner keeps with its visibility timeout, so a job that outlived a killed server is never
  doubled by a second run;
* job processes (and their page workers) are killed by the kernel when the server dies
  (``PR_SET_PDEATHSIG`` down the chain of fork servers), so none outlives it as an orphan.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Self

import psutil

from api.uploads import remove_spool
from core.errors import SohoaError
from core.logs import configure_logging
from core.model import BatchStatus
from core.settings import Settings
from pipeline.executor import die_with_parent
from storage.batches import (
    BatchRecord,
    Lease,
    claim_batch,
    fail_batch,
    get_batch,
    give_back,
    record_progress,
    release_spool,
    renew_lease,
    requeue_unfinished,
    retry_or_fail,
    spooled,
)
from storage.db import Database, open_database

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes
LOST_LEASE_EXIT = 75  # a job that finds its batch taken up by another runner stops at once, with this code

_records: dict[str, Database] = {}
_records_lock = threading.Lock()


@dataclass(frozen=True)
class JobBudget:
    """What one batch's job process may take: wall time, memory (resident, with its page workers),
    starts in all, and how long its claim holds without a heartbeat."""

    seconds: float = 3600
    memory_mb: int = 4096
    attempts: int = 3
    lease_seconds: float = 40


def _init_job_process(niceness: int) -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if niceness:
        try:
            os.nice(niceness)
        except OSError:
            pass


def _job_main(batch_id: str, settings: Settings, niceness: int, lease: Lease) -> None:
    """A job process's whole life: die with the server, then claim and run one batch."""
    die_with_parent()
    configure_logging(logging.WARNING, settings.log_format)  # the server's format, personal IDs masked
    _init_job_process(niceness)
    run_batch(batch_id, settings, lease=lease)


def _noop() -> None:
    return None


@dataclass
class _Job:
    batch_id: str
    process: Any  # multiprocessing.Process (forkserver context)
    lease: Lease
    started: float
    over_budget: bool = False


class JobRunner:
    """One job process per batch, at most ``jobs`` at a time, watched by one thread of the server;
    ``submit`` never blocks the caller."""

    def __init__(self, settings: Settings, *, jobs: int = 1, niceness: int = 10, spool: Path | None = None,
                 budget: JobBudget | None = None) -> None:
        self.settings = settings
        self.spool = spool
        self.jobs = max(1, jobs)
        self.niceness = niceness
        self.budget = budget or JobBudget()
        self._context = multiprocessing.get_context("forkserver")
        self._queue: deque[str] = deque()
        self._running: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reap = time.monotonic()

    # -- the server's side ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the fork server (with the flow already imported, so each job starts in a blink)
        and the thread that starts and watches the jobs."""
        if self._thread is not None:
            return
        # forkserver: the serving process has threads; forking it directly could copy held locks.
        # The upload checks and verification (api.budget) fork from it too, with their parsers loaded.
        # flow.prewarmed loads what a batch's first page and document load lazily (Tesseract's probes
        # and word lists, the document-type model, the register and indexes, the invisible font).
        self._context.set_forkserver_preload(["api.jobs", "flow.run", "api.routes.auditors", "pikepdf",
                                              "pypdfium2", "flow.prewarmed"])
        try:  # the fork server starts (and imports the flow) now, not at the first upload
            warm = self._context.Process(target=_noop, name="sohoa-job-warm-up")
            warm.start()
            warm.join(timeout=120)
        except (OSError, RuntimeError) as exc:  # e.g. a __main__ they cannot import
            log.warning("job processes did not start (they are tried again on the first upload): %s", exc)
        self._thread = threading.Thread(target=self._watch, name="sohoa-jobs", daemon=True)
        self._thread.start()

    def submit(self, batch_id: str) -> None:
        """Queue a batch; it starts as soon as a job slot is free."""
        with self._lock:
            if batch_id in self._running or batch_id in self._queue:
                return
            self._queue.append(batch_id)
        if self._thread is None:
            self.start()
        self._wake.set()

    def resume(self) -> int:
        """Queue again what a previous server left unfinished; returns how many."""
        try:
            ids = requeue_unfinished(records(self.settings), max_attempts=self.budget.attempts)
            live = spooled(records(self.settings))
        except SohoaError as exc:  # the records are down: nothing can run until they are back
            log.error("unfinished batches not queued again: %s", exc)
            return 0
        for batch_id in ids:
            self.submit(batch_id)
        self._remove_orphan_spools(live)
        return len(ids)

    def _remove_orphan_spools(self, live: set[str]) -> None:
        """Spool folders of uploads cut short by a crash (no batch row points at them)."""
        if self.spool is None or not self.spool.is_dir():
            return
        for entry in self.spool.iterdir():
            if entry.name not in live and not entry.name.startswith("verify-"):
                log.info("removing the spool of an unfinished upload: %s", entry.name)
                remove_spool(entry)

    def shutdown(self) -> None:
        """Stop at once: running jobs are killed and their batches handed back (``queued``, the
        attempt not counted), so the next start resumes them without waiting for a lease."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            jobs = list(self._running.values())
            self._running.clear()
            self._queue.clear()
        for job in jobs:
            _kill_tree(job.process.pid)
            job.process.join(timeout=5)
            try:
                give_back(records(self.settings), job.batch_id, job.lease)
            except Exception:  # the lease lapses on its own; the next start resumes it then
                log.warning("batch %s: not handed back; resumed once its lease lapses", job.batch_id, exc_info=True)

    # -- the watching thread -------------------------------------------------------------------------

    def _watch(self) -> None:
        tick = max(0.2, min(1.0, self.budget.lease_seconds / 8))
        while not self._stop.is_set():
            try:
                self._start_queued()
                sentinels = [job.process.sentinel for job in self._running.values()]
                if sentinels:
                    wait(sentinels, timeout=tick)
                else:
                    self._wake.wait(timeout=tick)
                self._wake.clear()
                if self._stop.is_set():
                    return
                self._reap_finished()
                self._enforce_budgets()
                self._take_up_lapsed()
            except Exception:  # the watcher must outlive any one fault
                log.exception("the job watcher hit a fault; it carries on")
                time.sleep(tick)

    def _start_queued(self) -> None:
        while True:
            with self._lock:
                if len(self._running) >= self.jobs or not self._queue:
                    return
                batch_id = self._queue.popleft()
            lease = Lease(owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}",
                          seconds=self.budget.lease_seconds)
            process = self._context.Process(
                target=_job_main, args=(batch_id, self.settings, self.niceness, lease),
                name=f"sohoa-job-{batch_id[:8]}", daemon=False,
            )
            try:
                process.start()
            except (OSError, RuntimeError) as exc:
                log.error("batch %s: cannot start a job process (%s); it stays queued", batch_id, exc)
                with self._lock:
                    self._queue.appendleft(batch_id)
                return
            with self._lock:
                self._running[batch_id] = _Job(batch_id, process, lease, time.monotonic())

    def _reap_finished(self) -> None:
        with self._lock:
            done = [job for job in self._running.values() if not job.process.is_alive()]
        for job in done:
            job.process.join(timeout=1)
            with self._lock:
                self._running.pop(job.batch_id, None)
            code = job.process.exitcode
            if code == 0 or code == LOST_LEASE_EXIT or job.over_budget:
                continue
            reason = _death_reason(code)
            log.error("batch %s: %s", job.batch_id, reason)
            try:
                outcome = retry_or_fail(records(self.settings), job.batch_id, reason,
                                        max_attempts=self.budget.attempts)
            except Exception:  # the records are down; the lease lapses and a later pass retries
                log.exception("batch %s: cannot record that its job died", job.batch_id)
                continue
            if outcome is None:  # died before its claim: the batch is still queued, and still needs a job
                batch = get_batch(records(self.settings), job.batch_id)
                if batch is not None and batch.status == BatchStatus.QUEUED and batch.spool_dir:
                    outcome = BatchStatus.QUEUED
            if outcome is BatchStatus.QUEUED:
                self.submit(job.batch_id)

    def _enforce_budgets(self) -> None:
        with self._lock:
            jobs = list(self._running.values())
        limit = self.budget.memory_mb * 2**20
        for job in jobs:
            if job.over_budget:
                continue
            elapsed = time.monotonic() - job.started
            reason = None
            if elapsed > self.budget.seconds:
                reason = (f"processing took longer than {self.budget.seconds:.0f} s "
                          "(SOHOA_API_JOB_SECONDS); stopped")
            else:
                used = _tree_rss(job.process.pid)
                if used > limit:
                    reason = (f"processing needed more than {self.budget.memory_mb} MiB of memory "
                              f"({used / 2**20:.0f} MiB, SOHOA_API_JOB_MEMORY_MB); stopped")
            if reason is None:
                continue
            job.over_budget = True
            _kill_tree(job.process.pid)
            log.error("batch %s: %s", job.batch_id, reason)
            _fail(self.settings, job.batch_id, reason)

    def _take_up_lapsed(self) -> None:
        """Batches whose lease lapsed while this server ran (their job died with another server)."""
        if time.monotonic() - self._last_reap < self.budget.lease_seconds / 2:
            return
        self._last_reap = time.monotonic()
        with self._lock:
            mine = set(self._running) | set(self._queue)
        try:
            ids = requeue_unfinished(records(self.settings), max_attempts=self.budget.attempts)
        except SohoaError as exc:
            log.warning("lapsed batches not looked for: %s", exc)
            return
        for batch_id in ids:
            if batch_id not in mine:
                self.submit(batch_id)


def _death_reason(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
        if -code == signal.SIGKILL:
            return "the job process was killed (SIGKILL: out of memory, or stopped by an operator)"
        return f"the job process died ({name})"
    return f"the job process stopped with exit code {code}"


def _tree_rss(pid: int) -> int:
    """Resident memory of a job process and everything it started (page workers, Tesseract)."""
    try:
        root = psutil.Process(pid)
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return 0


def _kill_tree(pid: int | None) -> None:
    """SIGKILL a job process and what it started, children first found, so none is left behind."""
    if pid is None:
        return
    try:
        root = psutil.Process(pid)
        children = root.children(recursive=True)
    except psutil.Error:
        return
    for proc in [root, *children]:
        try:
            proc.kill()
        except psutil.Error:
            pass


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


class _Heartbeat:
    """Renews a running batch's lease every quarter of its length. If the batch turns out to be
    another runner's (this one was presumed dead and its lease lapsed), the process stops at once:
    writing on would do the batch twice."""

    def __init__(self, db: Database, batch_id: str, lease: Lease) -> None:
        self.db, self.batch_id, self.lease = db, batch_id, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sohoa-heartbeat", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.lease.seconds / 4):
            try:
                if renew_lease(self.db, self.batch_id, self.lease):
                    continue
                batch = get_batch(self.db, self.batch_id)
            except Exception:  # the records are briefly away: try at the next beat
                log.warning("batch %s: lease not renewed", self.batch_id, exc_info=True)
                continue
            if self._stop.is_set() or batch is None or batch.status != BatchStatus.PROCESSING:
                return  # finished (or failed by the server) in the meantime: nothing to hold
            log.error("batch %s: its lease was taken over by another runner; this job stops", self.batch_id)
            os._exit(LOST_LEASE_EXIT)


def run_batch(batch_id: str, settings: Settings, *, lease: Lease | None = None) -> str:
    """Claim one uploaded batch and run it: in this process, or on the workers with a broker.

    ``batch_id`` is the public id. The record made at upload time is the one the runner continues
    (``batch_id=`` the record's id), so progress, errors, status and documents land in it
    directly; this function adds only the line the station is shown when the run is refused.
    With a ``lease``, the claim is renewed by a heartbeat for as long as the run lasts."""
    db = records(settings)
    batch = claim_batch(db, batch_id, agency=settings.agency, lease=lease)
    if batch is None:
        return "skipped"
    if lease is None:
        return _run_claimed(batch, batch_id, settings, db)
    with _Heartbeat(db, batch_id, lease):
        return _run_claimed(batch, batch_id, settings, db)


def _run_claimed(batch: BatchRecord, batch_id: str, settings: Settings, db: Database) -> str:
    from flow.run import process_paths  # the flow (OpenCV, pyHanko) loads in job processes, not the API

    if batch.spool_dir is None:  # claimed, but its files were handed over before: nothing to run
        _fail(settings, batch_id, "the upload's files are no longer on this server; upload them again")
        return "failed"
    if batch.official:  # the uploading key's official signs the scans, as with `sohoa process --official`
        settings = settings.model_copy(update={"digitizing_official": batch.official})
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
            db=db,
        )
    except SohoaError as exc:
        message = rename(str(exc), names, spool)
        log.info("batch %s refused by the pipeline: %s", batch_id, message)
        _fail(settings, batch_id, message)
        return "failed"
    except MemoryError:
        log.error("batch %s: out of memory", batch_id)
        _fail(settings, batch_id, "processing ran out of memory; the batch is too large for this server")
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
