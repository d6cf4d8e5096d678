"""The API starts with its database unreachable and its health check names the database (503);
once the database is there, the same server answers ok and has made its tables. The signer too."""

from __future__ import annotations

from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.app import create_app
from api.config import ApiSettings
from api.db import dispose_engines, engine_for
from core.settings import Settings
from tests.support.servers import postgres_database


def _checks(client: TestClient) -> tuple[int, dict[str, dict]]:
    r = client.get("/v1/health")
    return r.status_code, {c["name"]: c for c in r.json()["checks"]}


def test_the_api_starts_without_its_database_and_recovers(tmp_path: Path) -> None:
    with postgres_database(prefix="sohoa_health") as url:
        server, name = url.rsplit("/", 1)
        missing = f"{server}/{name}_later"  # a database that is not there yet: the server refuses us
        settings = Settings(data_dir=tmp_path, database_url=missing)
        try:
            with TestClient(create_app(settings, ApiSettings()), raise_server_exceptions=False) as client:
                code, checks = _checks(client)
                assert code == 503
                assert not checks["database"]["ok"] and "cannot open database" in checks["database"]["detail"]
                assert checks["store"]["ok"] and checks["signer"]["ok"]
                assert str(tmp_path) not in str(checks)
                # A call with a key meets the database down at the key check: 503, one line.
                r = client.get("/v1/batches", headers={"Authorization": "Bearer sohoa_abc_def"})
                assert r.status_code == 503 and r.json() == {"detail": "the records database is unreachable; try again later"}
                with psycopg.connect(server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}_later"')
                code, checks = _checks(client)
                assert code == 200 and all(c["ok"] for c in checks.values()), checks
                assert "api_keys" in inspect(engine_for(missing)).get_table_names()
        finally:
            dispose_engines()
            with psycopg.connect(server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}_later" WITH (FORCE)')


def test_a_missing_agency_key_is_named(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, signer_pkcs12=tmp_path / "agency.p12", signer_pkcs12_password="x")
    with TestClient(create_app(settings, ApiSettings())) as client:
        code, checks = _checks(client)
    assert code == 503 and not checks["signer"]["ok"] and checks["database"]["ok"]
    assert str(tmp_path) not in checks["signer"]["detail"]
