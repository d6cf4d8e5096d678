"""Plain pages: the printed lines are the ground truth, and only a title starts a document."""

from __future__ import annotations

import random

import numpy as np

from samples.plain import SENTENCES, text_page


def test_lines_fit_and_are_the_truth() -> None:
    image, truth = text_page(random.Random(3), width_mm=120, height_mm=41.2, lines=4)
    assert image.shape == (487, 1417) and image.dtype == np.uint8
    lines = truth.splitlines()
    assert len(lines) == 4 and all(any(s.startswith(line) for s in SENTENCES) for line in lines)
    assert image.min() == 0 and (image[:, -60:] == 255).all()  # ink, and nothing runs past the margin
    again, same = text_page(random.Random(3), width_mm=120, height_mm=41.2, lines=4)
    assert same == truth and np.array_equal(again, image)


def test_a_title_comes_first_and_no_sentence_is_a_title() -> None:
    _image, truth = text_page(random.Random(1), dpi=150, font_pt=15, title="GIẤY KHAI SINH", lines=24)
    assert truth.splitlines()[0] == "GIẤY KHAI SINH" and len(truth.splitlines()) > 10
    assert not any(s.isupper() and s.startswith(("GIẤY", "CỘNG HÒA", "TRÍCH LỤC")) for s in SENTENCES)
