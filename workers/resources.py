"""Connections a worker process opens once and keeps: the object store, the records database and the
task-state Redis client.

Opened lazily, after the pool has forked, because neither SQLAlchemy engines nor HTTP connection
pools survive a fork. A failure to open is transient (the S3 server or PostgreSQL may be restarting),
so nothing is cached until an open succeeds.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import redis

from core.settings import Settings
from storage.db import open_database
from storage.objects import open_store

_lock = threading.Lock()
_cache: dict[tuple[str, str, int], Any] = {}


def _cached(kind: str, url: str, opener: Any) -> Any:
    key = (kind, url, os.getpid())
    value = _cache.get(key)
    if value is None:
        with _lock:
            value = _cache.get(key)
            if value is None:
                value = opener(url)
                _cache[key] = value
    return value


def store(settings: Settings):  # -> ObjectStore

    return _cached("store", settings.resolved_store_url, open_store)


def database(settings: Settings):  # -> Database

    return _cached("db", settings.resolved_database_url, open_database)


def redis_client(url: str) -> redis.Redis:
    return _cached(
        "redis",
        url,
        lambda u: redis.Redis.from_url(
            u, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30
        ),
    )


def forget() -> None:
    """Drop every cached connection (tests, and after a fork that inherited them)."""
    with _lock:
        for (kind, _url, _pid), value in list(_cache.items()):
            if kind == "db":
                value.dispose()
        _cache.clear()
