"""Fixtures for the image and OCR stage tests: small rendered pages (OCR is slow, so tests use
pages a few lines long) and the shared OCRmyPDF test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.ocr import Damage, damage_page, render_text_page
from core.model import Page

RESOURCES = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "ocrmypdf-resources"


def small_page(seed: int, damage: Damage | None = None, *, lines: int = 4, dpi: int = 300) -> tuple[Page, str]:
    """A page 120 mm wide holding ``lines`` lines of Vietnamese text (damaged when asked), and its
    ground truth."""
    rng = np.random.default_rng(seed)
    height_mm = 16 + 6.3 * lines
    clean, truth = render_text_page(rng, width_mm=120, height_mm=height_mm, lines=lines, dpi=dpi, font_pt=11)
    assert len(truth.splitlines()) == lines
    image = damage_page(clean, damage, rng) if damage is not None else clean
    return Page(source=f"page{seed}.png", source_sha256="0" * 64, index=0, image=image, dpi=dpi), truth


@pytest.fixture(scope="session")
def resources() -> Path:
    if not RESOURCES.is_dir():
        pytest.skip(f"{RESOURCES} is missing")
    return RESOURCES


@pytest.fixture(scope="session")
def make_page():
    """``make_page(seed, damage=None, *, lines=4, dpi=300) -> (Page, truth)``."""
    return small_page
