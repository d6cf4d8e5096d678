"""The API's own records: API keys and the Idempotency-Keys of certified-copy requests.

They live in the project's database (same URL as the dossier records) but under their own
SQLAlchemy metadata, created on start, because they describe who talks to the API, not the
dossiers themselves. Upload batches are not here: an upload is recorded in the dossier records'
``batches`` table the moment it is accepted (``storage.batches``), and that one record is the one
the runners continue.

SQLite (the embedded default) is opened in WAL mode with a generous busy timeout, because the API
process and the job processes write to it at the same time.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator

from storage.batches import legacy_api_view

log = logging.getLogger(__name__)

metadata = MetaData()


class _UTC(TypeDecorator):
    """Aware UTC datetimes whatever the backend keeps (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),  # for a station: its station code
    Column("role", String(16), nullable=False),
    # The official who holds the key, by full name (Circular 01/2023: every act is attributable to
    # a named official); required for verifier keys, whose confirmations carry it into the audit log.
    Column("official", String(255)),
    Column("prefix", String(16), nullable=False, unique=True),  # public part, to find the row
    Column("hash", String(64), nullable=False),  # SHA-256 of the whole key
    Column("created", _UTC, nullable=False, default=utcnow),
    Column("revoked", _UTC),
)

api_copy_requests = Table(
    "api_copy_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("caller", String(64), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("document_id", Integer, nullable=False),
    Column("copy_id", Integer, nullable=False),
    Column("created", _UTC, nullable=False, default=utcnow),
    UniqueConstraint("caller", "idempotency_key", name="uq_api_copy_requests_caller_key"),
)


def copy_request(engine: Engine, caller: str, key: str) -> dict[str, Any] | None:
    """The certified copy an earlier request of this caller with this Idempotency-Key made."""
    with engine.connect() as conn:
        row = conn.execute(
            select(api_copy_requests).where(
                api_copy_requests.c.caller == caller, api_copy_requests.c.idempotency_key == key
            )
        ).mappings().first()
    return None if row is None else dict(row)


def __getattr__(name: str) -> Any:
    """``api_batches``: a read-only view of the uploads in ``batches``, with the columns of the
    table it replaced, for readers not yet moved to :mod:`storage.batches` (``bench/api.py``)."""
    if name == "api_batches":

        return legacy_api_view()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_engines: dict[str, Engine] = {}
_ready: set[str] = set()  # URLs whose API tables exist
_lock = threading.Lock()

# SQLite lets one writer in at a time and makes the others sleep in its busy handler (1, 2, 5 …
# 100 ms steps); queueing this process's writers on a lock instead keeps a burst of uploads at a
# few milliseconds each. Harmless on PostgreSQL, where inserts are short.
write_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """One engine per URL per process, with the API tables created on first use. A database that
    cannot be reached yet still gives its engine (the server starts, and its health check names the
    database); the tables are made by the first call that reaches it."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _make_engine(url)
        if url not in _ready:
            try:
                metadata.create_all(engine)
                _add_missing_columns(engine)
                _ready.add(url)
            except OperationalError as exc:
                log.warning("API tables not checked: database unreachable (%s)", type(exc.orig or exc).__name__)
        return engine


def _add_missing_columns(engine: Engine) -> None:
    """Columns added to the API's tables after they were first created (``create_all`` makes only
    missing tables): ``api_keys.official``. Keys made before it have no official."""
    from sqlalchemy import inspect, text

    with engine.begin() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("api_keys")}
        if "official" not in columns:
            conn.execute(text("ALTER TABLE api_keys ADD COLUMN official VARCHAR(255)"))


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _ready.clear()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        from pathlib import Path

        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
