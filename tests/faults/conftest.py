"""Fault injection against a real ``sohoa serve``: real uvicorn, real job processes, real SIGKILL.

Each test starts its own server on its own data folder (faults leave state behind), with one page
worker (no page pool: the job process is the whole tree below the server's fork server) and a
short lease, so a killed server's batch is taken up again within seconds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from api.auth import create_key
from api.db import dispose_engines, engine_for
from bench.api import free_port, start_server, stop_server
from core.settings import Settings

FAULT_ENV = {
    "SOHOA_WORKERS": "1",
    "SOHOA_API_JOB_LEASE_SECONDS": "4",
    "SOHOA_MAX_PAGES_PER_FILE": "10",
}


@dataclass
class Served:
    """A running server, restartable on the same data folder and port."""

    data_dir: Path
    port: int
    env: dict[str, str]
    keys: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    all_pids: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # generous: on a loaded machine the fork server's imports alone took half a minute
        self.proc = start_server(self.data_dir, self.port, env_extra=self.env, timeout=180)

    def kill(self) -> None:
        """SIGKILL the server process alone, as the OOM killer or a power cut would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_server(self.proc)

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[who]}"}, timeout=60)

    def job_processes(self) -> list[psutil.Process]:
        """The job processes: children of the server's fork server."""
        assert self.proc is not None
        out = []
        try:
            for child in psutil.Process(self.proc.pid).children():
                if "forkserver" in " ".join(child.cmdline()):
                    out.extend(child.children())
        except psutil.Error:
            pass
        return out

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "sohoa.db", timeout=30)


def processes_of(data_dir: Path) -> list[psutil.Process]:
    """Every process on this machine working for ``data_dir`` (its environment names it): the
    server, fork servers, job processes, page workers, Tesseract."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get("SOHOA_DATA_DIR") == str(data_dir):
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = engine_for(Settings(data_dir=data_dir).resolved_database_url)
    keys = {
        "station_a": create_key(engine, role="station", name="station-a").key,
        "station_b": create_key(engine, role="station", name="station-b").key,
        "workflow": create_key(engine, role="workflow", name="workflow-1").key,
    }
    dispose_engines()
    server = Served(data_dir=data_dir, port=free_port(), env=dict(FAULT_ENV), keys=keys)
    yield server
    server.stop()
    for proc in processes_of(data_dir):  # never leave anything behind, whatever the test did
        proc.kill()


def wait_status(client: httpx.Client, batch_id: str, statuses: tuple[str, ...], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/v1/batches/{batch_id}").raise_for_status().json()
        if body["status"] in statuses:
            return body
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} not {statuses} within {timeout} s: {body.get('status')}")
