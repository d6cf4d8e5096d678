"""The one wrapper around the ``tesseract`` program.

Nothing else in the project shells out to Tesseract: this module probes the version, runs word-level
OCR and orientation detection through pytesseract, and maps every failure of the program to
:class:`core.errors.ExternalToolError`, so the CLI shows one line instead of a traceback.

Tesseract starts OpenMP threads of its own; with several page workers on a small machine they
oversubscribe the cores badly, so every call runs with ``OMP_THREAD_LIMIT=1`` unless the caller set it.
"""

from __future__ import annotations

import functools
import logging
import mmap
import os
import shutil
import subprocess
import tempfile
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import IO

import cv2
import numpy as np
import pytesseract
from PIL import Image

from core.errors import ExternalToolError, InputError

log = logging.getLogger(__name__)

os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@dataclass(frozen=True, slots=True)
class TessWord:
    """One word as Tesseract reports it, in the pixel frame of the image it was given."""

    text: str
    confidence: float  # 0..100 as Tesseract reports it
    left: int
    top: int
    width: int
    height: int
    line_key: tuple[int, int, int]  # (block, paragraph, line), Tesseract's reading order


@functools.cache
def version() -> str:
    """The Tesseract version, or ExternalToolError when the program is missing."""
    if shutil.which("tesseract") is None:
        raise ExternalToolError("tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-vie)")
    try:
        return str(pytesseract.get_tesseract_version())
    except Exception as exc:  # pytesseract raises several unrelated types
        raise ExternalToolError(f"tesseract does not run: {exc}") from exc


@functools.cache
def languages() -> frozenset[str]:
    return frozenset(_list_langs()[1:])


@functools.cache
def _list_langs() -> tuple[str, ...]:
    """The lines of ``tesseract --list-langs``: where the language data lives, then one language a
    line. One run serves both :func:`languages` and :func:`tessdata_dir`."""
    version()
    try:
        out = subprocess.run(["tesseract", "--list-langs"], check=True, capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ExternalToolError(f"tesseract cannot list its languages: {exc}") from exc
    lines = [line.strip() for line in (out.stdout or out.stderr).splitlines() if line.strip()]
    return tuple(lines) if lines else ("",)


def check_lang(lang: str) -> str:
    """Refuse an unknown language up front: Tesseract would otherwise fail once per page."""
    wanted = [part for part in lang.split("+") if part]
    if not wanted:
        raise InputError(f"empty OCR language {lang!r}")
    missing = [part for part in wanted if part not in languages()]
    if missing:
        raise InputError(
            f"Tesseract has no language data for {', '.join(missing)} "
            f"(installed: {', '.join(sorted(languages()))})"
        )
    return "+".join(wanted)


def _to_pil(image: np.ndarray) -> Image.Image:
    if image.dtype == bool:
        return Image.fromarray(image.astype(np.uint8) * 255).convert("1")
    return Image.fromarray(image)


def _write_tiff(fh: IO[bytes], image: np.ndarray) -> None:
    """An uncompressed TIFF: cheap to write, and Leptonica reads it through libtiff in one go. (It
    reads a PGM one byte per ``fread`` call, which cost a seventh of Tesseract's time on an A4
    page; PNG costs a tenth of a second to encode.)"""
    if image.dtype == bool:
        image = np.where(image, 255, 0).astype(np.uint8)
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".tif", image, [cv2.IMWRITE_TIFF_COMPRESSION, 1])
    if not ok:
        raise ExternalToolError("could not encode the page for tesseract")
    fh.write(encoded.data)
    fh.flush()


def _config(psm: int, dpi: int) -> str:
    # The pages are already cleaned: Tesseract's own inverted-text pass, which doubles its time and
    # only helps on uncleaned scans, is switched off. So is its test of every row for fixed-pitch
    # (typewriter) spacing, 4% of the work on an A4 page: it chooses how the legacy engine cuts
    # characters, and the LSTM recogniser reads whole lines (the same words on every bench page and
    # on a typewritten page).
    return f"--psm {psm} --dpi {dpi} -c tessedit_do_invert=0 -c textord_disable_pitch_test=1"


def _image_to_data(path: str, lang: str, config: str) -> dict[str, list]:
    try:
        return pytesseract.image_to_data(path, lang=lang, config=config, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as exc:
        raise ExternalToolError("tesseract is not installed") from exc
    except pytesseract.TesseractError as exc:
        raise ExternalToolError(f"tesseract failed: {str(exc.message).strip()[:200]}") from exc


def _tess_words(data: dict[str, list], pages: int) -> list[list[TessWord]]:
    """The words of Tesseract's TSV, split by its page number (1-based, one per image read). An
    image Tesseract could not read at all leaves the TSV empty: no words."""
    out: list[list[TessWord]] = [[] for _ in range(pages)]
    for i, text in enumerate(data.get("text", [])):
        if not text or not text.strip():
            continue
        try:
            conf = float(data["conf"][i])
        except (TypeError, ValueError):
            conf = -1.0
        if conf < 0:
            continue
        page = int(data["page_num"][i]) - 1
        if not 0 <= page < pages:
            raise ExternalToolError(f"tesseract reported page {page + 1} of {pages}")
        out[page].append(
            TessWord(
                text=text.strip(),
                confidence=conf,
                left=int(data["left"][i]),
                top=int(data["top"][i]),
                width=int(data["width"][i]),
                height=int(data["height"][i]),
                line_key=(int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i])),
            )
        )
    return out


def words(image: np.ndarray, *, lang: str, psm: int = 3, dpi: int = 300) -> list[TessWord]:
    """Word boxes and confidences of one cleaned image."""
    return words_of_images([image], lang=lang, psm=psm, dpi=dpi)[0]


def read_line(image: np.ndarray, dpi: int) -> list[TessWord]:
    """One row of Vietnamese text, cut from a scan, read alone as a single line (``--psm 7``).

    Tesseract's single-line mode now and then gives up on a row it can read as a block, hence the
    second try. Names and places are Vietnamese; English guesses only hurt here, so ``vie`` alone.
    """
    found = words(image, lang="vie", psm=7, dpi=dpi)
    return found or words(image, lang="vie", psm=6, dpi=dpi)


def words_of_images(images: Sequence[np.ndarray], *, lang: str, psm: int = 3, dpi: int = 300) -> list[list[TessWord]]:
    """Word boxes and confidences of each image, from one run of Tesseract.

    Several images go to Tesseract as a list file: it loads its language data and warms up once,
    which saves about a tenth of a second an image on this kind of machine (a seventh of a page's
    OCR). The images are written to one temporary folder and read from it in order. When a run
    over several images fails, each is read alone, so a failure is reported for the image that
    caused it and the other images still get their words.
    """
    if not images:
        return []
    config = _config(psm, dpi)
    with tempfile.TemporaryDirectory(prefix="sohoa-tess-") as tmp:
        paths = []
        for n, image in enumerate(images):
            path = os.path.join(tmp, f"{n:04d}.tif")
            with open(path, "wb") as fh:
                _write_tiff(fh, image)
            paths.append(path)
        if len(paths) == 1:
            return _tess_words(_image_to_data(paths[0], lang, config), 1)
        listing = os.path.join(tmp, "images.txt")
        with open(listing, "w", encoding="utf-8") as fh:
            fh.write("\n".join(paths) + "\n")
        try:
            return _tess_words(_image_to_data(listing, lang, config), len(paths))
        except ExternalToolError as exc:
            log.warning("tesseract failed on %d images at once (%s); reading them one by one", len(paths), exc)
        return [_tess_words(_image_to_data(path, lang, config), 1)[0] for path in paths]


def orientation(image: np.ndarray) -> tuple[int, float] | None:
    """Tesseract's OSD: (clockwise degrees to turn the image upright, confidence), or None when the
    page has too little text to tell."""
    try:
        osd = pytesseract.image_to_osd(_to_pil(image), config="--psm 0 -c min_characters_to_try=20",
                                       output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as exc:
        raise ExternalToolError("tesseract is not installed") from exc
    except pytesseract.TesseractError as exc:
        log.debug("OSD gave no answer: %s", str(exc.message).strip()[:200])
        return None
    return int(osd.get("rotate", 0)) % 360, float(osd.get("orientation_conf", 0.0))


@functools.cache
def tessdata_dir() -> str:
    """Where the installed language data lives, as Tesseract itself reports it."""
    first = _list_langs()[0]
    if '"' in first:
        return first.split('"')[1]
    return os.environ.get("TESSDATA_PREFIX", "/usr/share/tesseract-ocr/5/tessdata")


class SortedWords:
    """A sorted file of words, one a line, searched in place (binary search over the mapped bytes):
    no set of two hundred thousand strings to build in every worker process for the few look-ups
    a page makes. UTF-8 byte order is code point order, so the file is sorted on its bytes."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as fh:
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(fh.fileno()).st_size else b""

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str) or not word or "\n" in word:
            return False
        key, data = word.encode("utf-8"), self._data
        lo, hi = 0, len(data)
        while lo < hi:
            mid = (lo + hi) // 2
            start = data.rfind(b"\n", 0, mid) + 1
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            line = data[start:end]
            if line == key:
                return True
            if line < key:
                lo = end + 1
            else:
                hi = start
        return False


def _cache_dir() -> str:
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sohoa", "words")


def _extract_words(data: str, lang: str, out_path: str) -> None:
    """Unpack the dictionary of ``data`` into ``out_path``: lower-cased, sorted by bytes, unique."""
    with tempfile.TemporaryDirectory(prefix="sohoa-words-") as tmp:
        # combine_tessdata names what it extracts by the component's file ending.
        dawg, charset, listed = (os.path.join(tmp, name)
                                 for name in (f"{lang}.lstm-word-dawg", f"{lang}.lstm-unicharset", "words"))
        subprocess.run(["combine_tessdata", "-e", data, dawg, charset], capture_output=True, check=True, timeout=60)
        subprocess.run(["dawg2wordlist", charset, dawg, listed], capture_output=True, check=True, timeout=60)
        with open(listed, encoding="utf-8") as fh:
            words = sorted({w.strip().lower().encode("utf-8") for w in fh if w.strip()})
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    partial = f"{out_path}.{os.getpid()}.tmp"
    with open(partial, "wb") as fh:
        fh.write(b"\n".join(words))
    os.replace(partial, out_path)  # atomic: a concurrent reader sees the whole list or none


@functools.cache
def word_list(lang: str) -> Container[str]:
    """The words of a language's own dictionary (the one Tesseract's recogniser uses), lower-cased.

    Unpacked from the installed ``LANG.traineddata`` with Tesseract's own ``combine_tessdata`` and
    ``dawg2wordlist`` once per machine into the user's cache (keyed by the data file's size and
    time), then searched in place. Empty when the language or those programs are missing: callers
    then simply know no words.
    """
    data = os.path.join(tessdata_dir(), f"{lang}.traineddata")
    if not os.path.isfile(data) or not (shutil.which("combine_tessdata") and shutil.which("dawg2wordlist")):
        log.warning("no word list for %s (language data or Tesseract's tools missing)", lang)
        return frozenset()
    stat = os.stat(data)
    path = os.path.join(_cache_dir(), f"{lang}-{stat.st_size}-{int(stat.st_mtime)}.words")
    try:
        if not os.path.isfile(path):
            _extract_words(data, lang, path)
        return SortedWords(path)
    except OSError as exc:
        log.info("word list of %s not cached (%s); kept in memory", lang, exc)
    except (subprocess.SubprocessError, UnicodeDecodeError, ValueError) as exc:
        log.warning("no word list for %s: %s", lang, exc)
        return frozenset()
    # No writable cache (a read-only home, say): unpack into a temporary folder and keep the set.
    try:
        with tempfile.TemporaryDirectory(prefix="sohoa-words-") as tmp:
            listed = os.path.join(tmp, f"{lang}.words")
            _extract_words(data, lang, listed)
            with open(listed, encoding="utf-8") as fh:
                return frozenset(fh.read().split("\n"))
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError, ValueError) as exc:
        log.warning("no word list for %s: %s", lang, exc)
        return frozenset()
