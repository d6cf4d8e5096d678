"""``sohoa worker``, ``sohoa submit``, ``sohoa status`` and ``sohoa bench pipeline``."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from cli.progress import StageBar
from core.errors import ConfigError, InputError
from core.settings import Settings
from workers.app import app
from workers.status import batch_status, format_status
from workers.submit import submit_batch

DEFAULT_QUEUES = "sohoa.pages,sohoa.documents,sohoa.certify"


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "worker",
        help="run a Celery worker (page OCR, documents, certification)",
        description="Run a Celery worker against SOHOA_BROKER_URL (default redis://127.0.0.1:6379/0), "
        "sharing SOHOA_STORE_URL and SOHOA_DATABASE_URL with every other worker and submitter.",
    )
    p.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=None,
        help="pool processes (default: one per core; Tesseract runs single-threaded)",
    )
    p.add_argument(
        "--queues", "-Q", default=DEFAULT_QUEUES, help=f"queues to consume (default: {DEFAULT_QUEUES})"
    )
    p.add_argument("--hostname", "-n", default=None, help="worker name (default: sohoa-PID@host)")
    p.add_argument(
        "--max-tasks-per-child",
        type=int,
        default=None,
        help="recycle a pool process after this many tasks (default: SOHOA_WORKER_MAX_TASKS)",
    )
    p.add_argument("--loglevel", "-l", default="INFO")
    p.add_argument(
        "--metrics-port", type=int, default=None, metavar="PORT",
        help="serve this worker's figures for Prometheus on PORT (every pool process's steps, pages, documents)",
    )
    p.set_defaults(handler=_worker)

    p = commands.add_parser("submit", help="send a dossier's files to the Celery workers as one batch")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="scanned files of the dossier")
    p.add_argument("--dossier", help="dossier code (MaHoSo); default: derived from the files")
    p.add_argument("--procedure", help="administrative procedure code (MaTTHC)")
    p.add_argument("--station", default="cli", help="scanning station code recorded with the batch")
    p.add_argument("--certify", action="store_true", help="also certify each document once it is stored")
    p.add_argument("--wait", action="store_true", help="wait for the batch to finish and print its status")
    p.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_submit)

    p = commands.add_parser(
        "status", help="progress of a batch: pages done/total, documents by state, errors"
    )
    p.add_argument(
        "batch", type=int, metavar="BATCH", help="batch id (printed by sohoa submit / sohoa process)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_status)

    b = bench.add_parser(
        "pipeline",
        help="pages/min in-process vs 1..N Celery workers on the same generated batch",
        description="Generate one batch, run it through the in-process executor and through N Celery workers "
        "(one pool process each, started here), and print pages/min, scaling efficiency and broker overhead.",
    )
    b.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated (default 1,2)")
    b.add_argument("--pages", type=int, default=12, help="pages in the generated batch (default 12)")
    b.add_argument("--size", choices=("a5", "a4"), default="a4", help="page size at 150 dpi (default a4)")
    b.add_argument(
        "--broker",
        default=None,
        help="broker URL for the run (default: database 14 of the local "
        "Redis, never SOHOA_BROKER_URL: production workers there would take the bench's tasks)",
    )
    b.add_argument(
        "--repeat", type=int, default=1, help="runs per configuration, the fastest kept (default 1)"
    )
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(handler=_bench)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if settings.development_signer and not settings.allow_dev_signer:
        raise ConfigError(
            "no agency signer configured (SOHOA_SIGNER_PKCS12 or SOHOA_PKCS11_MODULE): this worker would "
            "certify with a development PKI of its own, and copies made on different machines would chain "
            "to different roots; configure the agency's key, or set SOHOA_ALLOW_DEV_SIGNER=true on a "
            "development or test deployment"
        )

    from celery.app import trace

    from core.logs import configure_logging

    # Worker logs interleave several processes: give every line its time and process.
    configure_logging(args.loglevel.upper(), settings.log_format,
                      "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
    # Celery logs each task's return value at INFO: a document's fields, names and personal IDs.
    trace.LOG_SUCCESS = "Task %(name)s[%(id)s] succeeded in %(runtime)ss"

    if args.metrics_port is not None:
        _serve_metrics(args.metrics_port, settings, args.hostname or f"sohoa-{os.getpid()}")

    # No mingle or gossip: sohoa revokes nothing and watches no events, and each costs a round of
    # broadcast traffic per worker start.
    argv = [
        "worker",
        "--queues",
        args.queues,
        "--loglevel",
        args.loglevel,
        "--without-mingle",
        "--without-gossip",
        "--hostname",
        args.hostname or f"sohoa-{os.getpid()}@{socket.gethostname()}",
    ]
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise InputError("--concurrency must be at least 1")
        argv += ["--concurrency", str(args.concurrency)]
    if args.max_tasks_per_child is not None:
        argv += ["--max-tasks-per-child", str(args.max_tasks_per_child)]
    app.worker_main(argv)
    return 0


def _serve_metrics(port: int, settings: Settings, name: str) -> None:
    """An exporter in the worker's main process adding up what its pool processes measured: they
    are forked after this, so they write to the folder set here (:mod:`core.metrics`)."""
    from core import metrics

    folder = metrics.use_folder((settings.metrics_dir or settings.data_dir / "metrics") / f"worker-{name}")
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    try:
        start_http_server(port, registry=registry)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on port {port}: {exc.strerror}") from exc


def _submit(args: argparse.Namespace, settings: Settings) -> int:
    submitted = submit_batch(
        args.paths,
        settings,
        dossier_code=args.dossier,
        procedure_code=args.procedure,
        station=args.station,
        certify=args.certify,
    )
    if not args.wait:
        if args.json:
            print(
                json.dumps(
                    {
                        "batch_id": submitted.batch_id,
                        "dossier": submitted.dossier_code,
                        "pages": submitted.pages,
                    }
                )
            )
        else:
            print(
                f"batch {submitted.batch_id}: {submitted.pages} page(s) of dossier "
                f"{submitted.dossier_code} sent; follow it with: sohoa status {submitted.batch_id}"
            )
        return 0
    try:
        _wait(submitted, settings, args.timeout)
    except TimeoutError as exc:
        raise InputError(f"{exc}; it goes on in the workers (sohoa status {submitted.batch_id})") from exc
    return _print_status(submitted.batch_id, settings, as_json=args.json)


def _wait(submitted: Any, settings: Settings, timeout: float | None) -> None:
    """Wait for the batch's last task (after every document's certification, when asked) and show
    each stage's progress meanwhile on stderr: a bar per stage on a terminal, else one line each
    time the figures change."""
    from storage.backup import open_existing_database
    from storage.progress import stage_progress
    from workers import resources
    from workers.state import BatchState

    state = BatchState(resources.redis_client(app.conf.result_backend), submitted.batch)
    db = open_existing_database(settings.resolved_database_url)
    deadline = None if timeout is None else time.monotonic() + timeout
    bar = StageBar(sys.stderr)
    try:
        while state.summary() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"batch {submitted.batch_id} not finished after {timeout:.0f} s")
            bar.show(stage_progress(db, submitted.batch_id))
            time.sleep(0.5)
        bar.show(stage_progress(db, submitted.batch_id))
    finally:
        bar.close()
        db.dispose()


def _status(args: argparse.Namespace, settings: Settings) -> int:
    return _print_status(args.batch, settings, as_json=args.json)


def _print_status(batch_id: int, settings: Settings, *, as_json: bool) -> int:
    status = batch_status(batch_id, settings)
    print(json.dumps(status, ensure_ascii=False, indent=2) if as_json else format_status(status))
    return 0


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.pipeline import format_report, run_pipeline_bench

    try:
        counts = sorted({int(n) for n in args.workers.split(",") if n.strip()})
    except ValueError as exc:
        raise InputError(f"--workers wants numbers separated by commas, not {args.workers!r}") from exc
    if not counts or counts[0] < 1:
        raise InputError("--workers wants counts of at least 1")
    if args.pages < 1:
        raise InputError("--pages must be at least 1")
    if args.repeat < 1:
        raise InputError("--repeat must be at least 1")
    report = run_pipeline_bench(
        settings, counts=counts, pages=args.pages, size=args.size, broker=args.broker, repeat=args.repeat
    )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
