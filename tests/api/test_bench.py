"""``sohoa bench api`` on a small scale: concurrent stations, retried uploads, each batch processed once."""

from __future__ import annotations

import pytest

from bench.api import run_bench
from core.settings import load_settings
from tests.api.conftest import small_page


def test_concurrent_stations_each_batch_processed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOHOA_WORKERS", "1")
    tiny = small_page(5)[:320, :600]
    figures = run_bench(load_settings(), stations=3, uploads=1, wait=True, timeout=150, pages=[tiny])
    print(figures)
    assert figures["errors_5xx"] == 0
    assert figures["statuses"] == {"200": 3, "202": 3}  # each retry answered with its first batch
    assert figures["batches"] == 3 and figures["batches_done"] == 3, figures["failures"]
    assert figures["record_batches"] == 3
    assert figures["processed_once"] is True
    # Latency depends on the machine's load; the figure is printed, the 200 ms target is the bench's.
    assert figures["upload_p50_ms"] < 2000


def test_bench_command_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["bench", "api", "--stations", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--stations" in err
