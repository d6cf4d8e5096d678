"""Letters typeset by Decree 30/2020 Appendix I: what is printed is the ground truth, and it reads."""

from __future__ import annotations

import random

import numpy as np
from rapidfuzz.distance import Levenshtein

from core.model import Page
from pipeline.pagework import process_page
from samples.decree30 import decree30_page, letter


def test_a_letter_prints_the_decree_header_number_date_and_signing_block() -> None:
    image, truth = decree30_page(random.Random(11))
    lines = truth.splitlines()
    assert image.shape == (3508, 2480, 3)
    assert lines[0].endswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert lines[1].endswith("Độc lập - Tự do - Hạnh phúc")
    assert any(line.startswith("Số: ") and ", ngày " in line for line in lines)
    assert any(line.startswith("Nơi nhận:") for line in lines) and lines[-1] == letter(random.Random(11)).signer
    red = (image[..., 0].astype(int) - image[..., 2].astype(int) > 80).sum()
    assert red > 5000  # the seal


def test_the_top_of_a_letter_reads_as_printed() -> None:
    """The header and number block of a clean letter (Liberation Serif, Times' metrics) read within
    a few characters of what is printed, upright and unflagged."""
    image, truth = decree30_page(random.Random(4))
    top = np.ascontiguousarray(image[:1000])
    done = process_page(Page(source="letter.png", source_sha256="", index=0, image=top, dpi=300.0))
    expected = "\n".join(truth.splitlines()[:4])
    got = "\n".join(" ".join(line.split()) for line in done.text.splitlines()[:4])
    assert done.rotation == 0 and done.flags == ()
    assert Levenshtein.distance(got, expected) / len(expected) < 0.03, got
