"""Scan damage stays within an office scanner's range and says what it did."""

from __future__ import annotations

import random

import numpy as np

from samples.damage import Damage, apply_damage, damage_page, describe, draw_damage


def _page() -> np.ndarray:
    page = np.full((1200, 900, 3), 255, np.uint8)
    page[200:260, 100:800] = 20  # a "line of text"
    return page


def test_zero_severity_is_a_clean_copy() -> None:
    page = _page()
    out, info = apply_damage(page, random.Random(1), severity=0.0)
    assert np.array_equal(out, page) and out is not page
    assert info["rotation"] == 0 and info["skew_deg"] == 0.0


def test_damage_is_bounded_and_reproducible() -> None:
    page = _page()
    rotations = set()
    for seed in range(12):
        out, info = apply_damage(page, random.Random(seed))
        again, info2 = apply_damage(page, random.Random(seed))
        assert info == info2 and np.array_equal(out, again)
        assert abs(info["skew_deg"]) <= 5.0 and 40 <= info["jpeg_quality"] <= 90
        assert 0 <= info["lighting"] <= 0.5 and info["blur_sigma"] <= 0.8 and info["noise_std"] <= 5.0
        rotations.add(info["rotation"])
        upright = np.rot90(out, k=info["rotation"] // 90)
        assert upright.shape == page.shape
        # Still legible: the ink stays far darker than the paper.
        assert out.dtype == np.uint8 and float(upright[600:700].mean()) > 120
    assert 0 in rotations


def test_rotation_only_when_allowed() -> None:
    page = _page()
    turned = {apply_damage(page, random.Random(seed))[1]["rotation"] for seed in range(30)}
    assert turned - {0}, "no page was ever turned"
    for seed in range(8):
        out, info = apply_damage(page, random.Random(seed), allow_rotation=False)
        assert info["rotation"] == 0 and out.shape == page.shape


def test_a_drawn_damage_applied_is_the_random_scan() -> None:
    """The two steps are the one-step damage: a seed gives the same scan either way."""
    page = _page()
    for seed in range(4):
        scan, info = apply_damage(page, random.Random(seed))
        drawn = draw_damage(page.shape[:2], random.Random(seed))
        assert np.array_equal(damage_page(page, drawn), scan)
        assert describe(drawn, 1.0) == info


def test_explicit_damage_does_only_what_it_names() -> None:
    page = _page()
    assert np.array_equal(damage_page(page, Damage()), page)
    grey = page[..., 0]
    turned = damage_page(grey, Damage(rotation=90))
    assert turned.shape == (900, 1200, 3) and np.array_equal(turned[..., 0], np.rot90(grey, -1))
    bordered = damage_page(page, Damage(border=True))
    assert bordered[:, :5].max() == 15 and bordered[:5].max() == 15 and bordered[600:, 800:].min() == 255
    dim = damage_page(page, Damage(lighting=0.6))
    assert dim[600, 10].mean() > 245 and dim[600, 890].mean() < 120  # the light falls off to the right
