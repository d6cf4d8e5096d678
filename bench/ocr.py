"""``sohoa bench ocr``: OCR accuracy and speed on damaged synthetic pages, beside its baselines.

Two families of pages: the generator's documents (``--family generator``, the default) and letters
typeset by Decree 30/2020 Appendix I (``--family decree30``, :mod:`samples.decree30`).

Pages are documents from ``samples.generator`` (laid out, printed in several fonts, damaged by
``samples.damage``, the project's one damage model), drawn from the bench's own seed set
("sohoa-bench-ocr/<seed>/<i>"). The tests the OCR is tuned against read plain pages
(``samples.plain``) and, from this seed set, only seeds 5, 7 and 99; the default seed (2024) is
kept out of them, so the default figures are on pages the tuning never saw.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Self

import cv2
import numpy as np
import psutil
import pytesseract
from PIL import Image
from rapidfuzz.distance import Levenshtein

import pipeline
from core.errors import InputError
from core.model import nfc
from core.settings import Settings
from pipeline.tesseract import check_lang

# ------------------------------------------------------------------------------------------ the bench

REFERENCE = {
    "bare tesseract": ("7.20%", "18.8%", "1.70"),
    "OCRmyPDF plain": ("0.25%", "0.74%", "2.30"),
    "OCRmyPDF --deskew --clean": ("0.17%", "0.30%", "10.9"),
    "simple OpenCV + tesseract": ("0.20%", "0.30%", "1.34"),
    "sohoa": ("≤0.15%", "≤0.30%", "≤1.10"),
}
REFERENCE_NOTE = ("simple OpenCV + tesseract: projection-profile deskew, flattened light and Otsu, then "
                  "tesseract (the reference table's fourth row, run here); sohoa's reference: its targets")


@dataclass
class BenchPage:
    image: np.ndarray  # RGB or grey, 300 dpi
    truth: str
    rotation: int
    skew: float


@dataclass
class BenchResult:
    name: str
    texts: list[str]
    seconds: float
    peak_rss_mb: float
    note: str = ""


def normalise(text: str) -> str:
    """Whitespace does not count: lines stripped, runs of spaces collapsed, empty lines dropped."""
    lines = (" ".join(line.split()) for line in nfc(text).splitlines())
    return "\n".join(line for line in lines if line)


def cer(got: str, truth: str) -> float:
    got, truth = normalise(got), normalise(truth)
    return Levenshtein.distance(got, truth) / max(1, len(truth))


FAMILIES = ("generator", "decree30")
# The decree-30 letters: seed 5 is the one looked at while tuning, the default seed (2024) is held out.
DECREE30_TUNED_SEED = 5


def bench_pages(count: int, seed: int, family: str = "generator") -> tuple[list[BenchPage], str]:
    """Damaged A4 pages with ground truth; every third page is turned upside down on top of its damage."""
    if family == "decree30":
        return decree30_pages(count, seed)
    # Imported here: ``python -m bench.ocr`` is the simple-OpenCV row's process, whose time would
    # include the generator's imports.
    from samples.generator import DOC_TYPES, generate_document

    types = [t for t in DOC_TYPES if t != "cccd"]  # ID cards are photographs of cards, not A4 pages
    pages = []
    for i in range(count):
        doc = generate_document(types[i % len(types)], random.Random(f"sohoa-bench-ocr/{seed}/{i}"))
        image, info = doc.pages[0], doc.damage[0]
        rotation = int(info.get("rotation", 0))
        if i % 3 == 1 and rotation == 0:
            image = np.ascontiguousarray(np.rot90(image, 2))
            rotation = 180
        pages.append(BenchPage(image, doc.text.split("\f")[0], rotation, float(info.get("skew_deg", 0.0))))
    return pages, "samples.generator"


def decree30_pages(count: int, seed: int) -> tuple[list[BenchPage], str]:
    """Letters typeset by Decree 30/2020 Appendix I (:mod:`samples.decree30`), damaged by the
    project's damage model like the generator's pages, every third one turned upside down."""
    from samples.damage import apply_damage
    from samples.decree30 import decree30_page

    pages = []
    for i in range(count):
        rng = random.Random(f"sohoa-bench-ocr-decree30/{seed}/{i}")
        clean, truth = decree30_page(rng)
        image, info = apply_damage(clean, rng, severity=rng.uniform(0.5, 1.0))
        rotation = int(info.get("rotation", 0))
        if i % 3 == 1 and rotation == 0:
            image = np.ascontiguousarray(np.rot90(image, 2))
            rotation = 180
        pages.append(BenchPage(image, truth, rotation, float(info.get("skew_deg", 0.0))))
    return pages, "samples.decree30 (Decree 30/2020 letters in Liberation Serif)"


class _PeakRss:
    """Largest resident set of any one process in a tree, sampled while a pipeline runs."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                self.peak = max(self.peak, proc.memory_info().rss)
            except psutil.Error:
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.05)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _run_tree(cmd: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes, float]:
    """Run a command, sampling the peak RSS of its process tree."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    with _PeakRss(proc.pid) as rss:
        out, err = proc.communicate()
    return proc.returncode, out, err, rss.peak / 2**20


def _env() -> dict[str, str]:

    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def run_bare_tesseract(paths: list, lang: str) -> BenchResult:

    texts, peak = [], 0.0
    start = time.perf_counter()
    for path in paths:
        code, out, _err, rss = _run_tree(["tesseract", str(path), "-", "-l", lang], _env())
        texts.append(out.decode("utf-8", "replace") if code == 0 else "")
        peak = max(peak, rss)
    return BenchResult("bare tesseract", texts, time.perf_counter() - start, peak)


def _compile_project() -> None:
    """Byte-compile the project's modules, as an installed copy has them: where the environment
    sets PYTHONDONTWRITEBYTECODE, an editable install would otherwise compile every module again
    at each start (a tenth of a second of the run measured here, not of the OCR)."""


    root = Path(pipeline.__file__).resolve().parent.parent
    for package in ("pipeline", "classifiers", "samples", "signing", "storage", "workers", "api"):
        if (root / package).is_dir():
            compileall.compile_dir(root / package, quiet=2)


def run_sohoa(tiff, count: int, lang: str) -> BenchResult:

    _compile_project()
    cmd = [sys.executable, "-m", "cli.main", "ocr", str(tiff), "--lang", lang, "--format", "text",
           "--workers", "1"]
    start = time.perf_counter()
    code, out, err, rss = _run_tree(cmd, _env())
    seconds = time.perf_counter() - start
    if code != 0:
        return BenchResult("sohoa", [""] * count, seconds, rss, f"failed: {err.decode()[-200:]}")
    texts = out.decode("utf-8").rstrip("\n").split("\f")
    return BenchResult("sohoa", texts, seconds, rss)


def simple_opencv_text(path: str, lang: str) -> str:
    """The reference row's pipeline, kept deliberately plain: flatten the light, Otsu, deskew by a
    projection profile, then Tesseract on the binary page. No orientation, no crop, no erasing."""
    grey = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    bg = cv2.GaussianBlur(cv2.dilate(grey, np.ones((31, 31), np.uint8)), (0, 0), 15)
    flat = cv2.divide(grey, np.maximum(bg, 1), scale=255)
    _, binary = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    small = cv2.resize(255 - binary, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    h, w = small.shape

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rows = cv2.warpAffine(small, m, (w, h)).sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(rows) ** 2))

    best = max(np.arange(-10, 10.01, 0.5), key=sharpness)
    best = max(np.arange(best - 0.5, best + 0.51, 0.1), key=sharpness)
    m = cv2.getRotationMatrix2D((binary.shape[1] / 2, binary.shape[0] / 2), float(best), 1.0)
    level = cv2.warpAffine(binary, m, (binary.shape[1], binary.shape[0]), borderValue=255)
    return pytesseract.image_to_string(level, lang=lang)


def _simple_opencv_main(argv: list[str]) -> int:
    lang, paths = argv[0], argv[1:]
    print("\f".join(simple_opencv_text(path, lang) for path in paths), end="")
    return 0


def run_simple_opencv(paths: list, lang: str) -> BenchResult:

    cmd = [sys.executable, "-m", "bench.ocr", lang, *map(str, paths)]
    start = time.perf_counter()
    code, out, err, rss = _run_tree(cmd, _env())
    seconds = time.perf_counter() - start
    name = "simple OpenCV + tesseract"
    if code != 0:
        return BenchResult(name, [""] * len(paths), seconds, rss, f"failed: {err.decode()[-200:]}")
    return BenchResult(name, out.decode("utf-8").split("\f"), seconds, rss)


def run_ocrmypdf(pdf, count: int, lang: str, work, extra: list[str], name: str) -> BenchResult:

    if shutil.which("ocrmypdf") is None and not _has_module("ocrmypdf"):
        return BenchResult(name, [], 0.0, 0.0, "not installed (pip install 'sohoa[bench]')")
    sidecar = work / f"{name.replace(' ', '_')}.txt"
    out_pdf = work / f"{name.replace(' ', '_')}.pdf"
    cmd = [sys.executable, "-m", "ocrmypdf", "-l", lang, "--jobs", "1", "--output-type", "pdf",
           "--sidecar", str(sidecar), "--optimize", "0", *extra, str(pdf), str(out_pdf)]
    start = time.perf_counter()
    code, _out, err, rss = _run_tree(cmd, _env())
    seconds = time.perf_counter() - start
    if code != 0:
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return BenchResult(name, [], seconds, rss, f"failed (exit {code}): {last[0][:120]}")
    texts = sidecar.read_text(encoding="utf-8").split("\f")
    return BenchResult(name, texts[:count], seconds, rss)


def run_in_turns(runs: list[Callable[[], BenchResult]], repeat: int) -> list[BenchResult]:
    """Every pipeline ``repeat`` times, in turns (A B C A B C ...), each keeping its fastest run.

    The speed of a shared machine drifts by a fifth over minutes; taken in turns, every pipeline
    meets the same drift, and the best run is the one least disturbed by it (as ``timeit`` takes
    the minimum). Texts are the same in every run; peak memory is the largest seen."""
    best: list[BenchResult | None] = [None] * len(runs)
    for _ in range(repeat):
        for i, run_once in enumerate(runs):
            res = run_once()
            kept = best[i]
            if kept is None:
                best[i] = res
            elif res.texts:
                best[i] = replace(kept, seconds=min(kept.seconds, res.seconds),
                                  peak_rss_mb=max(kept.peak_rss_mb, res.peak_rss_mb))
    return [res for res in best if res is not None]


def _has_module(name: str) -> bool:

    return importlib.util.find_spec(name) is not None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Generate the pages, run every pipeline on them in this one run, print one table."""

    if args.pages < 1:
        raise InputError("--pages must be at least 1")
    if args.repeat < 1:
        raise InputError("--repeat must be at least 1")
    lang = check_lang(args.lang)
    family = getattr(args, "family", "generator")
    pages, origin = bench_pages(args.pages, args.seed, family)
    if family == "decree30":
        split = "the tuned seed" if args.seed == DECREE30_TUNED_SEED else \
            f"held out; tuning looked at seed {DECREE30_TUNED_SEED}"
        origin += f", seed {args.seed} ({split})"
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-ocr-") as tmp:
        work = Path(tmp)
        paths = []
        for i, page in enumerate(pages):
            path = work / f"page{i:03d}.png"
            Image.fromarray(page.image).save(path, dpi=(300, 300), compress_level=1)
            paths.append(path)
        tiff = work / "pages.tif"
        frames = [Image.fromarray(p.image) for p in pages]
        frames[0].save(tiff, save_all=True, append_images=frames[1:], dpi=(300, 300), compression="tiff_lzw")
        runs: list[Callable[[], BenchResult]] = [
            lambda: run_sohoa(tiff, len(pages), lang), lambda: run_bare_tesseract(paths, lang),
            lambda: run_simple_opencv(paths, lang)]
        if not args.no_ocrmypdf:
            pdf = work / "pages.pdf"
            try:
                import img2pdf

                pdf.write_bytes(img2pdf.convert([str(p) for p in paths]))
            except ImportError:
                pdf = None
            if pdf is None:
                runs.append(lambda: BenchResult("OCRmyPDF plain", [], 0.0, 0.0, "not installed"))
            else:
                runs.append(lambda: run_ocrmypdf(pdf, len(pages), lang, work, [], "OCRmyPDF plain"))
                if args.ocrmypdf_clean:
                    runs.append(lambda: run_ocrmypdf(pdf, len(pages), lang, work, ["--deskew", "--clean"],
                                                     "OCRmyPDF --deskew --clean"))
        results = run_in_turns(runs, args.repeat)
    rotations = sum(1 for p in pages if p.rotation)
    print(f"sohoa bench ocr: {len(pages)} damaged A4 pages at 300 dpi from {origin} "
          f"({rotations} turned, skew up to {max(abs(p.skew) for p in pages):.1f}°), lang {lang}, one core, "
          f"s/page: best of {args.repeat} runs taken in turns")
    header = (
        f"{'pipeline':28s} {'mean CER':>9s} {'worst':>7s} {'upright':>8s} {'s/page':>7s} {'peak RSS':>9s}"
        "   reference (CER, worst, s/page)"
    )
    print(header)
    print("-" * len(header))
    for res in results:
        ref = REFERENCE.get(res.name, ("", "", ""))
        ref_text = f"{ref[0]:>7s} {ref[1]:>7s} {ref[2]:>6s}" if ref[0] else ""
        if not res.texts:
            print(f"{res.name:28s} {'-':>9s} {'-':>7s} {'-':>8s} {'-':>7s} {'-':>9s}   {ref_text}  {res.note}")
            continue
        errors = [cer(t, p.truth) for t, p in zip(res.texts, pages, strict=False)]
        errors += [1.0] * (len(pages) - len(errors))
        upright = [e for e, p in zip(errors, pages, strict=True) if p.rotation == 0]
        upright_text = f"{100 * np.mean(upright):7.2f}%" if upright else f"{'-':>8s}"
        print(f"{res.name:28s} {100 * np.mean(errors):8.2f}% {100 * max(errors):6.2f}% {upright_text} "
              f"{res.seconds / len(pages):7.2f} {res.peak_rss_mb:7.0f}MB   {ref_text}  {res.note}")
    print(REFERENCE_NOTE)
    print("upright: mean CER over the pages that were not turned (the baselines do not turn pages)")
    ratio = speed_ratio(results)
    if ratio is not None:
        print(f"sohoa took {ratio:.2f}x the time of bare tesseract on the same pages (this machine's speed "
              "drifts; the ratio of runs taken in turns does much less)")
    return 0


def speed_ratio(results: list[BenchResult]) -> float | None:
    """sohoa's time over bare tesseract's, when both ran."""
    times = {r.name: r.seconds for r in results if r.texts and not r.note}
    if times.get("sohoa") and times.get("bare tesseract"):
        return times["sohoa"] / times["bare tesseract"]
    return None


if __name__ == "__main__":
    raise SystemExit(_simple_opencv_main(sys.argv[1:]))
