"""/v1/health looks at the services it needs and names the one that fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiSettings
from core.settings import Settings

DEAD = "127.0.0.1:9"  # the discard port: nothing listens there on these machines


def _health(settings: Settings) -> tuple[int, dict]:
    with TestClient(create_app(settings, ApiSettings())) as client:
        r = client.get("/v1/health")
        return r.status_code, r.json()


def test_all_services_up(tmp_path: Path) -> None:
    code, body = _health(Settings(data_dir=tmp_path))
    assert code == 200 and body["status"] == "ok"
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"database": True, "store": True, "signer": True}


@pytest.mark.parametrize(("setting", "value", "failing"), [
    ("store_url", f"s3://key:secret@{DEAD}/sohoa?secure=false", "store"),
    ("broker_url", f"redis://{DEAD}/0", "broker"),
])
def test_a_service_down_is_named(tmp_path: Path, setting: str, value: str, failing: str) -> None:
    code, body = _health(Settings(data_dir=tmp_path, **{setting: value}))
    assert code == 503 and body["status"] == "failing"
    checks = {c["name"]: c for c in body["checks"]}
    assert not checks[failing]["ok"] and checks[failing]["detail"]
    assert all(c["ok"] for name, c in checks.items() if name != failing)
    assert str(tmp_path) not in str(body)
