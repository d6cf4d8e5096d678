"""The Celery application, configured from the project settings.

``celery -A workers.app worker`` and ``sohoa worker`` both load this module. Every choice here is
about losing nothing when a machine dies mid-task:

* JSON only, never pickle: a message is data, not code, and pages travel as object keys anyway.
* ``acks_late`` + prefetch 1: a message is acknowledged after its task finished, and a worker holds
  at most one it has not started, so a killed worker's messages go back to the queue.
* ``task_reject_on_worker_lost``: a pool process killed by the OOM killer requeues its task instead
  of recording a failure.
* Hard and soft time limits per task, and a Redis visibility timeout longer than the longest one.
* ``worker_max_tasks_per_child``: pool processes are recycled, so Tesseract or OpenCV leaks stay bounded.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

from core.settings import Settings, load_settings
from workers.config import WorkerSettings, resolve_backend, resolve_broker

# Tesseract's OpenMP threads oversubscribe the cores when several pages run at once.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

PAGES_QUEUE = "sohoa.pages"
DOCUMENTS_QUEUE = "sohoa.documents"
CERTIFY_QUEUE = "sohoa.certify"
QUEUES = (PAGES_QUEUE, DOCUMENTS_QUEUE, CERTIFY_QUEUE)


def soft_limit(hard: int) -> int:
    """The soft limit leaves a task time to record its page as failed before the hard kill."""
    return hard - max(2, min(30, hard // 10))


def create_app(settings: Settings | None = None, worker_settings: WorkerSettings | None = None) -> Celery:
    settings = settings or load_settings()
    ws = (worker_settings or WorkerSettings()).check()
    broker = resolve_broker(settings.broker_url)
    app = Celery(
        "sohoa", broker=broker, backend=resolve_backend(broker, ws.result_backend), include=["workers.tasks"]
    )
    visibility = ws.resolved_visibility_timeout
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=ws.worker_max_tasks,
        task_time_limit=ws.page_time_limit,
        task_soft_time_limit=soft_limit(ws.page_time_limit),
        task_track_started=True,
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue=PAGES_QUEUE,
        task_routes={
            "sohoa.page": {"queue": PAGES_QUEUE},
            "sohoa.plan_documents": {"queue": DOCUMENTS_QUEUE},
            "sohoa.document": {"queue": DOCUMENTS_QUEUE},
            "sohoa.certify_documents": {"queue": DOCUMENTS_QUEUE},
            "sohoa.finish_batch": {"queue": DOCUMENTS_QUEUE},
            "sohoa.certify": {"queue": CERTIFY_QUEUE},
        },
        # Redis hides a delivered message for this long, then hands it to another worker.
        # and every ``unacked_restore_interval`` seconds a worker sweeps for such expired messages.
        broker_transport_options={
            "visibility_timeout": visibility,
            "unacked_restore_interval": max(1, min(10, visibility // 4)),
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": visibility},
        broker_connection_retry_on_startup=True,
        result_expires=7 * 24 * 3600,
        result_extended=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    app.conf.sohoa_settings = settings
    app.conf.sohoa_worker_settings = ws
    return app


app = create_app()
