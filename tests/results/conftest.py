"""The storage fixtures (SQLite per test, the session's PostgreSQL, a local store) for the tests of
results, reuse and figures."""

from tests.storage.conftest import db, local_store, pg_db, pg_url, sqlite_db  # noqa: F401
