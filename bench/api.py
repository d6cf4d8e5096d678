"""``sohoa bench api``: N stations uploading at once over loopback.

The server runs as its own process (``sohoa serve``) so the clients' threads do not share its GIL;
each station uploads small generated scans, then retries every upload with the same
Idempotency-Key as a flaky network would. Figures: uploads/s, p50/p99 of the upload answer (the
target is p99 ≤ 200 ms with 20 stations), 5xx count, and once the queue drains, whether every batch
was processed exactly once (one job attempt, one record batch, no duplicate from the retries).
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ExternalToolError
from core.settings import Settings

log = logging.getLogger(__name__)

TARGET_P99_MS = 200.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_scan(seed: int) -> np.ndarray:
    """One generated document page at 100 dpi: small enough that OCR takes well under a second."""
    try:
        from samples.generator import generate_document

        page = generate_document("cccd", random.Random(seed), damage=0.3).pages[0]
        return np.ascontiguousarray(page[::3, ::3])
    except ImportError:  # the samples package is optional at run time
        rng = np.random.default_rng(seed)
        page = np.full((1169, 827), 245, np.uint8)
        for row in range(100, 1000, 40):
            page[row : row + 12, 80 : 80 + int(rng.integers(200, 700))] = 20
        return page


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", dpi=(100, 100))
    return out.getvalue()


def start_server(data_dir: Path, port: int, env_extra: dict[str, str] | None = None,
                 timeout: float = 60.0, log_level: str = "warning") -> subprocess.Popen[bytes]:
    """``sohoa serve`` on 127.0.0.1:port with its own data folder; returns once it answers."""
    import httpx

    env = {**os.environ, "SOHOA_DATA_DIR": str(data_dir), "OMP_THREAD_LIMIT": "1", **(env_extra or {})}
    log_file = open(data_dir / "serve.log", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", log_level],
        env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    log_file.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ExternalToolError(f"the API server exited with code {proc.returncode}; see {data_dir / 'serve.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1.0).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(proc)
    raise ExternalToolError(f"the API server did not answer within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def multipart_body(fields: dict[str, str], filename: str, data: bytes) -> tuple[str, bytes]:
    """A multipart/form-data body with the form fields and one file in ``files``."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def run_bench(settings: Settings, *, stations: int, uploads: int, wait: bool = True,
              timeout: float = 600.0, pages: list[np.ndarray] | None = None) -> dict[str, Any]:
    """Run the bench; ``pages`` replaces the generated scans (tests pass tiny ones)."""
    from api.auth import create_key
    from api.db import api_batches, dispose_engines, engine_for

    with tempfile.TemporaryDirectory(prefix="sohoa-bench-api-") as tmp:
        data_dir = Path(tmp)
        local = settings.model_copy(update={"data_dir": data_dir})
        engine = engine_for(local.resolved_database_url)
        keys = [create_key(engine, role="station", name=f"bench-{n:02d}").key for n in range(stations)]
        bases = pages or [small_scan(seed) for seed in range(4)]
        bodies: list[list[bytes]] = []
        for s in range(stations):
            row = []
            for u in range(uploads):
                image = bases[(s + u) % len(bases)].copy()
                image.reshape(-1)[: 8] = [s % 256, u % 256, 0, 1, 2, 3, 4, 5]  # every upload distinct
                row.append(png_bytes(image))
            bodies.append(row)

        port = free_port()
        proc = start_server(data_dir, port)
        first: list[float] = []
        retries: list[float] = []
        server_side: list[float] = []
        statuses: dict[int, int] = {}
        ids: dict[tuple[int, int], str] = {}
        mismatched = 0
        lock = threading.Lock()
        barrier = threading.Barrier(stations)

        def station(n: int) -> None:
            nonlocal mismatched
            # Bodies are encoded before the clock starts and sent over http.client: the clients share
            # this machine's cores with the server, and an HTTP library's own work per request
            # (several ms for a multipart body) would be measured as the server's latency.
            prepared = [multipart_body({"dossier_code": f"BENCH-{n:02d}-{u:03d}", "procedure_code": "1.001612"},
                                       f"scan-{u}.png", bodies[n][u]) for u in range(uploads)]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            auth = f"Bearer {keys[n]}"
            # A station keeps its connection open: set it up, and take the server past its first
            # requests, before timing.
            for path in ("/v1/health", "/v1/batches?limit=1"):
                conn.request("GET", path, headers={"Authorization": auth})
                conn.getresponse().read()
            barrier.wait()
            try:
                for u, (content_type, payload) in enumerate(prepared):
                    for attempt in range(2):  # the upload, then its retry with the same key
                        started = time.perf_counter()
                        conn.request("POST", "/v1/batches", body=payload, headers={
                            "Authorization": auth, "Idempotency-Key": f"bench-{n}-{u}", "Content-Type": content_type,
                        })
                        response = conn.getresponse()
                        data = response.read()
                        elapsed = (time.perf_counter() - started) * 1000.0
                        timing = response.getheader("server-timing") or ""
                        with lock:
                            statuses[response.status] = statuses.get(response.status, 0) + 1
                            (retries if attempt else first).append(elapsed)
                            if timing.startswith("app;dur=") and not attempt:
                                server_side.append(float(timing.removeprefix("app;dur=")))
                            if response.status in (200, 202):
                                batch_id = json.loads(data)["id"]
                                if attempt == 0:
                                    ids[(n, u)] = batch_id
                                elif ids.get((n, u)) != batch_id:
                                    mismatched += 1
            finally:
                conn.close()

        try:
            threads = [threading.Thread(target=station, args=(n,)) for n in range(stations)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            upload_seconds = time.perf_counter() - t0

            drained = None
            if wait:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    with engine.connect() as conn:
                        pending = conn.execute(
                            api_batches.select().where(api_batches.c.status.in_(["queued", "processing"]))
                        ).fetchall()
                    if not pending:
                        drained = time.perf_counter() - t0
                        break
                    time.sleep(0.5)
        finally:
            stop_server(proc)

        with engine.connect() as conn:
            rows = conn.execute(api_batches.select()).mappings().all()
        record_batches = _record_batch_count(local)
        dispose_engines()

    done = [r for r in rows if r["status"] == "done"]
    failed = [r for r in rows if r["status"] == "failed"]
    storage_ids = [r["storage_batch_id"] for r in done]
    once = (
        len(rows) == stations * uploads
        and mismatched == 0
        and all(r["attempts"] == 1 for r in rows)
        and len(set(storage_ids)) == len(storage_ids)
        and (record_batches is None or record_batches == len(done))
    )
    pages = sum(r["pages_total"] or 0 for r in done)
    errors_5xx = sum(n for code, n in statuses.items() if code >= 500)
    p99 = percentile(first, 99)
    figures: dict[str, Any] = {
        "stations": stations,
        "uploads_per_station": uploads,
        "requests": len(first) + len(retries),
        "upload_seconds": round(upload_seconds, 3),
        "requests_per_second": round((len(first) + len(retries)) / upload_seconds, 1),
        "upload_p50_ms": round(percentile(first, 50), 1),
        "upload_p99_ms": round(p99, 1),
        "upload_max_ms": round(max(first), 1) if first else None,
        "retry_p50_ms": round(percentile(retries, 50), 1),
        "server_p50_ms": round(percentile(server_side, 50), 1),
        "server_p99_ms": round(percentile(server_side, 99), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_5xx": errors_5xx,
        "batches": len(rows),
        "batches_done": len(done),
        "batches_failed": len(failed),
        "failures": sorted({r["error"] for r in failed})[:5],
        "record_batches": record_batches,
        "processed_once": once if wait else None,
        "pages": pages,
        "drain_seconds": round(drained, 1) if drained else None,
        "target_p99_ms": TARGET_P99_MS,
    }
    figures["ok"] = (
        errors_5xx == 0 and mismatched == 0 and p99 <= TARGET_P99_MS
        and (not wait or (bool(once) and drained is not None and not failed))
    )
    return figures


def _record_batch_count(settings: Settings) -> int | None:
    try:
        from sqlalchemy import func, select

        from storage.db import open_database
        from storage.models import Batch
    except ImportError:
        return None
    db = open_database(settings.resolved_database_url)
    try:
        with db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Batch)) or 0)
    finally:
        db.dispose()


def print_figures(f: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sohoa bench api · {f['stations']} stations × {f['uploads_per_station']} uploads "
                  "(each retried once with the same Idempotency-Key)")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("target", justify="right")
    table.add_row("requests/s (upload answers)", f"{f['requests_per_second']:.1f}", "—")
    table.add_row("upload answer p50", f"{f['upload_p50_ms']:.1f} ms", "—")
    table.add_row("upload answer p99", f"{f['upload_p99_ms']:.1f} ms", f"≤ {f['target_p99_ms']:.0f} ms")
    table.add_row("upload answer max", f"{f['upload_max_ms']:.1f} ms", "—")
    table.add_row("retry answer p50", f"{f['retry_p50_ms']:.1f} ms", "—")
    table.add_row("time in the handler p50 / p99", f"{f['server_p50_ms']:.1f} / {f['server_p99_ms']:.1f} ms", "—")
    table.add_row("HTTP statuses", ", ".join(f"{k}: {v}" for k, v in f["statuses"].items()), "no 5xx")
    table.add_row("batches done / failed", f"{f['batches_done']} / {f['batches_failed']}", f"{f['batches']} / 0")
    table.add_row("record batches", str(f["record_batches"]), str(f["batches"]))
    table.add_row("processed exactly once", str(f["processed_once"]), "True")
    table.add_row("pages processed", str(f["pages"]), "—")
    table.add_row("time until all processed", f"{f['drain_seconds']} s", "—")
    console = Console()
    console.print(table)
    for failure in f["failures"]:
        console.print(f"failed batch: {failure}")
    console.print("verdict: " + ("[green]ok[/green]" if f["ok"] else "[red]below target[/red]"))
