"""The parts that need no services: JSON round trips and the reliability settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.model import Box, Page, PageFlag, PageWarning, Word
from workers.config import WorkerSettings, resolve_backend
from workers.serialize import decode_png, dumps, encode_png, loads, page_from_json, page_to_json


@pytest.mark.parametrize("shape", [(30, 40), (30, 40, 3)])
def test_png_is_lossless(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(image)), image)


def test_page_round_trip() -> None:
    image = np.full((20, 10), 255, np.uint8)
    page = Page(
        source="a.pdf",
        source_sha256="ab" * 32,
        index=2,
        image=image,
        dpi=300.0,
        rotation=90,
        skew_angle=0.5,
        words=(Word("Hà", 0.91, Box(1, 2, 3, 4), 0),),
        text="Hà",
        mean_confidence=0.91,
        qr_payloads=("x",),
        image_sha256="cd" * 32,
        flags=(PageFlag(PageWarning.ORIENTATION_UNCERTAIN, 0.25),),
    )
    back = page_from_json(loads(dumps(page_to_json(page, "sha256/key"))), image)
    for name in (
        "source",
        "source_sha256",
        "index",
        "dpi",
        "rotation",
        "skew_angle",
        "words",
        "text",
        "mean_confidence",
        "qr_payloads",
        "image_sha256",
        "flags",
    ):
        assert getattr(back, name) == getattr(page, name), name
    assert dumps(page_to_json(page, "k")) == dumps(page_to_json(back, "k"))  # same result, same blob key


def test_visibility_timeout_must_exceed_longest_task() -> None:
    with pytest.raises(ConfigError, match="VISIBILITY"):
        WorkerSettings(page_time_limit=100, document_time_limit=200, visibility_timeout=150).check()
    assert (
        WorkerSettings(page_time_limit=100, document_time_limit=200).check().resolved_visibility_timeout
        == 400
    )


def test_rabbitmq_broker_keeps_results_in_redis() -> None:
    assert resolve_backend("amqp://guest:guest@127.0.0.1:5672//", None).startswith("redis://")
    assert resolve_backend("redis://127.0.0.1:6379/3", None) == "redis://127.0.0.1:6379/3"


def test_each_run_has_a_redis_database_of_its_own() -> None:
    """Two test runs on one machine never share a Redis database: this run's is held, a second run
    gets another while the first lives, and a killed run's is free again."""
    import subprocess
    import sys

    from tests.support.redis_db import CANDIDATES
    from tests.workers.conftest import TEST_BROKER

    ours = int(TEST_BROKER.rsplit("/", 1)[1])
    assert ours in CANDIDATES
    claim = "from tests.support.redis_db import claim_database; print(claim_database(), flush=True)"
    root = str(Path(__file__).resolve().parents[2])
    holder = subprocess.Popen([sys.executable, "-c", f"{claim}; import time; time.sleep(60)"], cwd=root,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        first = int(holder.stdout.readline())
        second = int(subprocess.run([sys.executable, "-c", claim], cwd=root, capture_output=True, text=True,
                                    check=True, timeout=60).stdout)
        assert len({ours, first, second}) == 3
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert not _held(first), "a killed run's database is free again"
    assert _held(ours)


def _held(number: int) -> bool:
    """Whether some open lock holds the database (this process's own lock counts: flock locks
    belong to an open file, not to a process)."""
    import fcntl

    from tests.support.redis_db import LOCKS

    with open(LOCKS.format(number), "ab") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False
