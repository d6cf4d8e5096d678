"""``sohoa bench ocr``: OCR accuracy and speed on damaged synthetic pages, beside its baselines.

Pages come from ``samples.generator`` when it is installed; otherwise from a small built-in renderer
(Vietnamese administrative text in DejaVu fonts, damaged the same way: quarter turns, skew, uneven
light, blur, noise, JPEG), which the tests use too because it renders small pages quickly.
"""

from __future__ import annotations

import argparse
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Self

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.settings import Settings

FONT_DIR = "/usr/share/fonts/truetype/dejavu"

_SENTENCES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ",
    "Họ, chữ đệm và tên: NGUYỄN THỊ HƯƠNG",
    "Ngày, tháng, năm sinh: 12/03/1987, Giới tính: Nữ",
    "Số định danh cá nhân: 001187012345",
    "Nơi thường trú: Số 18 ngõ 42 phố Trần Quốc Hoàn, phường Dịch Vọng Hậu",
    "quận Cầu Giấy, thành phố Hà Nội",
    "Quê quán: xã Nghĩa Hưng, huyện Nghĩa Đàn, tỉnh Nghệ An",
    "Dân tộc: Kinh, Tôn giáo: Không, Quốc tịch: Việt Nam",
    "Căn cứ Luật Cư trú ngày 13 tháng 11 năm 2020;",
    "Căn cứ Nghị định số 62/2021/NĐ-CP quy định chi tiết thi hành Luật Cư trú;",
    "Công an phường xác nhận thông tin về cư trú của công dân như sau:",
    "Thông tin về chủ hộ: TRẦN VĂN ĐỨC, quan hệ với chủ hộ: Vợ",
    "Giấy xác nhận này có giá trị sử dụng 30 ngày kể từ ngày cấp.",
    "Hà Nội, ngày 05 tháng 7 năm 2024",
    "TRƯỞNG CÔNG AN PHƯỜNG",
    "Đề nghị cơ quan có thẩm quyền giải quyết thủ tục đăng ký khai sinh cho trẻ.",
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm.",
    "Ủy ban nhân dân xã Hòa Phước, huyện Hòa Vang, thành phố Đà Nẵng",
    "Người đi đăng ký: Lê Thị Ngọc Ánh, mối quan hệ với người được khai sinh: Mẹ",
    "Diện tích: 125,6 mét vuông; thửa đất số 214, tờ bản đồ số 18; mục đích sử dụng: đất ở",
]


def render_text_page(
    rng: np.random.Generator, *, width_mm: float = 210, height_mm: float = 297, dpi: int = 300,
    lines: int | None = None, font_pt: float = 11.0,
) -> tuple[np.ndarray, str]:
    """A clean grey page of Vietnamese text and its ground truth (lines joined by ``\\n``)."""
    w, h = round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    size = round(font_pt / 72 * dpi)
    fonts = [ImageFont.truetype(f"{FONT_DIR}/{name}", size) for name in ("DejaVuSerif.ttf", "DejaVuSans.ttf")]
    font = fonts[int(rng.integers(len(fonts)))]
    margin = round(min(20.0, 0.12 * min(width_mm, height_mm)) / 25.4 * dpi)
    step = round(size * 1.6)
    n = lines if lines is not None else max(1, (h - 2 * margin) // step)
    truth: list[str] = []
    y = margin
    for _ in range(n):
        if y + step > h - margin:
            break
        text = _SENTENCES[int(rng.integers(len(_SENTENCES)))]
        while font.getlength(text) > w - 2 * margin:
            text = text.rsplit(" ", 1)[0]
        draw.text((margin, y), text, font=font, fill=0)
        truth.append(text)
        y += step
    return np.asarray(img), "\n".join(truth)


@dataclass(frozen=True)
class Damage:
    rotation: int = 0  # clockwise quarter turn applied to the page (what clean-up must undo)
    skew_deg: float = 0.0
    light: float = 0.0  # 0..1 strength of the uneven lighting
    blur: float = 0.0  # Gaussian sigma in pixels
    noise: float = 0.0  # Gaussian noise sigma in grey levels
    jpeg_quality: int = 0  # 0 = no JPEG round trip
    border: bool = False  # a black scanner border on two sides


def damage_page(clean: np.ndarray, d: Damage, rng: np.random.Generator) -> np.ndarray:
    """A scan-like RGB page from a clean grey one."""
    img = clean.astype(np.float32)
    h, w = img.shape
    if d.skew_deg:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), d.skew_deg, 1.0)
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    if d.blur:
        img = cv2.GaussianBlur(img, (0, 0), d.blur)
    if d.light:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / math.hypot(w, h)
        shade = 1.0 - d.light * np.clip(dist * 1.6, 0, 1)
        img = img * shade + 20 * (1 - shade)
    if d.noise:
        img = img + rng.normal(0, d.noise, img.shape).astype(np.float32)
    if d.border:
        bw = max(4, w // 40)
        img[:, :bw] = 15
        img[:bw, :] = 15
    img = np.clip(img, 0, 255).astype(np.uint8)
    rgb = np.stack([img, img, (img.astype(np.int16) * 0.96).astype(np.uint8)], axis=2)
    if d.rotation:
        rgb = np.rot90(rgb, k=-(d.rotation // 90))
    if d.jpeg_quality:
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "JPEG", quality=d.jpeg_quality)
        rgb = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return np.ascontiguousarray(rgb)


def random_damage(rng: np.random.Generator, *, rotation: int | None = None) -> Damage:
    return Damage(
        rotation=int(rng.choice([0, 0, 90, 180, 270])) if rotation is None else rotation,
        skew_deg=float(rng.uniform(-3.5, 3.5)),
        light=float(rng.uniform(0.3, 0.7)),
        blur=float(rng.uniform(0.5, 1.2)),
        noise=float(rng.uniform(6, 14)),
        jpeg_quality=int(rng.integers(60, 85)),
        border=bool(rng.random() < 0.3),
    )


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
    from core.model import nfc

    lines = (" ".join(line.split()) for line in nfc(text).splitlines())
    return "\n".join(line for line in lines if line)


def cer(got: str, truth: str) -> float:
    from rapidfuzz.distance import Levenshtein

    got, truth = normalise(got), normalise(truth)
    return Levenshtein.distance(got, truth) / max(1, len(truth))


def bench_pages(count: int, seed: int) -> tuple[list[BenchPage], str]:
    """Damaged A4 pages with ground truth; every third page is turned upside down on top of its damage."""
    try:
        import random

        from samples.generator import DOC_TYPES, generate_document
    except ImportError:
        rng = np.random.default_rng(seed)
        pages = []
        for i in range(count):
            clean, truth = render_text_page(rng)
            d = random_damage(rng, rotation=180 if i % 3 == 1 else 0)
            pages.append(BenchPage(damage_page(clean, d, rng), truth, d.rotation, d.skew_deg))
        return pages, "built-in renderer"
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


class _PeakRss:
    """Largest resident set of any one process in a tree, sampled while a pipeline runs."""

    def __init__(self, pid: int | None = None) -> None:
        import os
        import threading

        self.pid = pid or os.getpid()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

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
    import subprocess

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    with _PeakRss(proc.pid) as rss:
        out, err = proc.communicate()
    return proc.returncode, out, err, rss.peak / 2**20


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def run_bare_tesseract(paths: list, lang: str) -> BenchResult:
    import time

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
    import compileall
    from pathlib import Path

    import pipeline

    root = Path(pipeline.__file__).resolve().parent.parent
    for package in ("pipeline", "classifiers", "samples", "signing", "storage", "workers", "api"):
        if (root / package).is_dir():
            compileall.compile_dir(root / package, quiet=2)


def run_sohoa(tiff, count: int, lang: str) -> BenchResult:
    import sys
    import time

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
    import pytesseract

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
    import sys
    import time

    cmd = [sys.executable, "-m", "bench.ocr", lang, *map(str, paths)]
    start = time.perf_counter()
    code, out, err, rss = _run_tree(cmd, _env())
    seconds = time.perf_counter() - start
    name = "simple OpenCV + tesseract"
    if code != 0:
        return BenchResult(name, [""] * len(paths), seconds, rss, f"failed: {err.decode()[-200:]}")
    return BenchResult(name, out.decode("utf-8").split("\f"), seconds, rss)


def run_ocrmypdf(pdf, count: int, lang: str, work, extra: list[str], name: str) -> BenchResult:
    import shutil
    import sys
    import time

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
    import importlib.util

    return importlib.util.find_spec(name) is not None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Generate the pages, run every pipeline on them in this one run, print one table."""
    import tempfile
    from pathlib import Path

    from core.errors import InputError
    from pipeline.tesseract import check_lang

    if args.pages < 1:
        raise InputError("--pages must be at least 1")
    if args.repeat < 1:
        raise InputError("--repeat must be at least 1")
    lang = check_lang(args.lang)
    pages, origin = bench_pages(args.pages, args.seed)
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
    import sys

    raise SystemExit(_simple_opencv_main(sys.argv[1:]))
