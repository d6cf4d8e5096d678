"""Per-batch task state kept beside the chord state in the Redis result backend.

The records database has a batch row (pages total/done, errors) and one row per document, but no
row per page; the page tasks' idempotency map (batch, page hash) → result blob lives here, and so
does each page's outcome, so ``pages_done`` can be written to the batch row as an absolute count
(a redelivered task cannot count twice). Every write is an idempotent ``HSET``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from flow.context import OutcomeState

TTL = 14 * 24 * 3600  # a batch's task state outlives any redelivery by far

DONE = OutcomeState.DONE
FAILED = OutcomeState.FAILED


def _key(batch: str, part: str) -> str:
    return f"sohoa:batch:{batch}:{part}"


@dataclass
class BatchState:
    client: redis.Redis
    batch: str

    # -- pages ---------------------------------------------------------------------------------------

    def page_result(self, page_sha: str) -> str | None:
        """The result blob key of a page already processed in this batch (the idempotency look-up)."""
        value = self.client.hget(_key(self.batch, "results"), page_sha)
        return value.decode() if isinstance(value, bytes) else value

    def set_page_result(self, page_sha: str, result_key: str) -> None:
        self._hset("results", page_sha, result_key)

    def set_page_outcome(self, position: int, outcome: dict[str, Any]) -> bool:
        """Record a page's outcome; True the first time this page got one."""
        key = _key(self.batch, "pages")
        with self.client.pipeline() as pipe:
            pipe.hsetnx(key, str(position), json.dumps(outcome, ensure_ascii=False))
            pipe.hset(key, str(position), json.dumps(outcome, ensure_ascii=False))
            pipe.expire(key, TTL)
            first, *_ = pipe.execute()
        return bool(first)

    def page_outcomes(self) -> dict[int, dict[str, Any]]:
        raw = self.client.hgetall(_key(self.batch, "pages"))
        return {int(k): json.loads(v) for k, v in raw.items()}

    def record_timing(
        self, position: int, compute: float, total: float, started: float, ended: float, worker: str
    ) -> None:
        """Seconds of stage work and of the whole task, wall-clock bounds and the worker (for the
        benchmark and the tests)."""
        self._hset(
            "timing",
            str(position),
            json.dumps(
                {"compute": compute, "total": total, "started": started, "ended": ended, "worker": worker}
            ),
        )

    def timings(self) -> dict[int, dict[str, float]]:
        return {int(k): json.loads(v) for k, v in self.client.hgetall(_key(self.batch, "timing")).items()}

    # -- documents -----------------------------------------------------------------------------------

    def claim_planning(self) -> bool:
        """True for the first caller only: a redelivered chord callback must not plan twice."""
        return bool(self.client.set(_key(self.batch, "planned"), "1", nx=True, ex=TTL))

    def release_planning(self) -> None:
        self.client.delete(_key(self.batch, "planned"))

    def set_document(self, number: int, outcome: dict[str, Any]) -> None:
        self._hset("documents", str(number), json.dumps(outcome, ensure_ascii=False))

    def document(self, number: int) -> dict[str, Any] | None:
        value = self.client.hget(_key(self.batch, "documents"), str(number))
        return json.loads(value) if value else None

    def documents(self) -> dict[int, dict[str, Any]]:
        return {int(k): json.loads(v) for k, v in self.client.hgetall(_key(self.batch, "documents")).items()}

    def set_summary(self, summary: dict[str, Any]) -> None:
        self.client.set(_key(self.batch, "summary"), json.dumps(summary, ensure_ascii=False), ex=TTL)

    def summary(self) -> dict[str, Any] | None:
        value = self.client.get(_key(self.batch, "summary"))
        return json.loads(value) if value else None

    def forget(self) -> None:
        self.client.delete(
            *(_key(self.batch, p) for p in ("results", "pages", "timing", "planned", "documents", "summary"))
        )

    def _hset(self, part: str, field: str, value: str) -> None:
        key = _key(self.batch, part)
        with self.client.pipeline() as pipe:
            pipe.hset(key, field, value)
            pipe.expire(key, TTL)
            pipe.execute()
