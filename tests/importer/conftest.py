"""Servers for the import tests: one development PKI for the session (every deployment of a test
signs under the same root, as provinces all chain to the Government CA); a throwaway PostgreSQL
database per test that asks for one. The SeaweedFS S3 server is the session's (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from signing.devpki import ensure_dev_pki
from tests.support.servers import postgres_database


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("shared-pki")
    ensure_dev_pki(data / "pki")
    return data


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database(prefix="sohoa_import") as url:
        yield url
