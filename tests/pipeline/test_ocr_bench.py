"""``sohoa bench ocr``: pipelines timed in turns, one table of real runs."""

from __future__ import annotations

import re
import subprocess
import sys

from bench.ocr import BenchResult, run_in_turns


def test_pipelines_run_in_turns_and_keep_their_best_time() -> None:
    calls: list[str] = []
    times = {"a": iter([3.0, 1.0, 2.0]), "b": iter([5.0, 6.0, 4.0])}

    def make(name: str):
        def run() -> BenchResult:
            calls.append(name)
            return BenchResult(name, ["text"], next(times[name]), {"a": 10.0, "b": 20.0}[name] + len(calls))
        return run

    results = run_in_turns([make("a"), make("b")], 3)
    assert calls == ["a", "b", "a", "b", "a", "b"]
    assert [(r.name, r.seconds) for r in results] == [("a", 1.0), ("b", 4.0)]
    assert [r.peak_rss_mb for r in results] == [15.0, 26.0]  # the largest seen


def test_bench_prints_one_table_measured_in_this_run() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "bench", "ocr", "--pages", "1", "--repeat", "2", "--no-ocrmypdf"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "best of 2 runs" in proc.stdout
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()
            if line.startswith(("sohoa ", "bare ", "simple ")) and "MB" in line}
    assert set(rows) == {"sohoa", "bare", "simple"}
    sohoa = re.match(r"sohoa\s+([\d.]+)%\s+([\d.]+)%", rows["sohoa"])
    assert sohoa is not None, rows["sohoa"]
    assert float(sohoa.group(1)) < 1.0  # a damaged page read with under 1% character errors
    simple = re.match(r"simple OpenCV \+ tesseract\s+([\d.]+)%", rows["simple"])
    assert simple is not None, rows["simple"]  # the plain baseline ran and read something
    # The ratio line agrees with the two rows' s/page (each rounded to hundredths).
    ratio = re.search(r"sohoa took ([\d.]+)x the time of bare tesseract", proc.stdout)
    assert ratio is not None, proc.stdout
    per_page = {name: float(re.search(r"([\d.]+)\s+\d+MB", rows[name]).group(1)) for name in ("sohoa", "bare")}
    assert abs(float(ratio.group(1)) - per_page["sohoa"] / per_page["bare"]) < 0.05
