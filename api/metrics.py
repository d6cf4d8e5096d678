"""``GET /metrics``: the figures a Prometheus server scrapes, in its text format.

Two sources. What the records know, counted at each scrape: batches by status (the queued ones
are the queue's depth), documents by type and review state, pages and certified copies; with a
Redis broker, the tasks waiting in each Celery queue. And what the processes measure as they
work (:mod:`core.metrics`): each step's time, failures, pages and documents by outcome, added up
over the job processes and page workers through prometheus-client's multiprocess folder.

Who may read it: an admin or auditor key, or anyone when ``SOHOA_METRICS_OPEN=true`` (a scraper on
a closed network that cannot send a key).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import func, select

from api.auth import Role, require
from api.schemas import Problem
from core.metrics import MULTIPROC_ENV
from core.settings import Settings
from storage.models import Batch, CertifiedCopy, Document

log = logging.getLogger(__name__)

# The Celery queues (workers/app.py), named here so a scrape does not build the Celery app.
CELERY_QUEUES = ("sohoa.pages", "sohoa.documents", "sohoa.certify")


class RecordsCollector:
    """Gauges read from the records and the broker at each scrape."""

    def __init__(self, records: Callable[[], Any], broker_url: str | None) -> None:
        self._records = records
        self._broker_url = broker_url

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("sohoa_records_up", "1 when the records database answered this scrape")
        try:
            with self._records().session() as session:
                batches = session.execute(select(Batch.status, func.count()).group_by(Batch.status)).all()
                documents = session.execute(
                    select(Document.doc_type, Document.review_state, func.count())
                    .group_by(Document.doc_type, Document.review_state)
                ).all()
                pages = session.scalar(select(func.coalesce(func.sum(Document.page_count), 0)))
                copies = session.scalar(select(func.count()).select_from(CertifiedCopy))
        except Exception as exc:  # noqa: BLE001 - a scrape reports the database down, it does not fail
            log.warning("metrics: records unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_status = GaugeMetricFamily("sohoa_batches", "Batches by status (queued: waiting for a runner)",
                                      labels=["status"])
        counts = dict(batches)
        for status in ("queued", "processing", "done", "failed"):
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        docs = GaugeMetricFamily("sohoa_documents_recorded", "Documents in the records by type and review state",
                                 labels=["doc_type", "review_state"])
        for doc_type, state, n in documents:
            docs.add_metric([doc_type, state], n)
        yield docs
        yield GaugeMetricFamily("sohoa_pages_recorded", "Pages of the documents in the records", value=pages or 0)
        yield GaugeMetricFamily("sohoa_certified_copies", "Certified copies made", value=copies or 0)
        yield from self._queues(GaugeMetricFamily)

    def _queues(self, family: Any) -> Iterator[Any]:
        if not self._broker_url or not self._broker_url.startswith(("redis://", "rediss://")):
            return
        depth = family("sohoa_queue_tasks", "Tasks waiting in each Celery queue", labels=["queue"])
        try:
            import redis

            client = redis.Redis.from_url(self._broker_url, socket_timeout=2, socket_connect_timeout=2)
            try:
                for queue in CELERY_QUEUES:
                    depth.add_metric([queue], client.llen(queue))
            finally:
                client.close()
        except Exception as exc:  # noqa: BLE001 - the broker's health is /v1/health's; skip the figure
            log.warning("metrics: broker unavailable: %s", type(exc).__name__)
            return
        yield depth


def exposition(collectors: list[Any]) -> tuple[bytes, str]:
    """The text format of the multiprocess figures (when a folder is set) and these collectors."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def router(settings: Settings, records: Callable[[Request], Any]) -> APIRouter:
    """The /metrics route, open or behind an admin/auditor key as the settings say."""
    routes = APIRouter()
    guard: list[Any] = [] if settings.metrics_open else [Depends(require(Role.ADMIN, Role.AUDITOR))]

    @routes.get("/metrics", tags=["service"], summary="Figures for Prometheus (text format)",
                dependencies=guard, response_class=Response,
                responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
                           401: {"model": Problem, "description": "no API key, or not a valid one"},
                           403: {"model": Problem, "description": "the key's role does not admit this call"}})
    def metrics(request: Request) -> Response:
        """Batches by status (the queue), documents, pages and certified copies from the records;
        tasks waiting per Celery queue; each step's time and failures, pages and documents by
        outcome, from every process that did the work."""
        body, content_type = exposition([RecordsCollector(lambda: records(request), settings.broker_url)])
        return Response(body, media_type=content_type)

    return routes

