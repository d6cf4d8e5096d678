"""Batch status from the records, so any process on any machine can report it.

Pages done/total, documents by review state and the error lines come from the records database
(``storage.records.batch_progress``). Pages and documents that failed have no record of their own;
their count comes from the task state in Redis when it is reachable (each failure is also one of
the batch's error lines, so nothing is lost without it).
"""

from __future__ import annotations

import logging
from typing import Any

from core.model import BatchStatus
from core.settings import Settings
from storage.backup import open_existing_database
from storage.progress import current_stage, stage_progress
from storage.records import batch_progress

log = logging.getLogger(__name__)


def batch_status(batch_id: int, settings: Settings) -> dict[str, Any]:
    db = open_existing_database(settings.resolved_database_url)  # a look never creates records
    try:
        progress = batch_progress(db, batch_id)
        stages = stage_progress(db, batch_id)
    finally:
        db.dispose()
    status: dict[str, Any] = {
        "batch_id": progress.batch_id,
        "station": progress.station,
        "dossier": progress.dossier_code,
        "status": progress.status,
        "files": progress.files,
        "pages_total": progress.pages_total,
        "pages_done": progress.pages_done,
        "pages_failed": None,
        "documents": dict(progress.documents_by_state),
        "errors": list(progress.errors),
        "created": progress.created.isoformat() if progress.created else None,
        "finished": progress.finished.isoformat() if progress.finished else None,
        "stage": None if progress.status == BatchStatus.DONE else current_stage(stages),
        "stages": [{"stage": st.stage, "done": st.done, "total": st.total} for st in stages],
    }
    _add_task_state(status, str(batch_id), settings)
    return status


def _add_task_state(status: dict[str, Any], batch: str, settings: Settings) -> None:
    try:
        import redis

        from workers.config import WorkerSettings, resolve_backend, resolve_broker
        from workers.state import FAILED, BatchState

        url = resolve_backend(resolve_broker(settings.broker_url), WorkerSettings().result_backend)
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        state = BatchState(client, batch)
        pages = state.page_outcomes()
        documents = state.documents()
        client.close()
    except Exception as exc:  # noqa: BLE001 - the records alone still answer
        log.info("task state not available: %s", exc)
        return
    status["pages_failed"] = sum(1 for o in pages.values() if o.get("state") == FAILED)
    failed_docs = sum(1 for o in documents.values() if o.get("state") == FAILED)
    if failed_docs:
        status["documents"]["failed"] = failed_docs


def format_stage(stage: dict[str, Any]) -> str:
    total = "?" if stage["total"] is None else stage["total"]
    return f"{stage['stage']} {stage['done']}/{total}"


def format_status(status: dict[str, Any]) -> str:
    docs = ", ".join(f"{n} {state}" for state, n in sorted(status["documents"].items())) or "none yet"
    failed = f", {status['pages_failed']} failed" if status.get("pages_failed") else ""
    lines = [
        (
            f"batch {status['batch_id']} · dossier {status['dossier']} · station {status['station']} · "
            f"{status['status']}"
        ),
        f"pages: {status['pages_done']}/{status['pages_total']} done{failed}",
        f"documents: {docs}",
    ]
    if status.get("stages"):
        lines.append("stages: " + ", ".join(format_stage(st) for st in status["stages"])
                     + (f" (now: {status['stage']})" if status.get("stage") else ""))
    if status["finished"]:
        lines.append(f"finished: {status['finished']}")
    if status["errors"]:
        lines.append(f"errors ({len(status['errors'])}):")
        lines += [f"  {line}" for line in status["errors"]]
    return "\n".join(lines)
