"""One real ``sohoa serve`` (uvicorn on 127.0.0.1, a free port) for the API tests, with its own data
folder, small limits so the refusals are cheap to provoke, one page worker, and a key per role."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from api.auth import create_key
from api.db import dispose_engines, engine_for
from bench.api import free_port, start_server, stop_server
from core.settings import Settings

LIMITS = {
    "SOHOA_MAX_FILE_BYTES": str(3 * 1024 * 1024),
    "SOHOA_MAX_PAGES_PER_FILE": "5",
    "SOHOA_MAX_PAGE_PIXELS": str(20_000_000),
    "SOHOA_API_MAX_BATCH_BYTES": str(5 * 1024 * 1024),
    "SOHOA_WORKERS": "1",
}


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    keys: dict[str, str]  # station_a, station_b, workflow, auditor, verifier, certifier, admin
    pid: int | None = None  # the serving process, for tests that watch its memory

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, who: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("api-server")
    engine = engine_for(Settings(data_dir=data_dir).resolved_database_url)
    keys = {
        "station_a": create_key(engine, role="station", name="station-a").key,
        "station_b": create_key(engine, role="station", name="station-b").key,
        "workflow": create_key(engine, role="workflow", name="workflow-1").key,
        "auditor": create_key(engine, role="auditor", name="auditor-1").key,
        "verifier": create_key(engine, role="verifier", name="verifier-1", official="Trần Văn Bình").key,
        "certifier": create_key(engine, role="certifier", name="certifier-1", official="Lê Thị Cúc").key,
        "admin": create_key(engine, role="admin", name="admin-1").key,
    }
    dispose_engines()
    port = free_port()
    proc = start_server(data_dir, port, env_extra=LIMITS)
    try:
        yield Server(url=f"http://127.0.0.1:{port}", data_dir=data_dir, keys=keys, pid=proc.pid)
    finally:
        stop_server(proc)


def small_page(seed: int = 0) -> np.ndarray:
    """A generated identity-card page at 100 dpi: OCR in well under a second."""
    from samples.generator import generate_document

    page = generate_document("cccd", random.Random(seed), damage=0.0).pages[0]
    return np.ascontiguousarray(page[::3, ::3])


def png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", dpi=(100, 100))
    return out.getvalue()


def wait_for_batch(client: httpx.Client, batch_id: str, timeout: float = 150.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/batches/{batch_id}").raise_for_status().json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} not processed within {timeout} s")


@dataclass(frozen=True)
class Processed:
    batch: dict
    document_id: int
    copy_id: int
    copy_pdf: bytes
    dossier_code: str


@pytest.fixture(scope="session")
def processed(server: Server) -> Processed:
    """Upload → processed → certified copy, once for the session (the expensive part)."""
    dossier = "000.00.19.H99-261124-0001"
    with server.client("station_a") as station:
        r = station.post(
            "/v1/batches",
            headers={"Idempotency-Key": "e2e-1"},
            data={"dossier_code": dossier, "procedure_code": "1.001612"},
            files=[("files", ("Căn cước.png", png(small_page(7)), "image/png"))],
        )
        assert r.status_code == 202, r.text
        batch = wait_for_batch(station, r.json()["id"])
    assert batch["status"] == "done", batch["error"]
    document_id = batch["documents"][0]["document_id"]
    with server.client("workflow") as workflow:
        r = workflow.post(f"/v1/documents/{document_id}/certified-copies", json={"reason": "hồ sơ thử"})
        assert r.status_code == 201, r.text
        copy = r.json()
        pdf = workflow.get(copy["download_url"]).raise_for_status().content
    return Processed(batch=batch, document_id=document_id, copy_id=copy["id"], copy_pdf=pdf, dossier_code=dossier)
