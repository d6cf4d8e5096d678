"""Scan damage of the kind an office scanner or photocopier adds, at a chosen severity.

The OCR clean-up is measured on these pages, so each effect stays within what a 300 dpi office
scanner really produces (skew within ±5°, blur sigma under 0.8 px, sensor noise under 5 grey
levels, JPEG quality 40–90, lighting up to about half as bright on one side, a few stains, folds
and punch holes, some pages turned a quarter or half turn) and every choice made is returned, so a
benchmark can tell which damage a failure came from.

This is the project's one damage model. It comes in two steps so that tests can ask for one effect
at a known strength and the generator can draw a realistic mix: :func:`draw_damage` chooses a
:class:`Damage` at random, :func:`damage_page` applies any :class:`Damage`; :func:`apply_damage` is
both. The random draws are made in a fixed order, so a seed gives the same scan as it always has
(the classifier's training set and the benchmarks' held-out pages depend on that).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import cv2
import numpy as np

RGBf = tuple[float, float, float]


@dataclass(frozen=True)
class Stain:
    """A semi-transparent brownish blob (coffee, water): centre and radius in pixels, how opaque its
    body and its darker rim are."""

    cx: float
    cy: float
    radius: float
    alpha: float
    ring: float


@dataclass(frozen=True)
class Crease:
    """A fold across the whole page at row ``y``, darkened by ``shade``."""

    y: int
    shade: float


@dataclass(frozen=True)
class Damage:
    """What a scan does to a page. The defaults do nothing, so ``Damage(skew_deg=2)`` is a page
    skewed by two degrees and nothing else."""

    rotation: int = 0  # clockwise quarter turn applied to the page (0/90/180/270), last of all
    skew_deg: float = 0.0  # small rotation, counter-clockwise positive (as OpenCV)
    paper: RGBf = (255.0, 255.0, 255.0)  # the scanned white
    lighting: float = 0.0  # 0..1: how much darker the far side is (lid not closed, lamp at an angle)
    lighting_angle: float = 0.0  # radians: the direction in which the light falls off
    stains: tuple[Stain, ...] = ()
    creases: tuple[Crease, ...] = ()
    punch_holes_x: int | None = None  # two binder holes in the left margin at this column
    border: bool = False  # the scanner's black lid on two sides, outside the paper
    blur_sigma: float = 0.0  # Gaussian, pixels; under a quarter pixel it is invisible and skipped
    noise_std: float = 0.0  # sensor grain, grey levels
    jpeg_quality: int = 0  # 0: no JPEG round trip
    seed: int = 0  # for the grain and the stains' irregular edges


def apply_damage(image: np.ndarray, rng: random.Random, *, severity: float = 1.0,
                 allow_rotation: bool = True) -> tuple[np.ndarray, dict]:
    """Damage an upright RGB page; returns the scan and what was applied.

    ``rotation`` in the result is the clockwise quarter turn applied to the page (0/90/180/270),
    so turning the scan by ``-rotation`` makes it upright again; ``skew_deg`` is the small
    rotation (counter-clockwise positive, as OpenCV) applied before it.
    """
    severity = min(max(severity, 0.0), 1.0)
    if severity == 0.0:
        image = np.stack([image] * 3, axis=-1) if image.ndim == 2 else image.copy()
        return image, {"severity": 0.0, "rotation": 0, "skew_deg": 0.0}
    d = draw_damage(image.shape[:2], rng, severity=severity, allow_rotation=allow_rotation)
    return damage_page(image, d), describe(d, severity)


def draw_damage(shape: tuple[int, int], rng: random.Random, *, severity: float = 1.0,
                allow_rotation: bool = True) -> Damage:
    """A realistic mix of damage for a page of ``shape`` (height, width) at ``severity`` (0–1)."""
    severity = min(max(severity, 0.0), 1.0)
    if severity == 0.0:
        return Damage()
    h, w = shape
    seed = rng.getrandbits(63)
    tone = 255 - rng.uniform(4, 22) * severity
    tint = np.array([tone, tone - rng.uniform(0, 6) * severity, tone - rng.uniform(0, 12) * severity], np.float32)
    strength = rng.uniform(0.0, 0.5) * severity
    angle = rng.uniform(0, 2 * math.pi)
    stains = []
    for _ in range(rng.randint(0, 3) if rng.random() < 0.6 * severity else 0):
        radius = rng.uniform(0.03, 0.1) * min(h, w)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if not _stain_box(cx, cy, radius, h, w):
            stains.append(Stain(cx, cy, radius, 0.0, 0.0))  # off the page: drawn as nothing
            continue
        stains.append(Stain(cx, cy, radius, rng.uniform(0.12, 0.3), rng.uniform(0.05, 0.15)))
    creases = []
    for _ in range(rng.randint(1, 2) if rng.random() < 0.35 * severity else 0):
        y = int(h * rng.choice((1 / 3, 1 / 2, 2 / 3)) + rng.uniform(-40, 40))
        creases.append(Crease(y, rng.uniform(0.82, 0.92)))
    holes = w > 1600 and rng.random() < 0.25 * severity
    holes_x = int(rng.uniform(70, 110)) if holes else None
    skew = rng.uniform(-5.0, 5.0) * severity
    sigma = rng.uniform(0.0, 0.8) * severity
    noise = rng.uniform(1.0, 5.0) * severity  # office scanners: about 2–4 grey levels of sensor noise
    quality = round(90 - rng.uniform(0, 50) * severity)
    rotation = 0
    if allow_rotation and rng.random() < 0.2 * max(severity, 0.5):
        rotation = rng.choice((90, 180, 180, 270))
    return Damage(rotation=rotation, skew_deg=skew, paper=(float(tint[0]), float(tint[1]), float(tint[2])),
                  lighting=strength, lighting_angle=angle, stains=tuple(stains), creases=tuple(creases),
                  punch_holes_x=holes_x, blur_sigma=sigma, noise_std=noise, jpeg_quality=quality, seed=seed)


def describe(d: Damage, severity: float) -> dict:
    """What ``.gt.json`` records of the damage (rounded; the key order is the files' order)."""
    return {"severity": round(severity, 3), "rotation": d.rotation, "skew_deg": round(d.skew_deg, 3),
            "paper": [round(t, 1) for t in d.paper], "lighting": round(d.lighting, 3), "stains": len(d.stains),
            "creases": len(d.creases), "punch_holes": d.punch_holes_x is not None,
            "blur_sigma": round(d.blur_sigma, 3), "noise_std": round(d.noise_std, 3), "jpeg_quality": d.jpeg_quality}


def damage_page(image: np.ndarray, d: Damage) -> np.ndarray:
    """The scan of an upright page (grey or RGB uint8) under damage ``d``: RGB uint8."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    h, w = image.shape[:2]
    tint = np.array(d.paper, np.float32)
    # Paper tone (scanned white is never 255) and lighting, as one multiplicative map.
    if d.paper != (255.0, 255.0, 255.0) or d.lighting:
        scan = cv2.multiply(image, _lighting(h, w, d.lighting, d.lighting_angle, tint), scale=1 / 255.0)
    else:
        scan = image.copy()
    nrng = np.random.default_rng(d.seed)
    for stain in d.stains:
        _stain(scan, stain, nrng)
    # Papers in a dossier were folded into an envelope and punched for a binder.
    for crease in d.creases:
        _crease(scan, crease)
    if d.punch_holes_x is not None:
        _punch_holes(scan, d.punch_holes_x)
    if abs(d.skew_deg) > 0.05:
        fill = tuple(float(t) * (1 - d.lighting / 2) for t in tint)
        scan = _skew(scan, d.skew_deg, fill)
    if d.border:
        bw = max(4, w // 40)
        scan[:, :bw] = 15
        scan[:bw, :] = 15
    if d.blur_sigma > 0.25:
        scan = cv2.GaussianBlur(scan, (0, 0), d.blur_sigma)
    if d.noise_std > 0:
        # Sensor grain spans about two pixels at 300 dpi; drawing it at half size is also four times cheaper.
        grain = np.empty(((h + 1) // 2, (w + 1) // 2, 3), np.int16)
        cv2.setRNGSeed(int(d.seed % (2**31)))
        cv2.randn(grain, 0, d.noise_std)
        grain = cv2.resize(grain, (w, h), interpolation=cv2.INTER_NEAREST)
        scan = cv2.add(scan, grain, dtype=cv2.CV_8U)
    if d.jpeg_quality:
        _, encoded = cv2.imencode(".jpg", cv2.cvtColor(scan, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY,
                                                                                  d.jpeg_quality])
        scan = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if d.rotation:
        # np.rot90 turns counter-clockwise for positive k; a clockwise turn of r degrees is k = -r/90.
        scan = np.ascontiguousarray(np.rot90(scan, k=-d.rotation // 90))
    return scan


def _stain_box(cx: float, cy: float, radius: float, h: int, w: int) -> tuple[int, int, int, int] | None:
    x0, x1 = int(max(0, cx - 1.6 * radius)), int(min(w, cx + 1.6 * radius))
    y0, y1 = int(max(0, cy - 1.6 * radius)), int(min(h, cy + 1.6 * radius))
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)


def _stain(page: np.ndarray, s: Stain, nrng: np.random.Generator) -> None:
    """A stain with a soft irregular edge, in place."""
    box = _stain_box(s.cx, s.cy, s.radius, *page.shape[:2])
    if box is None:
        return
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    angle = np.arctan2(yy - s.cy, xx - s.cx)
    wobble = 1 + sum(nrng.uniform(0.03, 0.12) * np.sin(k * angle + nrng.uniform(0, 2 * math.pi)) for k in (2, 3, 5))
    dist = np.hypot(xx - s.cx, yy - s.cy) / (s.radius * wobble)
    alpha = np.clip(1.2 - dist, 0, 1) ** 0.7 * s.alpha
    ring = np.exp(-((dist - 0.95) ** 2) / 0.004) * s.ring
    alpha = (alpha + ring)[..., None]
    brown = np.array([150, 110, 60], np.float32)
    region = page[y0:y1, x0:x1].astype(np.float32)
    page[y0:y1, x0:x1] = np.clip(region * (1 - alpha) + (region * brown / 255.0) * alpha, 0, 255).astype(np.uint8)


def _crease(page: np.ndarray, c: Crease) -> None:
    """A fold: a faint dark line with a lighter edge across the whole page, in place."""
    y = c.y
    band = page[max(0, y - 2):y + 2].astype(np.float32) * c.shade
    page[max(0, y - 2):y + 2] = band.astype(np.uint8)
    light = page[y + 2:y + 6].astype(np.float32) * 1.04
    page[y + 2:y + 6] = np.clip(light, 0, 255).astype(np.uint8)


def _punch_holes(page: np.ndarray, x: int) -> None:
    """Two binder holes in the left margin, showing the scanner's dark lid through the paper."""
    h = page.shape[0]
    gap = 960  # 80 mm, the ISO 838 spacing
    radius = 36
    for cy in (h // 2 - gap // 2, h // 2 + gap // 2):
        cv2.circle(page, (x, cy), radius, (60, 60, 60), thickness=-1, lineType=cv2.LINE_AA)


def _lighting(h: int, w: int, strength: float, angle: float, tint: np.ndarray) -> np.ndarray:
    """Per-pixel RGB gain (0–255): the paper tone times brightness falling off linearly towards
    one side.

    The gain is a plane, so it is computed small and enlarged: the same values at a fraction of
    the cost of a full-size float computation."""
    sh, sw = max(2, h // 16), max(2, w // 16)
    ys = np.linspace(-0.5, 0.5, sh, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, sw, dtype=np.float32)[None, :]
    ramp = xs * math.cos(angle) + ys * math.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    small = (1.0 - strength * ramp)[..., None] * tint[None, None, :]
    return cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)


def _skew(page: np.ndarray, degrees: float, fill: tuple[float, ...]) -> np.ndarray:
    h, w = page.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=fill)
