"""``sohoa bench ocr --real``: OCR accuracy on real Vietnamese government documents, beside baselines.

The synthetic bench reads pages of the project's own generator, the pages the clean-up and the
re-readings were tuned on; this one reads documents nobody here laid out. Born-digital PDFs
(``bench/corpus/real/``, provenance in its README) are rendered at 300 dpi with their signature
stamps and seals, damaged by ``samples.damage`` (the project's one damage model) and read back;
their own text layer is the ground truth. A text layer's reading order is not the page's (a
two-column header, a stamp in the corner), so the scores are order-free: the word error is
1 − F1 over the multiset of words, and the CER counts the characters of the words that do not
match exactly, compared in sorted order.

Documents are split once, by document, into a tuned set (the pages decisions were measured on)
and a held-out set no decision looked at; both are printed side by side. Real scans from the
workplace's shared test data (``../shared/testdata/real/``) follow, for the turn each page was
given, the confidence of its reading and, where a text of the page exists (its publisher's, or a
transcription by hand), the word error.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

from bench.ocr import BenchResult, _compile_project, _env, _run_tree, run_bare_tesseract, run_ocrmypdf
from core.errors import InputError
from core.model import nfc
from core.settings import Settings
from pipeline.tesseract import check_lang
from samples.damage import damage_page, draw_damage

CORPUS = Path(__file__).resolve().parent / "corpus" / "real"
SHARED_REAL = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "real"
DPI = 300

# The options of the reference row: OCRmyPDF turning pages, deskewing and thresholding
# with Sauvola, its best on these pages.
OCRMYPDF_OPTIONS = ["--rotate-pages", "--rotate-pages-threshold", "2", "--deskew",
                    "--tesseract-thresholding", "sauvola"]
TARGETS = {"mean": 0.05, "worst": 0.12}


class Split(StrEnum):
    TUNED = "tuned"
    HELD_OUT = "held-out"


@dataclass(frozen=True)
class RealDocument:
    """A born-digital PDF of the corpus and the split it belongs to (by document, never by page:
    two pages of one document share their typography and wording)."""

    file: str
    split: Split


DOCUMENTS = (
    RealDocument("qngai_507_UBND-KGVX_2025.pdf", Split.TUNED),
    RealDocument("qngai_542_TB-UBND_2024.pdf", Split.TUNED),
    RealDocument("qngai_11_TB-UBND_2025.pdf", Split.TUNED),
    RealDocument("qngai_vht534.pdf", Split.HELD_OUT),
    RealDocument("form_don_yeu_cau_viec_dan_su.pdf", Split.HELD_OUT),
)


@dataclass(frozen=True)
class RealPage:
    name: str
    split: Split
    clean: np.ndarray  # RGB render at 300 dpi, upright, undamaged
    scan: np.ndarray  # the same page damaged (and turned when ``rotation``)
    truth: str
    rotation: int
    skew: float


def render(pdf: Path) -> list[tuple[np.ndarray, str]]:
    """Each page as pixels at 300 dpi, with its signature stamps and seals (widget annotations,
    drawn only once forms are initialised), and its text layer as poppler reads it (annotation
    appearances included, as they are printed on the page)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        doc.init_forms()
        out = []
        for i in range(len(doc)):
            bitmap = doc[i].render(scale=DPI / 72, may_draw_forms=True)
            image = np.asarray(bitmap.to_pil().convert("RGB"))
            text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", str(i + 1), "-l", str(i + 1), str(pdf), "-"],
                                  capture_output=True, check=True, timeout=60).stdout.decode("utf-8")
            out.append((image, nfc(text)))
        return out
    finally:
        doc.close()


def real_pages(seed: int, splits: Sequence[Split] = tuple(Split)) -> list[RealPage]:
    """The corpus's pages rendered and damaged; every fourth page is turned upside down on top of
    its damage (its own draw never turns it, so which pages are turned does not depend on the seed)."""
    pages: list[RealPage] = []
    n = 0
    for document in DOCUMENTS:
        if document.split not in splits:
            continue
        for i, (image, truth) in enumerate(render(CORPUS / document.file)):
            rng = random.Random(f"sohoa-bench-real/{seed}/{document.file}/{i}")
            damage = draw_damage(image.shape[:2], rng, allow_rotation=False)
            if n % 4 == 1:
                damage = replace(damage, rotation=180)
            pages.append(RealPage(f"{Path(document.file).stem} p.{i + 1}", document.split, image,
                                  damage_page(image, damage), truth, damage.rotation, damage.skew_deg))
            n += 1
    return pages


# ------------------------------------------------------------------------------------------ scores

def words(text: str) -> list[str]:
    """The words of a text, NFC, with the punctuation around them dropped; tokens with no letter or
    digit (dot leaders, dashes, bullets) are not words. Case counts: "CONG HOA" is not "CỘNG HÒA"."""
    out = []
    for token in nfc(text).split():
        token = token.strip("".join(ch for ch in set(token) if unicodedata.category(ch)[0] in "PS"))
        if any(ch.isalnum() for ch in token):
            out.append(token)
    return out


def word_error(got: str, truth: str) -> float:
    """1 − F1 over the multisets of words: order-free, and a missing word costs as a wrong one does."""
    g, t = Counter(words(got)), Counter(words(truth))
    if not t:
        return 0.0 if not g else 1.0
    hit = sum((g & t).values())
    if not hit:
        return 1.0
    precision, recall = hit / sum(g.values()), hit / sum(t.values())
    return 1.0 - 2 * precision * recall / (precision + recall)


def bag_cer(got: str, truth: str) -> float:
    """Character errors over the truth's characters, reading order left out: words matched exactly
    cost nothing, the rest of each side is compared in sorted order (a misread word sorts beside
    the word it stands for; a lost or invented word costs its letters)."""
    g, t = Counter(words(got)), Counter(words(truth))
    common = g & t
    left_g, left_t = sorted((g - common).elements()), sorted((t - common).elements())
    total = sum(len(w) for w in t.elements())
    return Levenshtein.distance(" ".join(left_g), " ".join(left_t)) / max(1, total)


# ------------------------------------------------------------------------------------------ systems

def run_sohoa_files(paths: Sequence[Path], lang: str, name: str, turns: Sequence[int] | None = None) -> BenchResult:
    """``sohoa ocr`` on each page file, as a user runs it (clean-up, orientation, OCR, re-readings).
    With ``turns`` (the damage's quarter turn of each page), the note says how many pages sohoa
    turned upright."""
    _compile_project()
    texts, peak, seconds, right = [], 0.0, 0.0, 0
    for n, path in enumerate(paths):
        cmd = [sys.executable, "-m", "cli.main", "ocr", str(path), "--lang", lang, "--format", "json",
               "--workers", "1"]
        start = time.perf_counter()
        code, out, err, rss = _run_tree(cmd, _env())
        seconds += time.perf_counter() - start
        peak = max(peak, rss)
        if code != 0:
            return BenchResult(name, [], seconds, peak, f"failed: {err.decode()[-200:]}")
        page, = json.loads(out)["pages"]
        texts.append(page["text"])
        if turns is not None:
            right += page["rotation"] == (360 - turns[n]) % 360
    note = f"upright {right}/{len(paths)}" if turns is not None else ""
    return BenchResult(name, texts, seconds, peak, note)


def _save(images: Sequence[np.ndarray], folder: Path, stem: str) -> list[Path]:
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{stem}{i:03d}.png"
        Image.fromarray(image).save(path, dpi=(DPI, DPI), compress_level=1)
        paths.append(path)
    return paths


def _scores(res: BenchResult, pages: Sequence[RealPage]) -> list[tuple[float, float]]:
    texts = list(res.texts) + [""] * (len(pages) - len(res.texts))
    return [(word_error(t, p.truth), bag_cer(t, p.truth)) for t, p in zip(texts, pages, strict=False)]


def _summary(scores: Sequence[tuple[float, float]]) -> str:
    if not scores:
        return f"{'-':>7s} {'-':>7s} {'-':>7s}"
    we = [s[0] for s in scores]
    return f"{100 * np.mean(we):6.1f}% {100 * max(we):6.1f}% {100 * np.mean([s[1] for s in scores]):6.2f}%"


def print_table(results: Sequence[BenchResult], pages: Sequence[RealPage], *, per_page: bool) -> None:
    splits = [s for s in Split if any(p.split == s for p in pages)]
    head = f"{'system':48s}" + "".join(f" | {s.value + ': words':>14s} {'worst':>7s} {'CER':>7s}" for s in splits)
    print(head)
    print("-" * len(head))
    for res in results:
        if not res.texts:
            print(f"{res.name:48s} | {res.note}")
            continue
        scores = _scores(res, pages)
        row = f"{res.name:48s}"
        for split in splits:
            row += " | " + f"{_summary([s for s, p in zip(scores, pages, strict=True) if p.split == split]):>30s}"
        print(row + (f"  {res.note}" if res.note else ""))
    print(f"target: mean word error ≤ {100 * TARGETS['mean']:.0f}%, worst page ≤ {100 * TARGETS['worst']:.0f}%")
    if per_page:
        print()
        print("word error of every page, one column a system: "
              + "; ".join(f"({n + 1}) {r.name}" for n, r in enumerate(results)))
        print(f"{'page':40s} {'split':9s} {'turn':>4s} {'skew':>5s}  "
              + "  ".join(f"{f'({n + 1})':>7s}" for n in range(len(results))))
        all_scores = [_scores(r, pages) if r.texts else [] for r in results]
        for n, page in enumerate(pages):
            cells = "  ".join(f"{100 * s[n][0]:6.1f}%" if s else f"{'-':>7s}" for s in all_scores)
            print(f"{page.name:40s} {page.split.value:9s} {page.rotation:4d} {page.skew:5.1f}  {cells}")


# ------------------------------------------------------------------------------------------ real scans

@dataclass(frozen=True)
class ScanReading:
    name: str
    rotation: int
    confidence: float
    words: int
    error: float | None  # word error against the publisher's text, where there is one


def read_scans(lang: str, workers: int) -> list[ScanReading]:
    """sohoa's reading of each real scan of the shared test data: the turn given to each page, its
    mean confidence and, for the two pages published with their text, the word error."""
    if not SHARED_REAL.is_dir():
        return []
    out = []
    for path in sorted(SHARED_REAL.iterdir()):
        if path.suffix.lower() not in (".pdf", ".jpg", ".png", ".tif"):
            continue
        cmd = [sys.executable, "-m", "cli.main", "ocr", str(path), "--lang", lang, "--format", "json",
               "--workers", str(workers)]
        proc = subprocess.run(cmd, capture_output=True, env=_env(), timeout=900, check=False)
        if proc.returncode != 0:
            out.append(ScanReading(path.name, -1, 0.0, 0, None))
            continue
        doc = json.loads(proc.stdout)
        # The publisher's text (``_gt.txt``) or a transcription made by hand once (``.transcription.txt``).
        truths = [path.with_name(f"{path.stem}_gt.txt"), path.with_name(f"{path.stem}.transcription.txt")]
        truth_file = next((t for t in truths if t.is_file()), None)
        for page in doc["pages"]:
            error = None
            if truth_file is not None and len(doc["pages"]) == 1:
                error = word_error(page["text"], truth_file.read_text(encoding="utf-8"))
            out.append(ScanReading(f"{path.name} p.{page['index'] + 1}", page["rotation"],
                                   page["mean_confidence"], len(page["words"]), error))
    return out


# ------------------------------------------------------------------------------------------ the bench

def run(args: argparse.Namespace, settings: Settings) -> int:
    """Render, damage and read the corpus with every system; print the table, then the real scans."""
    langs = [check_lang(lang) for lang in (args.lang_real or [settings.ocr_lang])]
    baseline = check_lang(args.baseline_lang)
    splits = [Split(args.split)] if args.split else list(Split)
    missing = [d.file for d in DOCUMENTS if not (CORPUS / d.file).is_file()]
    if missing:
        raise InputError(f"corpus files missing under {CORPUS}: {', '.join(missing)}")
    pages = real_pages(args.seed, splits)
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-real-") as tmp:
        work = Path(tmp)
        scans = _save([p.scan for p in pages], work, "scan")
        clean = _save([p.clean for p in pages], work, "clean")
        runs: list[Callable[[], BenchResult]] = [
            (lambda lang=lang: run_sohoa_files(scans, lang, f"sohoa --lang {lang}", [p.rotation for p in pages]))
            for lang in langs]
        # sohoa on the undamaged renders: what the clean-up and the re-readings cost or add on real
        # typography when no damage is there to undo, beside bare Tesseract's reading of the same.
        runs.append(lambda: run_sohoa_files(clean, langs[0], f"sohoa --lang {langs[0]}, undamaged", [0] * len(pages)))
        runs.append(lambda: _named(run_bare_tesseract(scans, baseline), f"bare tesseract -l {baseline}, damaged"))
        runs.append(lambda: _named(run_bare_tesseract(clean, baseline),
                                   f"bare tesseract -l {baseline}, undamaged"))
        if not args.no_ocrmypdf:
            runs.append(lambda: _ocrmypdf(scans, baseline, work))
        results = [run_once() for run_once in runs]
    turned = sum(1 for p in pages if p.rotation)
    print(f"sohoa bench ocr --real: {len(pages)} pages of {len({p.name.rsplit(' p.', 1)[0] for p in pages})} real "
          f"born-digital documents ({CORPUS.relative_to(CORPUS.parents[2])}), rendered at {DPI} dpi, damaged by "
          f"samples.damage (seed {args.seed}, skew up to {max(abs(p.skew) for p in pages):.1f}°, {turned} upside "
          "down); order-free word error (1 − F1) and CER")
    print_table(results, pages, per_page=args.per_page)
    if not args.no_scans:
        readings = read_scans(langs[0], 1)
        if readings:
            print()
            print(f"real scans ({SHARED_REAL}), sohoa --lang {langs[0]}: turn given, mean confidence, words, "
                  "word error where a text of the page exists")
            for r in readings:
                error = f"{100 * r.error:5.1f}%" if r.error is not None else "    -"
                turn = "failed" if r.rotation < 0 else f"{r.rotation:4d}°"
                print(f"  {r.name:48s} {turn:>6s} {r.confidence:5.2f} {r.words:5d} {error}")
    return 0


def _named(res: BenchResult, name: str) -> BenchResult:
    return replace(res, name=name)


def _ocrmypdf(scans: Sequence[Path], lang: str, work: Path) -> BenchResult:
    name = f"OCRmyPDF -l {lang} --rotate-pages --deskew sauvola"
    try:
        import img2pdf
    except ImportError:
        return BenchResult(name, [], 0.0, 0.0, "not installed (pip install 'sohoa[bench]')")
    pdf = work / "scans.pdf"
    pdf.write_bytes(img2pdf.convert([str(p) for p in scans]))
    return run_ocrmypdf(pdf, len(scans), lang, work, OCRMYPDF_OPTIONS, name)
