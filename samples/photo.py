"""A page photographed with a phone on a desk: the damage model of photos, beside the scanner's
(:mod:`samples.damage`).

Offices receive papers as phone photos (a citizen sends a picture of a certificate, a clerk snaps a
page the scanner jams on). Such a photo shows the sheet as a trapezoid: the camera is tilted, so the
sheet's far edge comes out narrower and shorter than its near edge; the phone is turned a few degrees;
the paper lies on a darker desk; the phone or a hand throws a soft shadow across part of it; light
falls off towards the corners; and the camera adds its blur, grain and JPEG. The clean-up's sheet
finder (:mod:`pipeline.sheet`) is measured on these, so every choice is drawn within what a phone
held over a desk gives, and returned (the sheet's true corners among them) for tests to check
against.

As in :mod:`samples.damage`, :func:`draw_photo` chooses a :class:`Photo` and :func:`photograph`
applies one; the random draws are made in a fixed order, so a seed always gives the same photo.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import cv2
import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class Photo:
    """How a page is photographed. ``frame`` is the photo's (width, height) in pixels; the sheet's
    far (top) edge comes out ``taper`` narrower than its near edge (0.2: a fifth narrower), the
    sheet spans about ``height`` of the frame's height, and ``turn_deg`` turns the camera (the sheet
    turns counter-clockwise on the photo)."""

    frame: tuple[int, int] = (3000, 4000)
    taper: float = 0.22
    height: float = 0.82
    turn_deg: float = 3.0
    shift: Point = (0.0, 0.0)  # the sheet's centre off the frame's centre, as fractions of the frame
    desk: tuple[float, float, float] = (70.0, 55.0, 45.0)  # RGB of the desk (a dark wood or laminate)
    desk_grain: float = 8.0  # grey levels of the desk's streaks
    light: float = 0.85  # paper white as photographed (a phone's exposure leaves paper grey)
    falloff: float = 0.25  # how much darker the frame's corners are than its centre (vignetting)
    shadow: tuple[Point, Point, Point] | None = ((0.55, 0.0), (1.0, 0.0), (1.0, 0.6))  # frame fractions
    shadow_depth: float = 0.4  # share of the light the shadow takes
    shadow_soft: float = 40.0  # pixels: the shadow's soft edge
    blur_sigma: float = 1.0
    noise_std: float = 3.0
    jpeg_quality: int = 88
    seed: int = 0


@dataclass(frozen=True)
class PhotoShot:
    """A photo and what made it: the sheet's corners on it (top-left, top-right, bottom-right,
    bottom-left of the page as printed) and the photo's own JPEG bytes (what a phone sends)."""

    image: np.ndarray  # RGB uint8, the decoded JPEG
    jpeg: bytes
    corners: tuple[Point, Point, Point, Point]
    photo: Photo


def draw_photo(rng: random.Random, *, frame: tuple[int, int] = (3000, 4000),
               page_shape: tuple[int, int] = (3508, 2480)) -> Photo:
    """A phone photo of a page of ``page_shape`` (height, width) at random: far edge 20–30%
    narrower, turned 2–5° either way, a shadow over one corner region, a dark desk, blur, grain and
    JPEG. The whole sheet is in view with some desk around it (2% of the frame at least), as when a
    page is photographed to be sent: a photo cutting the sheet off is another case."""
    taper = rng.uniform(0.20, 0.30)
    turn = rng.uniform(2.0, 5.0) * rng.choice((-1, 1))
    height = rng.uniform(0.74, 0.82)
    shift = (rng.uniform(-0.03, 0.03), rng.uniform(-0.02, 0.02))
    base = rng.uniform(35, 85)
    desk = (base + rng.uniform(0, 20), base + rng.uniform(-5, 10), base - rng.uniform(0, 15))
    corner = rng.randrange(4)
    reach = rng.uniform(0.45, 0.7)
    tri = [(1.0 - reach, 0.0), (1.0, 0.0), (1.0, reach)]
    if corner in (1, 2):  # mirror left-right
        tri = [(1.0 - x, y) for x, y in tri]
    if corner in (2, 3):  # mirror top-bottom
        tri = [(x, 1.0 - y) for x, y in tri]
    photo = Photo(
        frame=frame, taper=taper, height=height, turn_deg=turn, shift=shift,
        desk=desk, desk_grain=rng.uniform(3, 12), light=rng.uniform(0.78, 0.92), falloff=rng.uniform(0.1, 0.3),
        shadow=(tri[0], tri[1], tri[2]), shadow_depth=rng.uniform(0.3, 0.5), shadow_soft=rng.uniform(25, 60),
        blur_sigma=rng.uniform(0.6, 1.2), noise_std=rng.uniform(2.0, 4.0), jpeg_quality=rng.randint(80, 92),
        seed=rng.getrandbits(31),
    )
    fw, fh = frame
    for _ in range(20):
        xs, ys = zip(*sheet_corners(photo, page_shape), strict=True)
        if min(xs) >= 0.02 * fw and max(xs) <= 0.98 * fw and min(ys) >= 0.02 * fh and max(ys) <= 0.98 * fh:
            break
        photo = replace(photo, height=photo.height * 0.97, shift=(photo.shift[0] * 0.8, photo.shift[1] * 0.8))
    return photo


def sheet_corners(p: Photo, page_shape: tuple[int, int]) -> tuple[Point, Point, Point, Point]:
    """Where the corners of a page of ``page_shape`` (height, width) land on the photo (top-left,
    top-right, bottom-right, bottom-left).

    A pinhole camera, as a phone's is: principal point at the frame's centre, square pixels, a focal
    length of 0.6 times the frame's diagonal (a phone's 26 mm-equivalent main camera). The camera is
    tilted about the page's horizontal axis by the angle that makes the far edge ``taper`` narrower,
    at the distance where the sheet spans about ``height`` of the frame, then turned about its axis."""
    fw, fh = p.frame
    ph, pw = page_shape
    f = 0.6 * math.hypot(fw, fh)
    sheet_h, sheet_w = 1.0, pw / ph  # the page's height is the unit of length
    distance = f * sheet_h / (p.height * fh)
    # Far edge over near edge is (D - s) / (D + s) with s = (H / 2) sin(tilt).
    sin_tilt = min(0.9, 2 * distance / sheet_h * p.taper / (2 - p.taper))
    cos_tilt = math.sqrt(1 - sin_tilt**2)
    tx, ty = p.shift[0] * fw * distance / f, p.shift[1] * fh * distance / f
    rad = math.radians(p.turn_deg)
    cos, sin = math.cos(rad), math.sin(rad)
    out = []
    for x, y in ((-sheet_w / 2, -sheet_h / 2), (sheet_w / 2, -sheet_h / 2), (sheet_w / 2, sheet_h / 2),
                 (-sheet_w / 2, sheet_h / 2)):
        xc, yc, zc = x + tx, y * cos_tilt + ty, distance - y * sin_tilt
        u, v = f * xc / zc, f * yc / zc
        # Turned counter-clockwise on screen (y down), as OpenCV's angles, about the principal point.
        out.append((fw / 2 + u * cos + v * sin, fh / 2 - u * sin + v * cos))
    return out[0], out[1], out[2], out[3]


def photograph(page: np.ndarray, p: Photo) -> PhotoShot:
    """The photo of an upright page (grey or RGB uint8) taken as ``p`` says."""
    if page.ndim == 2:
        page = np.stack([page] * 3, axis=-1)
    h, w = page.shape[:2]
    fw, fh = p.frame
    corners = sheet_corners(p, (h, w))
    src = np.float32([(0, 0), (w, 0), (w, h), (0, h)])
    homography = cv2.getPerspectiveTransform(src, np.float32(corners))
    # The page is shrunk towards the photo's scale before the warp, as a lens averages what falls on a
    # pixel; a bilinear warp alone would alias the strokes.
    scale = min(1.0, max(abs(corners[2][0] - corners[3][0]), 1.0) / w)
    small = cv2.resize(page, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    homography = homography @ np.diag([1 / scale, 1 / scale, 1.0])
    sheet = cv2.warpPerspective(small, homography, (fw, fh), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    inside = cv2.warpPerspective(np.full(small.shape[:2], 255, np.uint8), homography, (fw, fh),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    nrng = np.random.default_rng(p.seed)
    # uint8 and OpenCV throughout: a 12-megapixel photo in numpy floats took seconds.
    weight = inside.astype(np.float32) / 255.0
    photo = cv2.blendLinear(sheet, _desk(p, nrng), weight, 1.0 - weight)
    gain = cv2.merge([_light(p)] * 3)
    photo = cv2.multiply(photo, gain, scale=1 / 255.0)
    if p.blur_sigma > 0.25:
        photo = cv2.GaussianBlur(photo, (0, 0), p.blur_sigma)
    if p.noise_std > 0:
        grain = np.empty(photo.shape, np.int16)
        cv2.setRNGSeed(int(p.seed))
        cv2.randn(grain, 0, p.noise_std)
        photo = cv2.add(photo, grain, dtype=cv2.CV_8U)
    image = photo
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY,
                                                                               p.jpeg_quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("JPEG encoding failed")
    jpeg = encoded.tobytes()
    image = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return PhotoShot(image=image, jpeg=jpeg, corners=corners, photo=p)


def _desk(p: Photo, nrng: np.random.Generator) -> np.ndarray:
    """The desk: its colour with streaks along one direction (wood, laminate), RGB uint8."""
    fw, fh = p.frame
    streaks = nrng.normal(0.0, 1.0, (1, max(2, fw // 8))).astype(np.float32)
    streaks = cv2.GaussianBlur(streaks, (0, 0), 2.0)
    streaks *= p.desk_grain / max(float(streaks.std()), 1e-6)
    row = np.clip(np.float32(p.desk)[None, None, :] + streaks[..., None], 0, 255).astype(np.uint8)
    return cv2.resize(row, (fw, fh), interpolation=cv2.INTER_LINEAR)


def _light(p: Photo) -> np.ndarray:
    """Per-pixel gain (255 is 1): the exposure, the vignetting and the shadow, computed small and
    enlarged."""
    fw, fh = p.frame
    sw, sh = max(2, fw // 8), max(2, fh // 8)
    ys = np.linspace(-1.0, 1.0, sh, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, sw, dtype=np.float32)[None, :]
    gain = p.light * (1.0 - p.falloff * (xs**2 + ys**2) / 2)
    if p.shadow is not None:
        mask = np.zeros((sh, sw), np.float32)
        tri = np.int32([[round(x * (sw - 1)), round(y * (sh - 1))] for x, y in p.shadow])
        cv2.fillConvexPoly(mask, tri, 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, p.shadow_soft / 8))
        gain = gain * (1.0 - p.shadow_depth * mask)
    small = np.clip(gain * 255.0, 0, 255).astype(np.uint8)
    return cv2.resize(small, (fw, fh), interpolation=cv2.INTER_LINEAR)
