"""Scan damage of the kind an office scanner or photocopier adds, at a chosen severity.

The OCR clean-up is measured on these pages, so each effect stays within what a 300 dpi office
scanner really produces (skew within ±5°, blur sigma under 0.8 px, sensor noise under 5 grey
levels, JPEG quality 40–90, lighting up to about half as bright on one side, a few stains, folds
and punch holes, some pages turned a quarter or half turn) and every choice made is returned, so a
benchmark can tell which damage a failure came from.
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np


def apply_damage(image: np.ndarray, rng: random.Random, *, severity: float = 1.0,
                 allow_rotation: bool = True) -> tuple[np.ndarray, dict]:
    """Damage an upright RGB page; returns the scan and what was applied.

    ``rotation`` in the result is the clockwise quarter turn applied to the page (0/90/180/270),
    so turning the scan by ``-rotation`` makes it upright again; ``skew_deg`` is the small
    rotation (counter-clockwise positive, as OpenCV) applied before it.
    """
    severity = min(max(severity, 0.0), 1.0)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    info: dict = {"severity": round(severity, 3), "rotation": 0, "skew_deg": 0.0}
    if severity == 0.0:
        return image.copy(), info
    seed = rng.getrandbits(63)
    nrng = np.random.default_rng(seed)
    h, w = image.shape[:2]

    # Paper tone (scanned white is never 255) and lighting, as one multiplicative map.
    tone = 255 - rng.uniform(4, 22) * severity
    tint = np.array([tone, tone - rng.uniform(0, 6) * severity, tone - rng.uniform(0, 12) * severity], np.float32)
    info["paper"] = [round(float(t), 1) for t in tint]
    strength = rng.uniform(0.0, 0.5) * severity
    info["lighting"] = round(strength, 3)
    gain = _lighting(h, w, rng, strength, tint)
    scan = cv2.multiply(image, gain, scale=1 / 255.0)

    stains = rng.randint(0, 3) if rng.random() < 0.6 * severity else 0
    for _ in range(stains):
        _stain(scan, rng, nrng)
    info["stains"] = stains

    # Papers in a dossier were folded into an envelope and punched for a binder.
    creases = rng.randint(1, 2) if rng.random() < 0.35 * severity else 0
    for _ in range(creases):
        _crease(scan, rng)
    info["creases"] = creases
    holes = w > 1600 and rng.random() < 0.25 * severity
    if holes:
        _punch_holes(scan, rng)
    info["punch_holes"] = bool(holes)

    skew = rng.uniform(-5.0, 5.0) * severity
    if abs(skew) > 0.05:
        fill = tuple(float(t) * (1 - strength / 2) for t in tint)
        scan = _skew(scan, skew, fill)
    info["skew_deg"] = round(skew, 3)

    sigma = rng.uniform(0.0, 0.8) * severity
    if sigma > 0.25:
        scan = cv2.GaussianBlur(scan, (0, 0), sigma)
    info["blur_sigma"] = round(sigma, 3)

    noise = rng.uniform(1.0, 5.0) * severity  # office scanners: about 2–4 grey levels of sensor noise
    # Sensor grain spans about two pixels at 300 dpi; drawing it at half size is also four times cheaper.
    grain = np.empty(((h + 1) // 2, (w + 1) // 2, 3), np.int16)
    cv2.setRNGSeed(int(seed % (2**31)))
    cv2.randn(grain, 0, noise)
    grain = cv2.resize(grain, (w, h), interpolation=cv2.INTER_NEAREST)
    scan = cv2.add(scan, grain, dtype=cv2.CV_8U)
    info["noise_std"] = round(noise, 3)

    quality = round(90 - rng.uniform(0, 50) * severity)
    _, encoded = cv2.imencode(".jpg", cv2.cvtColor(scan, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    scan = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    info["jpeg_quality"] = quality

    rotation = 0
    if allow_rotation and rng.random() < 0.2 * max(severity, 0.5):
        rotation = rng.choice((90, 180, 180, 270))
    if rotation:
        # np.rot90 turns counter-clockwise for positive k; a clockwise turn of r degrees is k = -r/90.
        scan = np.ascontiguousarray(np.rot90(scan, k=-rotation // 90))
    info["rotation"] = rotation
    return scan, info


def _stain(page: np.ndarray, rng: random.Random, nrng: np.random.Generator) -> None:
    """A semi-transparent brownish blob (coffee, water) with a soft irregular edge, in place."""
    h, w = page.shape[:2]
    radius = rng.uniform(0.03, 0.1) * min(h, w)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    x0, x1 = int(max(0, cx - 1.6 * radius)), int(min(w, cx + 1.6 * radius))
    y0, y1 = int(max(0, cy - 1.6 * radius)), int(min(h, cy + 1.6 * radius))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    angle = np.arctan2(yy - cy, xx - cx)
    wobble = 1 + sum(nrng.uniform(0.03, 0.12) * np.sin(k * angle + nrng.uniform(0, 2 * math.pi)) for k in (2, 3, 5))
    dist = np.hypot(xx - cx, yy - cy) / (radius * wobble)
    alpha = np.clip(1.2 - dist, 0, 1) ** 0.7 * rng.uniform(0.12, 0.3)
    ring = np.exp(-((dist - 0.95) ** 2) / 0.004) * rng.uniform(0.05, 0.15)
    alpha = (alpha + ring)[..., None]
    brown = np.array([150, 110, 60], np.float32)
    region = page[y0:y1, x0:x1].astype(np.float32)
    page[y0:y1, x0:x1] = np.clip(region * (1 - alpha) + (region * brown / 255.0) * alpha, 0, 255).astype(np.uint8)


def _crease(page: np.ndarray, rng: random.Random) -> None:
    """A fold: a faint dark line with a lighter edge across the whole page, in place."""
    h = page.shape[0]
    y = int(h * rng.choice((1 / 3, 1 / 2, 2 / 3)) + rng.uniform(-40, 40))
    shade = rng.uniform(0.82, 0.92)
    band = page[max(0, y - 2):y + 2].astype(np.float32) * shade
    page[max(0, y - 2):y + 2] = band.astype(np.uint8)
    light = page[y + 2:y + 6].astype(np.float32) * 1.04
    page[y + 2:y + 6] = np.clip(light, 0, 255).astype(np.uint8)


def _punch_holes(page: np.ndarray, rng: random.Random) -> None:
    """Two binder holes in the left margin, showing the scanner's dark lid through the paper."""
    h = page.shape[0]
    x = int(rng.uniform(70, 110))
    gap = 960  # 80 mm, the ISO 838 spacing
    radius = 36
    for cy in (h // 2 - gap // 2, h // 2 + gap // 2):
        cv2.circle(page, (x, cy), radius, (60, 60, 60), thickness=-1, lineType=cv2.LINE_AA)


def _lighting(h: int, w: int, rng: random.Random, strength: float, tint: np.ndarray) -> np.ndarray:
    """Per-pixel RGB gain (0–255): the paper tone times brightness falling off linearly towards
    one side (lid not closed, lamp at an angle).

    The gain is a plane, so it is computed small and enlarged: the same values at a fraction of
    the cost of a full-size float computation."""
    angle = rng.uniform(0, 2 * math.pi)
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
