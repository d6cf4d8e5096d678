"""Real services for the worker tests: a Redis database of this run's own (claimed by a lock file,
``tests.support.redis_db``, so two runs on one machine do not meet) as broker and result backend, a SeaweedFS S3
server that a test can stop and start again on the same ports, a throwaway PostgreSQL database,
and real ``sohoa worker`` processes started as subprocesses."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.redis_db import broker_url, claim_database

TEST_BROKER = broker_url(claim_database())
_previous = os.environ.get("SOHOA_BROKER_URL")
os.environ["SOHOA_BROKER_URL"] = TEST_BROKER  # read once, when the Celery app is created
from workers.app import app

# Other tests must not see a broker: some code would switch to Celery when one is set.
if _previous is None:
    del os.environ["SOHOA_BROKER_URL"]
else:
    os.environ["SOHOA_BROKER_URL"] = _previous

# Short limits so a killed worker's task comes back within seconds, not the production twenty minutes.
WORKER_ENV = {
    "SOHOA_PAGE_TIME_LIMIT": "20",
    "SOHOA_DOCUMENT_TIME_LIMIT": "20",
    "SOHOA_VISIBILITY_TIMEOUT": "24",
    "SOHOA_RETRY_BACKOFF_MAX": "4",
    "SOHOA_TASK_MAX_RETRIES": "10",
    "SOHOA_WORKER_MAX_TASKS": "4",  # pool processes are replaced mid-batch, as in production
    "OMP_THREAD_LIMIT": "1",
    "SOHOA_ALLOW_DEV_SIGNER": "true",  # the test deployment signs with the development PKI
}


@pytest.fixture(scope="session")
def redis_db() -> str:
    import redis

    client = redis.Redis.from_url(TEST_BROKER)
    client.flushdb()
    client.close()
    assert app.conf.broker_url == TEST_BROKER, "the Celery app was configured before the worker tests set it"
    return TEST_BROKER


class RestartableS3:
    """``weed server -s3`` on fixed ports and a fixed data folder, so it can die and come back."""

    def __init__(self, folder: Path) -> None:
        import secrets

        from tests.support.servers import free_ports, weed_server_command, write_s3_identities

        self.folder = folder
        self.data = folder / "weed-data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.access_key, self.secret_key = "sohoa-test", secrets.token_hex(16)
        identities = write_s3_identities(folder / "s3-identities.json", self.access_key, self.secret_key)
        ports = free_ports(4)
        self.port = ports[3]
        self.cmd = weed_server_command(self.data, identities, ports)
        self.proc: subprocess.Popen | None = None

    @property
    def store_url(self) -> str:
        return f"s3://{self.access_key}:{self.secret_key}@127.0.0.1:{self.port}/sohoa-workers?secure=false"

    def start(self, timeout: float = 60) -> None:
        from tests.support.servers import start_weed

        self.proc = start_weed(self.cmd, self.folder / "weed.log", self.port, timeout)

    def kill(self) -> None:
        """As if the machine died: SIGKILL, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableS3]:
    server = RestartableS3(tmp_path_factory.mktemp("s3"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    from tests.support.servers import postgres_database

    with postgres_database(prefix="sohoa_workers") as url:
        yield url


@dataclass
class Services:
    broker: str
    store_url: str
    database_url: str
    data_dir: Path
    s3: RestartableS3

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
        env.update(
            WORKER_ENV,
            SOHOA_BROKER_URL=self.broker,
            SOHOA_STORE_URL=self.store_url,
            SOHOA_DATABASE_URL=self.database_url,
            SOHOA_DATA_DIR=str(self.data_dir),
        )
        return env

    def settings(self):  # -> Settings
        from core.settings import Settings

        return Settings(
            broker_url=self.broker,
            store_url=self.store_url,
            database_url=self.database_url,
            data_dir=self.data_dir,
        )


@pytest.fixture(scope="module")
def services(
    redis_db: str, s3: RestartableS3, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Services:
    from workers import resources

    resources.forget()
    return Services(redis_db, s3.store_url, pg_url, tmp_path_factory.mktemp("data"), s3)


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def tasks(self, event: str) -> set[str]:
        """Ids of the tasks this worker logged as ``received`` / ``succeeded``."""
        return set(re.findall(r"Task sohoa\.\w+\[([^\]]+)\] " + event, self.log_text()))

    def kill(self) -> None:
        """SIGKILL the worker and its pool: a machine pulled from the rack."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@dataclass
class WorkerPool:
    services: Services
    folder: Path
    workers: list[Worker] = field(default_factory=list)

    def start(self, count: int, *, concurrency: int = 1) -> list[Worker]:
        started = []
        for _ in range(count):
            name = f"w{len(self.workers) + 1}-{os.getpid()}"
            log_path = self.folder / f"{name}.log"
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "cli.main",
                        "worker",
                        "--concurrency",
                        str(concurrency),
                        "--hostname",
                        f"{name}@test",
                        "--loglevel",
                        "INFO",
                    ],
                    env=self.services.env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            worker = Worker(name, proc, log_path)
            self.workers.append(worker)
            started.append(worker)
        self.wait_ready(started)
        return started

    def wait_ready(self, workers: list[Worker], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        wanted = {f"{w.name}@test" for w in workers}
        while time.monotonic() < deadline:
            for w in workers:
                assert w.proc.poll() is None, f"worker {w.name} exited:\n{w.log_text()[-3000:]}"
            replies = app.control.ping(timeout=1.0)
            if wanted <= {name for reply in replies for name in reply}:
                return
        raise TimeoutError(f"workers {sorted(wanted)} not ready")

    def stop_all(self) -> None:
        for w in self.workers:
            if w.proc.poll() is None:
                os.killpg(w.proc.pid, signal.SIGTERM)
        for w in self.workers:
            try:
                w.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(w.proc.pid, signal.SIGKILL)
                w.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def worker_pool(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerPool]:
    """Workers shared by a module's tests (starting one costs seconds); a test may kill one of them."""
    pool = WorkerPool(services, tmp_path_factory.mktemp("workers"))
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture(scope="module")
def two_workers(worker_pool: WorkerPool) -> list[Worker]:
    return worker_pool.start(2)
