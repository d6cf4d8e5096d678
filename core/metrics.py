"""The flow's own measurements for Prometheus: how long each step takes, how often it fails, and how
many pages and documents went through.

The work runs in many processes (the API's job processes and page workers, Celery's pool
processes), so the figures go through prometheus-client's multiprocess mode: each process writes
its values to files in ``PROMETHEUS_MULTIPROC_DIR`` and the exporter (``GET /metrics`` on the API,
``sohoa worker --metrics-port``) adds them up. prometheus-client decides where values live when it
is first imported, so this module imports it only at the first measurement, after the command
that serves the figures has set that folder (:func:`use_folder`). Without one, the figures stay
in the process (``sohoa process`` has no one to show them to) and cost next to nothing.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Step times from milliseconds (a field check) to minutes (the OCR of a 40-page batch).
BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def use_folder(folder: Path, *, clear: bool = True) -> Path:
    """Have this process and every process it starts write their figures to ``folder``; emptied
    first (a previous run's files would count twice). Call before anything measures."""
    folder = folder.expanduser().resolve()
    if clear and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


@cache
def _instruments() -> dict[str, Any]:
    from prometheus_client import Counter, Histogram

    return {
        "seconds": Histogram("sohoa_step_seconds", "Time one step of the flow took, per page or document",
                             ["step"], buckets=BUCKETS),
        "failures": Counter("sohoa_step_failures", "Steps that failed (the page or document failed)", ["step"]),
        "pages": Counter("sohoa_pages", "Pages through clean-up and OCR, by outcome", ["outcome"]),
        "documents": Counter("sohoa_documents", "Documents through the document steps, by outcome", ["outcome"]),
    }


def observe_step(step: str, seconds: float, *, failed: bool = False) -> None:
    metrics = _instruments()
    metrics["seconds"].labels(step).observe(seconds)
    if failed:
        metrics["failures"].labels(step).inc()


def count(kind: str, outcome: str) -> None:
    """One page or document (``kind``) more with this outcome (``done`` or ``failed``)."""
    _instruments()[kind].labels(outcome).inc()
