"""Orientation: upright pages stay upright in every typeface, pages upside down are turned back.

A page turned the wrong way is read as garbage and its certified copy shows it upside down, so
each family the generator prints in, and the Times New Roman of a real government letter, is
checked both ways up, scanned with light damage; and the reading that settles weak evidence is
checked on its own.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from core.model import Page, PageWarning
from pipeline.cleanup import _read_each_way, binarize, clean_page, flatten, remove_borders
from samples.damage import Damage, damage_page
from samples.fonts import FAMILIES
from samples.plain import text_page

REAL_LETTER = Path(__file__).resolve().parents[2] / "bench" / "corpus" / "real" / "qngai_507_UBND-KGVX_2025.pdf"


def _scan(image: np.ndarray, seed: int) -> np.ndarray:
    rng = random.Random(seed)
    damage = Damage(skew_deg=rng.uniform(-3, 3), paper=(240.0, 236.0, 228.0), lighting=0.35,
                    lighting_angle=rng.uniform(0, 6.28), blur_sigma=0.5, noise_std=3.0, jpeg_quality=60, seed=seed)
    return damage_page(image, damage)


def _page(image: np.ndarray, name: str) -> Page:
    return Page(source=name, source_sha256="", index=0, image=image, dpi=300.0)


def _real_letter_top() -> np.ndarray:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(REAL_LETTER))
    try:
        doc.init_forms()
        image = np.asarray(doc[0].render(scale=300 / 72, may_draw_forms=True).to_pil().convert("RGB"))
    finally:
        doc.close()
    return np.ascontiguousarray(image[150:1800])  # header, seal of the signature stamp, body


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_upright_pages_in_every_family_stay_upright_and_turned_ones_come_back(family: str) -> None:
    image, _ = text_page(random.Random(family), width_mm=148, height_mm=105, font_pt=12, families=(family,))
    scan = _scan(image, sorted(FAMILIES).index(family))
    upright = clean_page(_page(scan, family))
    assert (upright.rotation, upright.flags) == (0, ())
    assert clean_page(_page(np.ascontiguousarray(np.rot90(scan, 2)), family)).rotation == 180


@pytest.mark.skipif(not REAL_LETTER.is_file(), reason="the real-document corpus is not in this checkout")
def test_a_real_letter_in_times_new_roman_stays_upright() -> None:
    scan = _scan(_real_letter_top(), 7)
    upright = clean_page(_page(scan, "letter"))
    assert (upright.rotation, upright.flags) == (0, ())
    assert clean_page(_page(np.ascontiguousarray(np.rot90(scan, 2)), "letter")).rotation == 180


def test_reading_each_way_picks_the_upright_turn_whichever_is_offered_first() -> None:
    image, _ = text_page(random.Random(3), width_mm=148, height_mm=105, font_pt=12, families=("noto-serif",))
    binary = remove_borders(binarize(flatten(image)))
    turn, lead = _read_each_way(binary, [180, 0], 0.0, "p")
    assert turn == 0 and lead > 0.5
    assert _read_each_way(np.ascontiguousarray(np.rot90(binary, 2)), [0, 180], 0.0, "p")[0] == 180


RESOURCES = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "ocrmypdf-resources"


@pytest.mark.skipif(not (RESOURCES / "truetype_font_nomapping.pdf").is_file(), reason="shared test data missing")
def test_a_page_of_rules_and_one_word_is_left_as_scanned_and_flagged() -> None:
    """Three "lines" (a word, a table row, dotted rules) once made strong evidence for a half turn;
    neither they nor a reading can tell here: the page stays as it came, flagged for a person, and
    its reading is flagged too."""
    from pipeline.ingest import iter_source

    page, = iter_source(RESOURCES / "truetype_font_nomapping.pdf", max_page_pixels=120_000_000, max_pages=5,
                        max_bytes=50 * 2**20, hash_pixels=False)
    cleaned = clean_page(page)
    assert cleaned.rotation == 0
    (flag,) = cleaned.flags
    assert flag.warning is PageWarning.ORIENTATION_UNCERTAIN and 0.0 <= flag.confidence < 1.0
