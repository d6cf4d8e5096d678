"""Project-wide test settings: every test gets its own data folder, so nothing leaks between tests
or into ./sohoa-data, and Tesseract runs single-threaded as in production."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
