"""Project-wide test settings: every test gets its own data folder, so nothing leaks between tests
or into ./sohoa-data, and Tesseract runs single-threaded as in production."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import S3Endpoint, seaweedfs_server

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED_TESTDATA = REPO.parent / "shared" / "testdata"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path_factory.mktemp("sohoa-data")
    monkeypatch.setenv("SOHOA_DATA_DIR", str(data_dir))
    for name in ("SOHOA_DATABASE_URL", "SOHOA_STORE_URL", "SOHOA_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    return data_dir


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """One SeaweedFS S3 server for the session (starting and stopping one costs ~5 s); every test
    that stores in it uses a bucket of its own."""
    with seaweedfs_server(tmp_path_factory.mktemp("seaweedfs")) as endpoint:
        yield endpoint
