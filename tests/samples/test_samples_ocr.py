"""Fonts and ground truth agree: Tesseract reads a clean generated page back almost exactly."""

from __future__ import annotations

import os
import random
import shutil

import pytest

pytesseract = pytest.importorskip("pytesseract")
from rapidfuzz.distance import Levenshtein

from samples.generator import generate_document


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_tesseract_reads_a_clean_page_back() -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    if "vie" not in pytesseract.get_languages():
        pytest.skip("tesseract-ocr-vie is not installed")
    doc = generate_document("residence_confirmation", random.Random(3), layout=0, damage=0.0)
    read = pytesseract.image_to_string(doc.clean_pages[0], lang="vie", config="--psm 4")
    truth = _squash(doc.text)
    cer = Levenshtein.distance(_squash(read), truth) / len(truth)
    assert cer < 0.02, f"CER {cer:.4f}\n{read}"
    assert doc.fields["personal_id"] in read
