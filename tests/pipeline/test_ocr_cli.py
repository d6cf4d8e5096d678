"""``sohoa ocr`` end to end: formats, and every file of the OCRmyPDF test corpus either processed
or refused with exit 2 and one clear line — never a traceback, never more than 2 minutes."""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image

from cli.main import main
from samples.damage import Damage

REFUSED = {
    "README.rst", "REUSE.toml", "arabic.hocr", "cjk.hocr", "devanagari.hocr", "hello_world_scripts.hocr",
    "latin.hocr", "multilingual.hocr", "linn.txt", "tagged.odt", "invalid.pdf",
}


def _run(argv: list[str]) -> tuple[int, bytes, str, float]:
    """``sohoa`` in this process, with its own stdout and stderr."""
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdout, sys.stderr
    wrapped = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    wrapped_err = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    sys.stdout, sys.stderr = wrapped, wrapped_err
    logging.root.handlers.clear()  # main() sets logging up on the stderr of this call
    start = time.monotonic()
    try:
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
    finally:
        sys.stdout, sys.stderr = saved
        logging.root.handlers.clear()
        wrapped.flush()
        wrapped_err.flush()
        wrapped.detach()
        wrapped_err.detach()
    return code, out.getvalue(), err.getvalue().decode("utf-8", "replace"), time.monotonic() - start


def test_every_corpus_file_is_processed_or_refused_cleanly(resources: Path) -> None:
    files = sorted(p for p in resources.iterdir() if p.is_file())
    assert len(files) > 50
    argvs = [["ocr", str(path), "--format", "text", "--workers", "1", "--lang", "eng"] for path in files]
    # Slowest first, two at a time (the machine has two cores).
    order = sorted(range(len(files)), key=lambda i: -files[i].stat().st_size)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("forkserver")) as pool:
        results = dict(zip(order, pool.map(_run, [argvs[i] for i in order]), strict=True))
    problems = []
    for i, path in enumerate(files):
        code, out, err, seconds = results[i]
        print(f"{path.name}: exit {code} in {seconds:.1f}s")
        expected = 2 if path.name in REFUSED else 0
        lines = [line for line in err.splitlines() if line.strip()]
        if code != expected or "Traceback" in err or seconds > 120:
            problems.append(f"{path.name}: exit {code} in {seconds:.0f}s: {err.strip()[:300]}")
        elif code == 2 and (len(lines) != 1 or not lines[0].startswith("sohoa: error: ") or path.name not in lines[0]):
            problems.append(f"{path.name}: refusal is not one clear line: {err!r}")
        elif code == 0:
            out.decode("utf-8")
    assert not problems, "\n".join(problems)


def test_text_json_and_pdf_formats(tmp_path: Path, make_page) -> None:
    page, _truth = make_page(31, Damage(rotation=270, skew_deg=-2.0, lighting=0.4), lines=3)
    scan = tmp_path / "scan.png"
    Image.fromarray(page.image).save(scan, dpi=(300, 300))

    code, out, err, _ = _run(["ocr", str(scan), "--lang", "vie", "--workers", "1"])
    assert code == 0, err
    text = out.decode("utf-8").rstrip("\n")

    code, out, err, _ = _run(["ocr", str(scan), "--lang", "vie", "--format", "json", "--workers", "1"])
    assert code == 0, err
    doc = json.loads(out)
    [p] = doc["pages"]
    assert p["text"] == text and p["rotation"] == 90 and p["blank"] is False
    assert p["skew_angle"] == pytest.approx(2.0, abs=0.3)
    word = p["words"][0]
    assert set(word) == {"text", "confidence", "box", "line"} and len(word["box"]) == 4

    target = tmp_path / "out.pdf"
    code, out, err, _ = _run(["ocr", str(scan), "--lang", "vie", "--format", "pdf", "-o", str(target), "--workers", "1"])
    assert code == 0, err
    with pdfplumber.open(target) as pdf:
        assert pdf.pages[0].extract_text() == text


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    code, _, err, _ = _run(["ocr", str(tmp_path / "missing.png")])
    assert code == 2 and err.count("\n") == 1 and "missing.png" in err
    code, _, err, _ = _run(["ocr", str(tmp_path / "missing.png"), "--lang", "klingon"])
    assert code == 2 and "klingon" in err
