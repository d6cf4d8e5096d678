"""What a running server must not give away or give up: a key sent in a query string stays out of
the access log, the last admin key stays, another dossier's document id stays out of a station's
answers, and a PDF built to be expensive never costs the serving process its CPU (``/v1/verify``
and a procedure's result posted by the workflow system are parsed in a budgeted process of their own).

One server for the module, logging at ``info`` so the access log is written as in production."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from api.auth import create_key
from api.db import dispose_engines, engine_for
from bench.api import free_port, stop_server
from core.settings import Settings
from tests.api.conftest import png, small_page
from tests.faults.conftest import processes_of, wait_status
from tests.faults.hostile import behind_a_long_line, content_bomb_pdf, text_pdf


@dataclass
class Verbose:
    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    keys: dict[str, str]
    key_ids: dict[str, int]

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def log(self) -> str:
        return (self.data_dir / "serve.log").read_text(encoding="utf-8", errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time of the serving process alone (not its job or parse processes)."""
        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system


@pytest.fixture(scope="module")
def verbose(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verbose]:
    data_dir = tmp_path_factory.mktemp("leaks")
    engine = engine_for(Settings(data_dir=data_dir).resolved_database_url)
    made = {
        "station_a": create_key(engine, role="station", name="station-a"),
        "station_b": create_key(engine, role="station", name="station-b"),
        "auditor": create_key(engine, role="auditor", name="auditor-1"),
        "admin": create_key(engine, role="admin", name="admin-1"),
        "workflow": create_key(engine, role="workflow", name="workflow-1"),
    }
    dispose_engines()
    port = free_port()
    env = {**os.environ, "SOHOA_DATA_DIR": str(data_dir), "OMP_THREAD_LIMIT": "1", "SOHOA_WORKERS": "1",
           "SOHOA_API_PARSE_CPU_SECONDS": "2", "SOHOA_MAX_FILE_BYTES": str(64 * 2**20)}
    with (data_dir / "serve.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--log-level", "info"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded machine
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield Verbose(url, data_dir, proc, {k: v.key for k, v in made.items()}, {k: v.id for k, v in made.items()})
    finally:
        stop_server(proc)
        for left in processes_of(data_dir):
            left.kill()


@pytest.mark.parametrize("query", ["api_key={key}", "purpose=x&token={key}", "q={key}", "key={key}&limit=5"])
def test_a_key_in_the_query_string_is_refused_and_never_logged(verbose: Verbose, query: str) -> None:
    key = verbose.keys["station_a"]
    with verbose.client() as anonymous:
        r = anonymous.get(f"/v1/batches?{query.format(key=key)}")
    assert r.status_code == 401 and "not taken in the query string" in r.json()["detail"], r.text
    # with the header too: a key in the query string is refused whatever else is sent
    with verbose.client("station_a") as station:
        assert station.get(f"/v1/batches?{query.format(key=key)}").status_code == 401
        assert station.get("/v1/batches").status_code == 200
    time.sleep(0.2)
    log = verbose.log()
    assert "GET /v1/batches?" in log  # the access log is on, and wrote these requests...
    assert key not in log and key.split("_", 2)[2] not in log  # ...without the key


def test_the_last_admin_key_cannot_be_revoked(verbose: Verbose) -> None:
    admin_id = verbose.key_ids["admin"]
    with verbose.client("admin") as admin:
        r = admin.delete(f"/v1/keys/{admin_id}")
        assert r.status_code == 409 and "last active admin key" in r.json()["detail"], r.text
        assert admin.get("/v1/keys").status_code == 200  # still works
        second = admin.post("/v1/keys", json={"role": "admin", "name": "admin-2"}).json()
        with verbose.client() as other:
            auth = {"Authorization": f"Bearer {second['key']}"}
            # with two, either may go; the one left is the last again
            assert other.delete(f"/v1/keys/{second['id']}", headers=auth).status_code == 204
        assert admin.delete(f"/v1/keys/{admin_id}").status_code == 409
        listed = {k["id"]: k["revoked"] for k in admin.get("/v1/keys").json()}
    assert listed[admin_id] is None and listed[second["id"]] is not None


def _upload(verbose: Verbose, who: str, dossier: str, data: bytes) -> dict:
    with verbose.client(who) as client:
        r = client.post("/v1/batches", data={"dossier_code": dossier},
                        files=[("files", ("cccd.png", data, "image/png"))])
        assert r.status_code == 202, r.text
        body = wait_status(client, r.json()["id"], ("done", "failed"))
    assert body["status"] == "done", body["error"]
    return body


def test_reused_from_names_only_the_stations_own_documents(verbose: Verbose) -> None:
    scan = png(small_page(11))
    first = _upload(verbose, "station_a", "HS-REUSE-A", scan)["documents"][0]["document_id"]
    theirs = _upload(verbose, "station_b", "HS-REUSE-B", scan)["documents"][0]
    again = _upload(verbose, "station_a", "HS-REUSE-A2", scan)["documents"][0]
    import sqlite3

    db = sqlite3.connect(verbose.data_dir / "sohoa.db")
    try:
        stored = dict(db.execute("SELECT id, reused_from_id FROM documents WHERE id IN (?, ?)",
                                 (theirs["document_id"], again["document_id"])).fetchall())
    finally:
        db.close()
    assert stored[theirs["document_id"]] is not None  # the records do link it to an earlier document...
    assert theirs["reused_from"] is None  # ...but station-b is not told another dossier's document id
    assert stored[again["document_id"]] is not None
    assert again["reused_from"] in (first, stored[again["document_id"]])  # its own: named
    with verbose.client("station_b") as b:
        listed = b.get("/v1/batches").json()["batches"]
    assert all(d["reused_from"] is None for batch in listed for d in batch["documents"])


def _verify(verbose: Verbose, body: bytes) -> tuple[httpx.Response, float, float]:
    cpu = verbose.cpu_seconds()
    started = time.monotonic()
    with verbose.client("auditor") as auditor:
        r = auditor.post("/v1/verify", content=body, headers={"Content-Type": "application/pdf"})
    return r, time.monotonic() - started, verbose.cpu_seconds() - cpu


def test_40_mb_without_a_line_break_is_refused_at_once(verbose: Verbose) -> None:
    r, seconds, cpu = _verify(verbose, b"%PDF-1.4" + b"A" * 40_000_000)
    assert r.status_code == 422 and "not a complete PDF" in r.json()["detail"], r.text
    assert str(verbose.data_dir) not in r.text
    print(f"\n40 MB without line breaks: {r.status_code} in {seconds:.2f} s, serving process CPU {cpu:.2f} s")
    assert cpu < 3.0  # reading 40 MB off the socket and writing it to the spool; was 36 s of parsing


def test_an_expensive_pdf_is_stopped_at_its_cpu_budget_away_from_the_server(verbose: Verbose) -> None:
    # A whole-looking PDF (its end names a cross-reference table) whose body is one 40 MB line.
    body = b"%PDF-1.4\n" + b"A" * 40_000_000 + b"\nstartxref\n9\n%%EOF\n"
    r, seconds, cpu = _verify(verbose, body)
    print(f"\n40 MB line with a tail: {r.status_code} in {seconds:.2f} s, serving process CPU {cpu:.2f} s")
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:  # stopped at the 2 s budget (SOHOA_API_PARSE_CPU_SECONDS)
        assert "more than 2 s of CPU time" in r.json()["detail"], r.text
    else:  # or the verifier gave up on its own within it
        assert r.json()["verdict"] in ("invalid", "could_not_check")
    assert cpu < 3.0
    with verbose.client("station_a") as station:  # and the server answers as ever
        assert station.get("/v1/batches").status_code == 200
    assert not list((verbose.data_dir / "api-spool").glob("verify-*"))  # the spooled body is gone


def _post_result(verbose: Verbose, code: str, body: bytes) -> tuple[httpx.Response, float, float]:
    cpu = verbose.cpu_seconds()
    started = time.monotonic()
    with verbose.client("workflow") as workflow:
        r = workflow.post(f"/v1/dossiers/{code}/results", data={"owner_id": "001090012345", "result_type": "other"},
                          files={"file": ("kết quả.pdf", body, "application/pdf")})
    return r, time.monotonic() - started, verbose.cpu_seconds() - cpu


@pytest.mark.parametrize("hostile", ["content bomb", "40 MB line", "40 MB comment"])
def test_a_hostile_result_is_refused_away_from_the_server(verbose: Verbose, hostile: str) -> None:
    """The result of a procedure is a PDF from outside too: its reading, signature check and OCR run
    in the API's parse processes, so a file built to be expensive is refused with its reason and
    the serving process never does the work. Nothing is recorded for it."""
    if hostile == "content bomb":  # 39 KB that inflate to 40 MB of drawing operators
        body, status, reason = content_bomb_pdf(), 413, "content-stream bomb"
    elif hostile == "40 MB line":  # a whole-looking signed PDF whose body is one 40 MB line
        body = b"%PDF-1.4\n<</ByteRange [0 1 2 3]>>" + b"A" * 40_000_000 + b"\nstartxref\n9\n%%EOF\n"
        status, reason = 422, "not a readable PDF"
    else:  # a readable page after a 40 MB comment line: reading it took 136 s of CPU unbudgeted
        page = text_pdf()
        cut = page.index(b"\n") + 1
        body = page[:cut] + b"%" + b"A" * 40_000_000 + b"\n" + page[cut:]
        status, reason = 422, "reading the result was stopped because it needed more than 2 s of CPU time"
    code = f"HS-KQ-{len(body)}"
    with verbose.client("workflow") as workflow:
        assert workflow.put(f"/v1/dossiers/{code}/reception", json={"agency": "UBND"}).status_code == 200
    r, seconds, cpu = _post_result(verbose, code, body)
    print(f"\nresult, {hostile}: {r.status_code} in {seconds:.2f} s, serving process CPU {cpu:.2f} s")
    assert r.status_code == status, r.text
    # refused by the reader, or stopped at the 2 s budget (SOHOA_API_PARSE_CPU_SECONDS) on a slower machine
    assert reason in r.json()["detail"] or "more than 2 s of CPU time" in r.json()["detail"], r.text
    assert r.json()["detail"].startswith("kết quả.pdf: ") and str(verbose.data_dir) not in r.text
    assert cpu < 3.0  # reading the body off the socket and handing it over; the parse is elsewhere
    with verbose.client("workflow") as workflow:  # nothing recorded, and the server answers as ever
        assert workflow.get(f"/v1/dossiers/{code}/results").json()["results"] == []


@pytest.mark.parametrize("line", [b"%" + b"A" * 40_000_000, b" " * 40_000_000], ids=["comment", "whitespace"])
def test_a_batch_behind_a_40_mb_line_is_refused_before_the_202(verbose: Verbose, line: bytes) -> None:
    """The batch upload check opens the text layer as ingest will, under the parse budget: the file
    is refused with its reason within seconds, nothing is recorded, the serving process is idle."""
    body = behind_a_long_line(line)
    with verbose.client("station_a") as station:
        before = len(station.get("/v1/batches").json()["batches"])
        cpu = verbose.cpu_seconds()
        started = time.monotonic()
        r = station.post("/v1/batches", data={"dossier_code": "HS-LINE"},
                         files=[("files", ("thư.pdf", body, "application/pdf"))])
        seconds = time.monotonic() - started
        cpu = verbose.cpu_seconds() - cpu
        print(f"\nbatch behind a 40 MB line: {r.status_code} in {seconds:.2f} s, serving process CPU {cpu:.2f} s")
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail.startswith("thư.pdf") and str(verbose.data_dir) not in r.text
        # the parse budget (2 s of CPU here) or the text layer's own limit stopped it
        assert "more than 2 s of CPU time" in detail or "text layer cannot be read within" in detail, detail
        assert seconds < 40
        assert cpu < 3.0
        assert len(station.get("/v1/batches").json()["batches"]) == before  # nothing recorded
    assert not [p for p in (verbose.data_dir / "api-spool").rglob("*") if p.is_file()]  # nothing kept
