"""One import of a source at a time into this deployment.

Two imports of the same source running together would each read the ledger before the other wrote
it and take the same records twice, so the second is turned away at once, in one line. The lock
lives with the records and dies with the process that holds it, so an import killed (SIGKILL
included) never leaves a lock behind that a run again would have to wait out:

- PostgreSQL: a session advisory lock, held on a connection of its own for the whole run;
- SQLite: an exclusive ``flock`` on a file beside the database (the kernel drops it with the
  process, as ``storage.db`` does for migrations).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from core.errors import SohoaError
from storage.db import Database


class ImportRunning(SohoaError):
    """Another import of the same source is under way here (exit 2, like any refused request)."""


BUSY = "another import of this source into this deployment is running: wait for it to end, then run again"


def _key(identity: str) -> int:
    """The advisory lock's 64-bit key for a source (signed, as PostgreSQL takes it)."""
    return int.from_bytes(hashlib.sha256(b"sohoa-import:" + identity.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def source_lock(db: Database, identity: str) -> Iterator[None]:
    """Hold the source's lock for the block, or raise :class:`ImportRunning` without waiting."""
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(identity)}).scalar()
            conn.commit()
            if not got:
                raise ImportRunning(BUSY)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(identity)})
                conn.commit()
        return
    database = db.engine.url.database
    if not database or database == ":memory:":  # one process holds an in-memory database
        yield
        return
    path = Path(database).expanduser()
    lock_path = path.with_name(f"{path.name}.import-{identity[:16]}.lock")
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportRunning(BUSY) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
