"""``sohoa bench ocr --speed``: the warm path's speed beside single-threaded bare Tesseract.

Pages: the real-document corpus of ``bench/corpus/real`` rendered at 300 dpi (``bench.real``),
damaged for sohoa, undamaged for bare Tesseract (the engine's own pace on the same pages). Taken
in turns in one run, each row keeping its best of ``--repeat`` (the machine's speed drifts):

* bare ``tesseract -l vie``, one process a page, one after the other, on the undamaged renders;
* sohoa's clean-up and OCR of the damaged pages on 2 page workers that stay up between batches
  (:class:`pipeline.warm.WarmPagePool`, started and warmed before the clock), target ≤ 0.6× bare;
* the same through a pool started for the batch (what a one-off run pays), for comparison;
* one page uploaded to a running ``sohoa serve`` (no certification), from the upload to the batch
  done, beside bare Tesseract on that page, target ≤ 1.5×.

Peak RSS is each warm page worker's largest resident set while the batches ran (target ≤ 300 MB).

Beside each time, the CPU seconds the run cost (its processes and the programs they ran, best of the
runs as well): on a machine others share, wall time drifts with their load, CPU time much less, and
a CPU ratio of at most twice the wall target is what two workers need to meet it. The upload's CPU
is the serving process and everything it started (the upload check, the job, Tesseract), the
bench's polling of the batch included; the API is asked every 50 ms, as a station would far less often.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import psutil
from PIL import Image

from core.errors import ExternalToolError
from core.model import Page
from core.settings import Settings

TARGET_BATCH = 0.6  # warm clean-up + OCR on 2 workers / single-threaded bare Tesseract
TARGET_UPLOAD = 1.5  # one page through the running service / bare Tesseract on that page
TARGET_RSS_MB = 300


POLL_SECONDS = 0.05  # between the upload row's questions about its batch


@dataclass
class Timing:
    name: str
    seconds: float = float("inf")
    cpu: float = float("inf")  # CPU seconds, the least of the runs (nan: not measured)
    note: str = ""

    def keep(self, run: tuple[float, float]) -> None:
        seconds, cpu = run
        self.seconds = min(self.seconds, seconds)
        self.cpu = float("nan") if math.isnan(cpu) else min(self.cpu, cpu)


def _own_cpu() -> float:
    """CPU seconds of this process (all its threads) and of the children it has waited for."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _tree_cpu(pids: list[int], *, descendants: bool = False) -> float:
    """CPU seconds of processes ``pids`` (with their descendants still running, if asked), each with
    the children it has waited for (a page worker's Tesseract runs, a fork server's jobs)."""
    total = 0.0
    procs = [psutil.Process(pid) for pid in pids]
    if descendants:
        procs += [child for proc in procs for child in proc.children(recursive=True)]
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


class _WorkerPeak:
    """The largest resident set of any of ``pids``, sampled while a batch runs."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(pid) for pid in pids]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in self.procs:
                try:
                    self.peak = max(self.peak, proc.memory_info().rss)
                except psutil.Error:
                    pass
            self._stop.wait(0.05)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _bare(paths: list[Path], lang: str) -> tuple[float, float]:
    from bench.ocr import run_bare_tesseract

    before = _own_cpu()
    seconds = run_bare_tesseract(paths, lang).seconds
    return seconds, _own_cpu() - before


def _in_workers(pids: list[int], fn: Callable[[], object]) -> tuple[float, float]:
    """Seconds and CPU seconds of ``fn``, which hands work to the processes ``pids``: theirs and this
    process's own (the pages pickled to them and back)."""
    cpu = _own_cpu() + _tree_cpu(pids)
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started, _own_cpu() + _tree_cpu(pids) - cpu


def _uploaded(server_pid: int, upload: Callable[[], float]) -> tuple[float, float]:
    """Seconds of one upload and the CPU seconds of the server and all it started meanwhile (a job
    process ends with its batch: it is counted once its fork server has waited for it)."""
    cpu = _tree_cpu([server_pid], descendants=True)
    seconds = upload()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any("sohoa-job" in _name(p) for p in _descendants(server_pid)):
        time.sleep(0.05)  # the job process is still winding down after marking its batch done
    return seconds, _tree_cpu([server_pid], descendants=True) - cpu


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _name(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline()) + " " + proc.name()
    except psutil.Error:
        return ""


def _upload_once(port: int, key: str, body: tuple[str, bytes], n: int, timeout: float = 300.0) -> float:
    """Seconds from the upload of one page to its batch done; raises when it does not end done."""
    import http.client

    content_type, payload = body
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/v1/batches", body=payload, headers={
            "Authorization": f"Bearer {key}", "Idempotency-Key": f"speed-{n}", "Content-Type": content_type})
        response = conn.getresponse()
        answer = json.loads(response.read())
        if response.status not in (200, 202):
            raise ExternalToolError(f"upload refused ({response.status}): {answer}")
        batch = answer["id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conn.request("GET", f"/v1/batches/{batch}", headers={"Authorization": f"Bearer {key}"})
            status = json.loads(conn.getresponse().read())
            if status.get("status") in ("done", "failed"):
                if status["status"] != "done":
                    raise ExternalToolError(f"the uploaded page failed: {status.get('error')}")
                return time.perf_counter() - started
            time.sleep(POLL_SECONDS)
    finally:
        conn.close()
    raise ExternalToolError("the uploaded page was not done in time")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bench.api import free_port, multipart_body, start_server, stop_server
    from bench.real import real_pages
    from pipeline.executor import PageBudget, ProcessPoolPageExecutor
    from pipeline.pagework import PageWork
    from pipeline.tesseract import check_lang
    from pipeline.warm import WarmPagePool

    lang = check_lang(args.lang)
    count = max(1, args.pages)
    real = real_pages(args.seed)[:count]
    pages = [Page(source=f"{p.name}.png", source_sha256="", index=0, image=p.scan, dpi=300.0) for p in real]
    budget = PageBudget(seconds=settings.page_seconds, memory_mb=settings.page_memory_mb)
    work = PageWork(lang)
    bare, warm, cold = Timing("bare tesseract, undamaged, 1 process"), Timing("sohoa, warm workers (2)"), \
        Timing("sohoa, pool started per batch (2)")
    one_bare, upload = Timing("bare tesseract, that page, undamaged"), Timing("sohoa serve, one-page upload")
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-speed-") as tmp:
        folder = Path(tmp)
        clean = []
        for n, p in enumerate(real):
            clean.append(folder / f"clean{n:02d}.png")
            Image.fromarray(p.clean).save(clean[-1], dpi=(300, 300), compress_level=1)
        scan_png = folder / "upload.png"
        Image.fromarray(real[0].scan).save(scan_png, dpi=(300, 300))
        data_dir = folder / "serve"
        data_dir.mkdir()
        local = settings.model_copy(update={"data_dir": data_dir})
        from api.auth import create_key
        from api.db import dispose_engines, engine_for

        key = create_key(engine_for(local.resolved_database_url), role="station", name="bench-speed").key
        dispose_engines()
        port = free_port()
        server = start_server(data_dir, port, {"SOHOA_OCR_LANG": lang})
        peak_mb = 0.0
        try:
            with WarmPagePool(2, lang=lang, budget=budget) as pool:
                pids = pool.start()
                body = scan_png.read_bytes()
                rounds: list[Callable[[int], None]] = [
                    lambda n: bare.keep(_bare(clean, lang)),
                    lambda n: warm.keep(_in_workers(pids, lambda: pool.map_pages(work, pages))),
                    lambda n: cold.keep((_timed(lambda: ProcessPoolPageExecutor(2, budget).map_pages(work, pages)),
                                         float("nan"))),  # its workers are the fork server's children
                    lambda n: one_bare.keep(_bare(clean[:1], lang)),
                    lambda n: upload.keep(_uploaded(server.pid, lambda: _upload_once(port, key, multipart_body(
                        {"dossier_code": f"SPEED-{n:03d}", "certify": "false"}, f"page-{n}.png", body), n))),
                ]
                with _WorkerPeak(pids) as peak:
                    for n in range(args.repeat):
                        for one in rounds:
                            one(n)
                peak_mb = peak.peak / 2**20
        finally:
            stop_server(server)
    _print(count, lang, args, bare, warm, cold, one_bare, upload, peak_mb)
    return 0


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _print(count: int, lang: str, args: argparse.Namespace, bare: Timing, warm: Timing, cold: Timing,
           one_bare: Timing, upload: Timing, peak_mb: float) -> None:
    print(f"sohoa bench ocr --speed: {count} pages of the real corpus (bench/corpus/real) at 300 dpi, seed "
          f"{args.seed}; lang {lang}; best of {args.repeat} runs taken in turns; sohoa reads the damaged pages, "
          "bare Tesseract the undamaged renders")
    header = (f"{'run':44s} {'seconds':>8s} {'s/page':>7s} {'× bare':>7s} {'target':>7s} {'CPU s':>7s} "
              f"{'CPU/page':>8s} {'CPU × bare':>10s}")
    print(header)
    print("-" * len(header))
    rows = [(bare, count, bare, ""), (warm, count, bare, f"≤{TARGET_BATCH}"), (cold, count, bare, ""),
            (one_bare, 1, one_bare, ""), (upload, 1, one_bare, f"≤{TARGET_UPLOAD}")]
    for timing, pages, base, target in rows:
        ratio = timing.seconds / base.seconds
        cpu = "" if math.isnan(timing.cpu) else f"{timing.cpu:7.2f} {timing.cpu / pages:8.2f} {timing.cpu / base.cpu:10.2f}"
        print(f"{timing.name:44s} {timing.seconds:8.2f} {timing.seconds / pages:7.2f} {ratio:7.2f} {target:>7s} {cpu}")
    print(f"peak RSS of a warm page worker: {peak_mb:.0f} MB (target ≤{TARGET_RSS_MB} MB)")
    print("the upload row runs from the POST to the batch done: intake, page work, classification, fields, "
          f"PDF/A, records and manifest, on the server's job process (asked every {POLL_SECONDS * 1000:.0f} ms)")
