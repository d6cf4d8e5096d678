"""A Celery worker's exporter (``sohoa worker --metrics-port``): after a batch sent with ``sohoa
submit --wait``, the figures its pool processes measured are added up on the worker's port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from bench.api import free_port
from tests.operations.conftest import SAMPLE, sohoa_env, sohoa_process
from tests.support.redis_db import broker_url, claim_database


def test_a_workers_pool_processes_are_added_up_on_its_port(tmp_path: Path) -> None:
    broker = broker_url(claim_database())  # a database of the local Redis for this run alone
    redis.Redis.from_url(broker).flushdb()
    env = sohoa_env(tmp_path / "data", SOHOA_BROKER_URL=broker, SOHOA_ALLOW_DEV_SIGNER="true",
                    SOHOA_LOG_FORMAT="json")
    port = free_port()
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - handed to the child
    worker = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "-c", "1", "--metrics-port", str(port), "-n", "m1@test"],
        env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,  # the banner is not a log
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the worker's exporter did not answer"
            time.sleep(0.1)
        run = sohoa_process("submit", str(SAMPLE), "--dossier", "000.00.19.H99-261207-0041", "--wait",
                            "--json", "--timeout", "240", env=env, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        log.close()
        redis.Redis.from_url(broker).flushdb()
    # The worker logged at INFO, as JSON lines, and none of the task results' names or personal IDs.
    records = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines() if line.strip()]
    assert any("succeeded in" in r["message"] for r in records)
    text_log = json.dumps(records, ensure_ascii=False)
    for secret in ("014098702690", "054185082963", "NGÔ NGỌC HUY", "PHẠM NGỌC QUỲNH HÀ"):
        assert secret not in text_log
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("sohoa_pages_total", (("outcome", "done"),))] == 1
    assert samples[("sohoa_documents_total", (("outcome", "done"),))] == 1
    assert samples[("sohoa_step_seconds_count", (("step", "classify"),))] == 1
    # --wait showed each stage as it moved (stderr is not a terminal here: one line per change),
    # and the status it printed names every stage done.
    lines = [line for line in run.stderr.splitlines() if line.startswith("progress: ")]
    assert len(lines) >= 2 and lines[0] != lines[-1]
    assert lines[-1] == "progress: read 1/1, ocr 1/1, classify 1/1, extract 1/1, sign 1/1, store 1/1"
    status = json.loads(run.stdout)
    assert status["status"] == "done" and status["stage"] is None
    assert [s["stage"] for s in status["stages"]] == ["read", "ocr", "classify", "extract", "sign", "store"]
