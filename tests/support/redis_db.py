"""A database of the local Redis for this test run alone: two runs on one machine (two checkouts,
two engineers) must not take each other's tasks or flush each other's chords.

The run claims the first database of :data:`CANDIDATES` whose lock file it can lock, and holds
the lock until the process ends — the kernel releases it even when the run is killed, so a
dead run never keeps a database. Whatever a dead run left there is flushed by the next claimer.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

# Database 0 is a developer's own.
CANDIDATES = (9, 10, 11, 12, 13, 14, 15)
LOCKS = "/tmp/sohoa-redis-db-{}.lock"
HOST = "127.0.0.1:6379"

_held: list[IO[bytes]] = []


def claim_database() -> int:
    """The number of a Redis database no other running test run holds, claimed for this process."""
    for number in CANDIDATES:
        fh = open(LOCKS.format(number), "ab")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n".encode())
        fh.flush()
        _held.append(fh)
        return number
    raise RuntimeError(f"every test database of the local Redis ({CANDIDATES}) is held by another run; "
                       f"see {LOCKS.format('N')}")


def broker_url(number: int) -> str:
    return f"redis://{HOST}/{number}"
