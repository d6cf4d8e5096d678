"""Fixtures for storage tests: a real SeaweedFS S3 server and a throwaway PostgreSQL database (both
per session), a fresh SQLite file per test (builders of model values are in builders.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database, open_database
from storage.objects import ObjectStore, open_store
from tests.support.servers import S3Endpoint, postgres_database

TABLES = "audit_events, audit_head, certified_copies, documents, source_files, batches, dossiers, stations"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        open_database(url).dispose()  # migrate once
        yield url


@pytest.fixture
def local_store(tmp_path: Path) -> ObjectStore:
    return open_store(f"file://{tmp_path / 'objects'}")


@pytest.fixture
def s3_store(s3_endpoint: S3Endpoint) -> ObjectStore:
    return open_store(s3_endpoint.store_url(f"t-{secrets.token_hex(6)}"))


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'records.db'}")
    yield db
    db.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """The session's PostgreSQL database, emptied before each test (the chain starts again at genesis)."""
    db = open_database(pg_url)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, :g)"), {"g": "0" * 64})
        # A test may have dropped the append-only guard to play the attacker: put it back.
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events"))
        conn.execute(
            text(
                "CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION sohoa_audit_append_only()"
            )
        )
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
