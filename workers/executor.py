"""A :class:`pipeline.executor.PageExecutor` whose pages run on the Celery workers.

``sohoa process`` and any other in-process orchestration can hand page work to the workers without
changing a line of stage code: pages go out as PNG blobs plus JSON, come back as OCR results, and
the caller continues with split, classify, assemble and store in its own process.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from celery import group

from core.errors import ConfigError, ExternalToolError
from core.model import Page
from core.settings import Settings
from pipeline.executor import PageFn, Progress
from workers.serialize import decode_png, loads, page_from_json
from workers.state import DONE

log = logging.getLogger(__name__)


def _lang_of(fn: PageFn, default: str) -> str:
    """Only the pipeline's own page work can run remotely: a worker cannot receive a function."""
    from flow.run import PageJob, work_on_page

    if isinstance(fn, PageJob):
        return fn.lang
    if fn is work_on_page:
        return default
    raise ConfigError("the Celery executor runs the pipeline's page work only (flow.run.work_on_page)")


class CeleryPageExecutor:
    """Sends each page to the ``sohoa.pages`` queue and collects the results in input order."""

    def __init__(self, settings: Settings, *, timeout: float | None = None, poll: float = 0.2) -> None:
        self.settings = settings
        self.timeout = timeout
        self.poll = poll

    def map_pages(self, fn: PageFn, pages: Sequence[Page], progress: Progress | None = None) -> list[Page]:
        from workers import resources
        from workers.submit import store_pages
        from workers.tasks import page_task

        if not pages:
            return []
        lang = _lang_of(fn, self.settings.ocr_lang)
        store = resources.store(self.settings)
        metas = store_pages(pages, store)
        batch = f"run-{uuid.uuid4().hex[:12]}"
        result = group(page_task.s(batch, i, meta, lang, None) for i, meta in enumerate(metas)).apply_async()
        results: list[Page | None] = [None] * len(pages)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            pending = dict(enumerate(result.results))
            while pending:
                for i, async_result in list(pending.items()):
                    if not async_result.ready():
                        continue
                    del pending[i]
                    outcome: dict[str, Any] = async_result.get(propagate=True)
                    if outcome.get("state") != DONE:
                        raise ExternalToolError(f"{outcome.get('label')}: {outcome.get('reason')}")
                    page = self._load(store, outcome["result_key"], pages[i], metas[i]["image_key"])
                    results[i] = page
                    if progress:
                        progress(page)
                if pending:
                    if deadline is not None and time.monotonic() > deadline:
                        raise ExternalToolError(
                            f"{len(pending)} page(s) not done by the workers after {self.timeout:.0f} s"
                        )
                    time.sleep(self.poll)
        finally:
            result.forget()
            from workers.app import app
            from workers.state import BatchState

            BatchState(resources.redis_client(app.conf.result_backend), batch).forget()
        return [page for page in results if page is not None]

    @staticmethod
    def _load(store: Any, result_key: str, original: Page, original_key: str) -> Page:
        meta = loads(store.get_bytes(result_key))
        image = (
            original.image
            if meta["image_key"] == original_key
            else decode_png(store.get_bytes(meta["image_key"]))
        )
        return page_from_json(meta, image)
