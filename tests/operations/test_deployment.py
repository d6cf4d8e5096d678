"""Which deployment a command uses: ``sohoa info`` says it and creates nothing; read-only commands
run where there is no deployment say so and create nothing; a worker will not sign with a
development PKI of its own unless told so."""

from __future__ import annotations

import json
from pathlib import Path

from tests.operations.conftest import Deployment, sohoa, sohoa_env, sohoa_process

DEAD = "127.0.0.1:9"  # the discard port: nothing listens there


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_read_only_commands_in_an_empty_folder_create_nothing(tmp_path: Path) -> None:
    env = sohoa_env(tmp_path / "sohoa-data")
    for args in (["reuse", "--personal-id", "014098702690"], ["status", "1"], ["audit", "verify"],
                 ["store", "verify"], ["export", "HS-1"], ["store", "gc"], ["keys", "list"], ["review", "list"],
                 ["certify-queue", "list"], ["stats", "--from", "2026-01-01", "--to", "2026-12-31"]):
        run = (sohoa_process if args[0] == "status" else sohoa)(*args, env=env, cwd=tmp_path)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stderr.count("\n") == 1 and "sohoa info" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    info = sohoa("info", env=env, cwd=tmp_path)
    assert info.returncode == 1 and "missing" in info.stdout
    assert _tree(tmp_path) == []


def test_info_names_the_deployment_in_use(deployment: Deployment) -> None:
    before = _tree(deployment.data_dir)
    run = sohoa("info", "--json", env=deployment.env)
    assert run.returncode == 0, run.stdout + run.stderr
    items = {i["name"]: i for i in json.loads(run.stdout)["items"]}
    assert items["data folder"]["value"] == str(deployment.data_dir.resolve())
    assert items["data folder"]["source"] == "SOHOA_DATA_DIR"
    assert items["database"]["value"].endswith("/sohoa.db") and "(current)" in items["database"]["state"]
    assert items["store"]["state"] == "exists"
    assert items["broker"]["state"] == "in-process"
    assert "DEVELOPMENT ONLY" in items["signer"]["value"] and items["signer"]["state"].startswith("exists")
    assert _tree(deployment.data_dir) == before


def test_info_prints_no_secret_and_names_what_fails(tmp_path: Path) -> None:
    env = sohoa_env(
        tmp_path / "data",
        SOHOA_DATABASE_URL=f"postgresql://sohoa:db-secret-1@{DEAD}/sohoa",
        SOHOA_STORE_URL=f"s3://AKEY:s3-secret-2@{DEAD}/sohoa?secure=false",
        SOHOA_BROKER_URL=f"redis://:redis-secret-3@{DEAD}/0",
        SOHOA_SIGNER_PKCS12=str(tmp_path / "agency.p12"),
        SOHOA_SIGNER_PKCS12_PASSWORD="p12-secret-4",
    )
    run = sohoa("info", env=env, cwd=tmp_path)
    assert run.returncode == 1
    for secret in ("db-secret-1", "s3-secret-2", "redis-secret-3", "p12-secret-4"):
        assert secret not in run.stdout + run.stderr
    assert "[SOHOA_DATABASE_URL]  <-" in run.stdout and "[SOHOA_STORE_URL]  <-" in run.stdout
    assert "[SOHOA_BROKER_URL]  <-" in run.stdout and "file missing [SOHOA_SIGNER_PKCS12]  <-" in run.stdout
    assert "over http (?secure=false)" in run.stdout
    assert _tree(tmp_path) == []


def test_a_worker_refuses_a_development_signer_unless_allowed(tmp_path: Path) -> None:
    env = sohoa_env(tmp_path / "data", SOHOA_BROKER_URL=f"redis://{DEAD}/0")
    run = sohoa_process("worker", env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 2
    assert "SOHOA_ALLOW_DEV_SIGNER=true" in run.stderr and "different roots" in run.stderr
    assert _tree(tmp_path) == []
