"""Fixtures for the image and OCR stage tests: small rendered pages (OCR is slow, so tests use
pages a few lines long) and the shared OCRmyPDF test files."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from core.model import Page
from samples.damage import Damage, damage_page
from samples.plain import text_page

RESOURCES = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "ocrmypdf-resources"


def small_page(seed: int, damage: Damage | None = None, *, lines: int = 4, dpi: int = 300) -> tuple[Page, str]:
    """A page 120 mm wide holding ``lines`` lines of Vietnamese text (damaged when asked), and its
    ground truth. The damage's grain is seeded with ``seed`` too."""
    height_mm = 16 + 6.3 * lines
    clean, truth = text_page(random.Random(seed), width_mm=120, height_mm=height_mm, lines=lines, dpi=dpi, font_pt=11)
    assert len(truth.splitlines()) == lines
    image = damage_page(clean, replace(damage, seed=seed)) if damage is not None else clean
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
