"""GET /metrics on a real ``sohoa serve``: behind an admin or auditor key, and after one batch the
figures of the records (batches, documents, pages) and of the job and page processes that did the
work (each step's time, pages and documents by outcome), in Prometheus' text format."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.auth import create_key
from api.db import dispose_engines, engine_for
from bench.api import free_port, start_server, stop_server
from core.settings import Settings
from tests.operations.conftest import SAMPLE


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("metrics-server")
    engine = engine_for(Settings(data_dir=data_dir).resolved_database_url)
    keys = {role: create_key(engine, role=role, name=f"{role}-1").key for role in ("station", "auditor", "workflow")}
    dispose_engines()
    port = free_port()
    proc = start_server(data_dir, port, env_extra={"SOHOA_WORKERS": "1", "SOHOA_LOG_FORMAT": "json"},
                        timeout=180, log_level="info")
    try:
        yield f"http://127.0.0.1:{port}", keys, data_dir / "serve.log"
    finally:
        stop_server(proc)


def _scrape(url: str, key: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def test_metrics_need_an_admin_or_auditor_key(server: tuple[str, dict[str, str], Path]) -> None:
    url, keys, _log = server
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {keys['workflow']}"}).status_code == 403


def test_a_batch_shows_in_the_figures(server: tuple[str, dict[str, str], Path]) -> None:
    url, keys, _log = server
    before = _scrape(url, keys["auditor"])
    assert before[("sohoa_records_up", ())] == 1
    assert before[("sohoa_batches", (("status", "done"),))] == 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['station']}"}, timeout=60) as station:
        r = station.post("/v1/batches", data={"dossier_code": "000.00.19.H99-261207-0031"},
                         files=[("files", (SAMPLE.name, Path(SAMPLE).read_bytes(), "image/jpeg"))])
        assert r.status_code == 202, r.text
        batch_id = r.json()["id"]
        deadline = time.monotonic() + 240
        seen = []
        while (body := station.get(f"/v1/batches/{batch_id}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, "batch not processed"
            seen.append((body["progress"]["stage"], body["progress"]["percent"]))
            time.sleep(0.5)
    # The batch's progress names its stages; the share done never goes back.
    progress = body["progress"]
    assert progress["stage"] is None and progress["percent"] == 100.0
    assert [(s["stage"], s["done"], s["total"]) for s in progress["stages"]] == [
        ("read", 1, 1), ("ocr", 1, 1), ("classify", 1, 1), ("extract", 1, 1), ("sign", 1, 1), ("store", 1, 1)]
    percents = [p for _stage, p in seen]
    assert percents == sorted(percents) and all(stage in (None, "read", "ocr", "classify", "extract", "sign", "store")
                                                for stage, _p in seen)
    after = _scrape(url, keys["auditor"])
    assert after[("sohoa_batches", (("status", "done"),))] == 1
    assert after[("sohoa_pages_recorded", ())] == 1 and after[("sohoa_certified_copies", ())] == 0
    assert after[("sohoa_documents_recorded", (("doc_type", "marriage_certificate"), ("review_state", "ok")))] == 1
    # Measured in the job process and its page worker, added up by the server.
    assert after[("sohoa_pages_total", (("outcome", "done"),))] == 1
    assert after[("sohoa_documents_total", (("outcome", "done"),))] == 1
    for step in ("page_work", "classify", "extract", "archive", "finish"):
        assert after[("sohoa_step_seconds_count", (("step", step),))] >= 1, step
        assert after[("sohoa_step_seconds_sum", (("step", step),))] > 0, step
    assert ("sohoa_step_failures_total", (("step", "classify"),)) not in after


def test_the_server_logs_json_lines_without_personal_ids(server: tuple[str, dict[str, str], Path]) -> None:
    url, keys, log = server
    r = httpx.get(f"{url}/v1/reuse", params={"personal_id": "054185082963"},
                  headers={"Authorization": f"Bearer {keys['workflow']}"}, timeout=30)
    assert r.status_code == 200
    time.sleep(0.5)  # the access line is written after the answer
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    access = [r for r in records if r["logger"] == "uvicorn.access" and "/v1/reuse" in r["message"]]
    assert access and "[personal ID]" in access[-1]["message"]
    assert "054185082963" not in log.read_text(encoding="utf-8")
