"""The door: no key, no body read. A 300 MB body without a key is answered 401 at once and the
server does not grow; a body over the route's cap is 413 before it is read, or as soon as a
chunked one crosses it. Real uvicorn, real sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Self

import psutil
import pytest

from tests.api.conftest import Server

HUGE = 300 * 1024 * 1024
CHUNK = b'{"reason": "' + b"x" * (1024 * 1024 - 12)


@pytest.fixture(scope="module")
def door(server: Server) -> tuple[int, psutil.Process, str]:
    """The API tests' shared server (starting one costs seconds): the door answers before any route
    or limit of LIMITS is reached (the key is checked first, then the route's own 1 MiB cap)."""
    assert server.pid is not None
    return server.port, psutil.Process(server.pid), server.keys["admin"]


def _send(port: int, path: str, *, length: bool, key: str | None = None) -> tuple[int, str, int]:
    """POST a 300 MB JSON body (declared, or chunked), writing until the server answers; returns
    (status, detail, bytes the client managed to send)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = [f"POST {path} HTTP/1.1", "Host: x", "Content-Type: application/json"]
    head.append(f"Content-Length: {HUGE}" if length else "Transfer-Encoding: chunked")
    if key:
        head.append(f"Authorization: Bearer {key}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    sock.setblocking(False)
    answer = b""
    deadline = time.monotonic() + 60
    while sent < HUGE and time.monotonic() < deadline:
        try:
            answer += sock.recv(65536)
            if b"\r\n\r\n" in answer:
                break
        except BlockingIOError:
            pass
        piece = CHUNK if length else b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
        try:
            sock.send(piece)
            sent += len(CHUNK)
        except BlockingIOError:
            time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.setblocking(True)
    sock.settimeout(30)
    try:
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    status = int(answer.split(b" ", 2)[1])
    detail = json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]
    return status, detail, sent


class _Peak:
    """The server's largest resident size while a request runs, sampled every 10 ms."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.base = process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/documents/1/certified-copies", "/v1/verify", "/v1/batches"])
@pytest.mark.parametrize("length", [True, False], ids=["declared", "chunked"])
def test_300_mb_without_a_key_is_401_and_the_server_does_not_grow(door, path: str, length: bool) -> None:
    port, process, _ = door
    with _Peak(process) as peak:
        status, detail, sent = _send(port, path, length=length)
    assert status == 401, detail
    assert "API key" in detail
    assert sent < 64 * 2**20  # answered long before the body was through
    assert peak.growth_mb < 50, f"the server grew by {peak.growth_mb:.0f} MB"
    print(f"\n{path} ({'declared' if length else 'chunked'}): 401 after {sent / 2**20:.0f} MiB sent, "
          f"server grew {peak.growth_mb:.1f} MB")


@pytest.mark.parametrize("length", [True, False], ids=["declared", "chunked"])
def test_a_body_over_the_routes_cap_is_413_even_with_a_key(door, length: bool) -> None:
    port, process, admin = door
    with _Peak(process) as peak:
        status, detail, sent = _send(port, "/v1/keys", length=length, key=admin)
    assert status == 413, detail
    assert "larger than this call takes (1 MiB)" in detail
    assert sent < 64 * 2**20
    assert peak.growth_mb < 50, f"the server grew by {peak.growth_mb:.0f} MB"


def test_small_calls_still_work_behind_the_door(door) -> None:
    import httpx

    port, _, admin = door
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/v1/health").status_code == 200
    r = httpx.post(f"{base}/v1/keys", json={"role": "auditor", "name": "aud-door"},
                   headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 201, r.text
    assert httpx.post(f"{base}/v1/keys", json={}, headers={"X-API-Key": "sohoa_nope_nope"}).status_code == 401
