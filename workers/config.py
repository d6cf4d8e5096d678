"""Settings that only the Celery side needs, read from the same ``SOHOA_*`` environment.

They live here rather than in :mod:`core.settings` because nothing in-process uses them: time
limits, how long Redis hides a delivered message, when a worker process is recycled, how often a
transient fault is retried. The one rule they must keep between them is checked on load: Redis
redelivers an unacknowledged message once the visibility timeout passes, so a task still running
past it would run twice; the timeout must exceed the longest task.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"

# Stage modules a worker imports once in its main process, before the pool forks, so no task pays
# for them (seconds on a busy machine).
PRELOAD = (
    "flow.run",
    "pipeline.pagework",
    # Tesseract probed, word lists open, the document-type model, register, indexes and invisible font
    # loaded: no task pays for them (flow.prewarmed)
    "flow.prewarmed",
    "pipeline.qr",
    "classifiers.split",
    "pipeline.pdfa",
    "classifiers.classify",
    "classifiers.extract",
    "storage.archive",
    "storage.db",
    "storage.objects",
    "storage.s3",
    "storage.local",
)


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOHOA_", extra="ignore", frozen=True)

    # Results and chord state. Unset: the broker itself when it is Redis, else the default Redis.
    result_backend: str | None = None
    page_time_limit: int = 300  # hard limit, seconds; the soft limit is 30 s earlier
    document_time_limit: int = 600
    visibility_timeout: int | None = None  # unset: twice the longest time limit
    worker_max_tasks: int = 200  # a worker process is replaced after this many tasks (leaks, fragmentation)
    task_max_retries: int = 8  # for transient faults: S3 or the database briefly away
    retry_backoff_max: int = 30  # seconds between retries grow 1, 2, 4 … up to this

    @property
    def longest_task(self) -> int:
        return max(self.page_time_limit, self.document_time_limit)

    @property
    def resolved_visibility_timeout(self) -> int:
        return self.visibility_timeout or 2 * self.longest_task

    def check(self) -> WorkerSettings:
        if min(self.page_time_limit, self.document_time_limit) < 5:
            raise ConfigError(
                "SOHOA_PAGE_TIME_LIMIT and SOHOA_DOCUMENT_TIME_LIMIT must be at least 5 seconds"
            )
        if self.resolved_visibility_timeout <= self.longest_task:
            raise ConfigError(
                f"SOHOA_VISIBILITY_TIMEOUT ({self.resolved_visibility_timeout} s) must exceed the longest "
                f"task time limit ({self.longest_task} s), or Redis redelivers tasks that are still running"
            )
        if self.retry_backoff_max >= self.resolved_visibility_timeout:
            raise ConfigError(
                "SOHOA_RETRY_BACKOFF_MAX must be shorter than the visibility timeout: a worker holds "
                "a retry until it is due, and Redis would hand it to another worker meanwhile"
            )
        if self.worker_max_tasks < 1:
            raise ConfigError("SOHOA_WORKER_MAX_TASKS must be at least 1")
        return self


def resolve_broker(broker_url: str | None) -> str:
    return broker_url or DEFAULT_BROKER


def resolve_backend(broker_url: str, configured: str | None) -> str:
    """Chords need a result backend that counts finished parts; Redis does it atomically.

    With a Redis broker the same server serves; with RabbitMQ the default local Redis does (the rpc://
    backend cannot join chords).
    """
    if configured:
        return configured
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return DEFAULT_BROKER
