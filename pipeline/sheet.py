"""Sheet finding and flattening: a phone photo of a page on a desk becomes a flat page.

Tesseract reads a keystoned photo about as well as a flat scan, but the searchable PDF and the
certified copy show what ``Page.image`` holds, and a photo shows a trapezoid of paper on a desk. When
a photo shows a whole sheet on a darker surface, its four corners are found, the perspective is
undone onto a rectangle of the sheet's own proportions (A4 when they are close to A4's, at 300 dpi),
and the page becomes that rectangle, for the image people see and for OCR alike. The photo itself
stays the original, byte for byte, where the intake keeps it.

A scan is never touched: the sheet must lie wholly inside the frame with a darker surround along all
four of its sides. Anything less sure (no quadrilateral, a side without a clear paper/desk edge along
most of its length, a shape no sheet photographed from above can have) leaves the image as it came,
so text is never cropped away on a guess.

How: on a copy about 1000 pixels long, print is removed by a closing wider than strokes (paper is
the bright surface), candidate regions come from global thresholds (Otsu and a few levels around it,
so a shadow across the page or a bright desk still leaves one that follows the sheet's outline), the
largest region of each is fitted with a quadrilateral, each side refined by a line fit to the
region's outline, and each candidate is checked against the image: along every side, most points
must be brighter a little inside than a little outside. The best checked candidate wins.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.model import Page

log = logging.getLogger(__name__)

Point = tuple[float, float]

WORK_SIDE = 1000  # long side of the copy the sheet is looked for on, pixels
MIN_AREA = 0.15  # a sheet covers at least this share of the photo...
MAX_AREA = 0.96  # ...and leaves at least this much desk around it (a scan leaves none)
EDGE_MARGIN = 0.004  # corners at least this share of the frame's side inside it (a whole sheet in view)
MIN_SUPPORT = 0.75  # share of a side's points with paper clearly brighter inside than outside
MIN_STEP = 18.0  # grey levels between paper just inside and desk just outside, for a point to count
MIN_ANGLE, MAX_ANGLE = 50.0, 130.0  # a sheet's corners on a photo from above stay within these
A_SERIES = math.sqrt(2.0)  # A4, A5, A3: long side over short side
A_SERIES_TOLERANCE = 0.09  # a measured ratio within 9% of √2 is an A-series sheet
A4_MM = (210.0, 297.0)
OUT_DPI = 300.0
INSET = 0.0012  # share of the photo's long side the cut is moved into the sheet
PHONE_FOCAL = 0.65  # a phone main camera's focal length over the frame's diagonal


@dataclass(frozen=True)
class Sheet:
    """A sheet found on a photo: its corners in the photo's pixels (top-left, top-right,
    bottom-right, bottom-left as the photo shows them), the flat size it is warped to and the
    resolution that size stands for."""

    corners: tuple[Point, Point, Point, Point]
    size: tuple[int, int]  # (width, height) of the flattened page, pixels
    dpi: float
    support: float  # the weakest side's share of points with a clear paper/desk edge


def find_sheet(image: np.ndarray, dpi: float = OUT_DPI) -> Sheet | None:
    """The sheet on a photo, or None when there is no whole sheet on a darker surround to be sure
    of (scans, crops, pages filling the frame). ``dpi`` is what the file states; it is used only
    for a sheet that is not A-series, whose size cannot be known from the photo."""
    h, w = image.shape[:2]
    if min(h, w) < 200 or not _desk_around(image):
        return None
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    factor = max(1.0, max(h, w) / WORK_SIDE)
    small = cv2.resize(grey, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA) \
        if factor > 1 else grey
    paper = _without_print(small)
    best: tuple[float, np.ndarray] | None = None
    for mask in _candidate_masks(paper):
        quad = _quad_of(mask)
        if quad is None or not _plausible(quad, paper.shape):
            continue
        support = _edge_support(paper, quad)
        if support >= MIN_SUPPORT and (best is None or support > best[0]):
            best = (support, quad)
    if best is None:
        return None
    support, quad = best
    corners = _sharpen(grey, quad * factor, factor)
    width, height, out_dpi = _flat_size(corners, (w, h), dpi)
    ordered = tuple((float(x), float(y)) for x, y in corners)
    return Sheet(corners=ordered, size=(width, height), dpi=out_dpi, support=round(support, 3))  # type: ignore[arg-type]


def warp_sheet(image: np.ndarray, sheet: Sheet) -> np.ndarray:
    """The sheet flattened: the perspective undone onto ``sheet.size``, bicubic (the page is usually
    enlarged a little towards 300 dpi)."""
    width, height = sheet.size
    src = np.float32(sheet.corners)
    dst = np.float32([(0, 0), (width, 0), (width, height), (0, height)])
    matrix = cv2.getPerspectiveTransform(src, dst)
    # The sheet's edge pixels are repeated past a corner rounded off on the photo, never the desk.
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def flatten_sheet(page: Page) -> Page:
    """The page with its photo flattened to the sheet, or the page as it is when no sheet is found
    with confidence (every scan). The flattened page's pixels are no longer the source's JPEG, and
    its ``sheet`` records the corners it was cut from."""
    if page.image.size == 0:
        return page
    sheet = find_sheet(page.image, page.dpi)
    if sheet is None:
        return page
    flat = warp_sheet(page.image, sheet)
    log.info("%s: photo of a sheet flattened to %dx%d at %.0f dpi (edges %.0f%% clear)", page.label,
             sheet.size[0], sheet.size[1], sheet.dpi, 100 * sheet.support)
    return replace(page, image=flat, dpi=sheet.dpi, source_jpeg=None, sheet=sheet.corners)


# ------------------------------------------------------------------------------------------ finding


def _desk_around(image: np.ndarray) -> bool:
    """Whether the photo's rim is mostly darker than its paper, looked at on every few pixels: a
    sheet wholly in view has desk all around it, a scan has paper (or a scanner lid on two sides).
    Every scan stops here, at the cost of a thumbnail."""
    h, w = image.shape[:2]
    step = max(1, max(h, w) // 400)
    thumb = np.ascontiguousarray(image[::step, ::step])
    if thumb.ndim == 3:
        thumb = cv2.cvtColor(thumb[..., :3], cv2.COLOR_RGB2GRAY)
    th, tw = thumb.shape
    r = max(2, round(0.02 * min(th, tw)))
    ring = np.concatenate([thumb[:r].ravel(), thumb[-r:].ravel(), thumb[:, :r].ravel(), thumb[:, -r:].ravel()])
    paper = float(np.percentile(thumb, 95))
    return float(np.mean(ring < 0.75 * paper)) >= 0.6


def _without_print(small: np.ndarray) -> np.ndarray:
    """The paper as a bright surface: a closing wider than any stroke removes print (also a seal's
    ring and a photo's detail), a blur the desk's grain."""
    k = max(5, (min(small.shape) // 60) | 1)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.GaussianBlur(closed, (0, 0), 1.5)


def _candidate_masks(paper: np.ndarray) -> list[np.ndarray]:
    """Bright regions at a few thresholds: Otsu's, and levels between the desk's and the paper's
    brightness, so a shadow over part of the sheet (paper darker there) or a light desk still
    leaves one threshold where the sheet stands alone."""
    otsu, _ = cv2.threshold(paper, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark, bright = np.percentile(paper, (5, 95))
    levels = {int(otsu)}
    for share in (0.3, 0.45, 0.6):
        levels.add(int(dark + share * (bright - dark)))
    masks = []
    for level in sorted(levels):
        _, mask = cv2.threshold(paper, level, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
        masks.append(mask)
    return masks


def _quad_of(mask: np.ndarray) -> np.ndarray | None:
    """Four corners (float, top-left first, clockwise) of the largest region, or None when its
    outline is no quadrilateral."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    hull = cv2.convexHull(outline)
    perimeter = cv2.arcLength(hull, True)
    approx = None
    for eps in (0.01, 0.02, 0.03, 0.04, 0.05):
        poly = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(poly) == 4:
            approx = poly.reshape(4, 2).astype(np.float64)
            break
        if len(poly) < 4:
            return None
    if approx is None:
        return None
    quad = _order(approx)
    return _refine(quad, outline.reshape(-1, 2).astype(np.float64))


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners clockwise on screen starting from the one nearest the top-left."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    quad = quad[np.argsort(angles)]  # clockwise on screen (y down), starting near the left
    start = int(np.argmin(quad.sum(axis=1)))
    return np.roll(quad, -start, axis=0)


def _refine(quad: np.ndarray, outline: np.ndarray) -> np.ndarray | None:
    """Each side a least-squares line through the outline's points near it (its middle 80%, away
    from a dog-eared or rounded corner), corners where neighbouring lines meet."""
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        d = b - a
        length = float(np.hypot(*d))
        if length < 1:
            return None
        u = d / length
        n = np.array([-u[1], u[0]])
        rel = outline - a
        along = rel @ u
        across = np.abs(rel @ n)
        near = (along > 0.1 * length) & (along < 0.9 * length) & (across < max(3.0, 0.02 * length))
        pts = outline[near]
        if len(pts) < 10:
            lines.append((a, u))
            continue
        vx, vy, x0, y0 = cv2.fitLine(pts.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
    return _meet(lines)


def _sharpen(grey: np.ndarray, quad: np.ndarray, factor: float) -> np.ndarray:
    """The corners at full resolution: along each side, the strongest rise from desk to paper within
    a few small pixels of the side found on the small copy, a robust line through those points,
    then moved inward by ``INSET`` so the blurred band where paper meets desk stays out of the page.
    A side whose points do not hold together keeps the line found on the small copy."""
    h, w = grey.shape
    reach = max(4.0, 2.5 * factor)
    steps = np.arange(-reach, reach + 1.0)
    inset = max(2.0, INSET * max(h, w))
    smooth = cv2.GaussianBlur(grey, (0, 0), max(1.0, factor / 2)) if factor > 1 else grey
    centre = quad.mean(axis=0)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        d = b - a
        u = d / max(1e-9, float(np.hypot(*d)))
        n = np.array([-u[1], u[0]])
        if (centre - a) @ n < 0:
            n = -n  # into the sheet
        t = np.linspace(0.1, 0.9, 60)
        base = a[None, :] + t[:, None] * d[None, :]
        # Brightness along each normal, outside to inside; the edge is where it rises most.
        pts = base[:, None, :] + steps[None, :, None] * n[None, None, :]
        xs = np.clip(pts[..., 0], 0, w - 1).astype(np.float32)
        ys = np.clip(pts[..., 1], 0, h - 1).astype(np.float32)
        profile = cv2.remap(smooth, xs, ys, cv2.INTER_LINEAR).astype(np.float64)
        rise = np.diff(profile, axis=1)
        at = np.argmax(rise, axis=1)
        strong = rise[np.arange(len(at)), at] >= 3.0
        edge = base + (steps[at] + 0.5)[:, None] * n[None, :]
        kept = edge[strong]
        if len(kept) >= 20:
            vx, vy, x0, y0 = cv2.fitLine(kept.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            p0, dv = np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)
        else:
            p0, dv = a, u
        lines.append((p0 + inset * n, dv))
    corners = _meet(lines)
    if corners is None or np.abs(corners - quad).max() > 2 * reach + 2 * inset:
        return quad  # the lines did not hold together: the small copy's corners, not a guess
    return corners


def _meet(lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray | None:
    """Corner i where side i-1 meets side i (sides as point and direction)."""
    corners = []
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        den = d1[0] * d2[1] - d1[1] * d2[0]
        if abs(den) < 1e-6:
            return None
        t = ((p2[0] - p1[0]) * d2[1] - (p2[1] - p1[1]) * d2[0]) / den
        corners.append(p1 + t * d1)
    return np.array(corners)


def _plausible(quad: np.ndarray, shape: tuple[int, int]) -> bool:
    """A whole sheet in view, of a sensible size, convex, its corners neither sharp nor flat."""
    h, w = shape
    margin_x, margin_y = EDGE_MARGIN * w, EDGE_MARGIN * h
    if np.any(quad[:, 0] < margin_x) or np.any(quad[:, 0] > w - 1 - margin_x) \
            or np.any(quad[:, 1] < margin_y) or np.any(quad[:, 1] > h - 1 - margin_y):
        return False
    area = abs(cv2.contourArea(quad.astype(np.float32)))
    if not MIN_AREA * h * w <= area <= MAX_AREA * h * w:
        return False
    if not cv2.isContourConvex(quad.astype(np.float32).reshape(-1, 1, 2)):
        return False
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        v1, v2 = a - b, c - b
        cos = float(v1 @ v2 / (np.linalg.norm(v1) * np.linalg.norm(v2)))
        if not MIN_ANGLE <= math.degrees(math.acos(max(-1.0, min(1.0, cos)))) <= MAX_ANGLE:
            return False
    return True


def _edge_support(paper: np.ndarray, quad: np.ndarray) -> float:
    """The weakest side's share of points where the paper a little inside the side is clearly
    brighter than the surface a little outside it (MIN_STEP grey levels, and a fifth brighter)."""
    h, w = paper.shape
    offset = max(3.0, 0.008 * max(h, w))
    centre = quad.mean(axis=0)
    weakest = 1.0
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        t = np.linspace(0.08, 0.92, 48)[:, None]
        pts = a + t * (b - a)
        d = b - a
        n = np.array([-d[1], d[0]]) / max(1e-9, float(np.hypot(*d)))
        if (centre - a) @ n < 0:
            n = -n  # pointing into the sheet
        inside = _sample(paper, pts + offset * n)
        outside = _sample(paper, pts - offset * n)
        ok = (inside - outside >= MIN_STEP) & (inside >= 1.2 * outside)
        weakest = min(weakest, float(np.mean(ok)))
    return weakest


def _sample(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    h, w = image.shape
    x = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    return image[y, x].astype(np.float64)


# ------------------------------------------------------------------------------------------ sizing


def aspect_ratio(corners: np.ndarray, frame: tuple[int, int]) -> float:
    """Width over height of the real sheet behind a perspective quad (top-left, top-right,
    bottom-right, bottom-left) on a photo of ``frame`` (width, height).

    The sides' lengths on the photo do not give it: the far side is shortened by the tilt. With the
    camera's principal point at the frame's centre and square pixels, the quad and the camera's
    focal length give the true proportion (the rectangle-from-homography relation used for photos of
    whiteboards). The focal length itself can be read off the quad only when both pairs of opposite
    sides converge clearly (a camera tilted about one axis, the usual photo of a page, gives one
    vanishing point and no focal length); otherwise a phone's main camera is assumed, 0.65 times
    the frame's diagonal (26 mm-equivalent lenses give 0.6, and the A-series tolerance absorbs the
    difference between phones)."""
    w, h = frame
    c = np.array([w / 2, h / 2])
    tl, tr, br, bl = (np.append(np.asarray(p, np.float64) - c, 1.0) for p in corners)
    k2 = np.dot(np.cross(tl, br), bl) / np.dot(np.cross(tr, br), bl)
    k3 = np.dot(np.cross(tl, br), tr) / np.dot(np.cross(bl, br), tr)
    n2 = k2 * tr - tl  # the sheet's horizontal side, as the camera sees its direction
    n3 = k3 * bl - tl  # its vertical side
    diag = math.hypot(w, h)
    f2 = (PHONE_FOCAL * diag) ** 2
    sides = [float(np.hypot(*(np.asarray(corners[(i + 1) % 4]) - np.asarray(corners[i])))) for i in range(4)]
    converge_lr = 1 - min(sides[0], sides[2]) / max(sides[0], sides[2])  # left and right sides meet
    converge_tb = 1 - min(sides[1], sides[3]) / max(sides[1], sides[3])  # top and bottom sides meet
    if converge_lr >= 0.05 and converge_tb >= 0.05 and abs(n2[2] * n3[2]) > 1e-12:
        measured = -(n2[0] * n3[0] + n2[1] * n3[1]) / (n2[2] * n3[2])
        if math.isfinite(measured) and (0.45 * diag) ** 2 <= measured <= (1.6 * diag) ** 2:
            f2 = measured
    across = (n2[0] ** 2 + n2[1] ** 2) / f2 + n2[2] ** 2
    down = (n3[0] ** 2 + n3[1] ** 2) / f2 + n3[2] ** 2
    return float(math.sqrt(across / down))


def _flat_size(corners: np.ndarray, frame: tuple[int, int], dpi: float) -> tuple[int, int, float]:
    """(width, height, dpi) of the flattened page: A4 at 300 dpi for an A-series sheet (its scale on
    the photo says nothing of its size; A4 is what offices hold), otherwise the sheet's measured
    proportions at the size it covers on the photo, at the stated resolution or the one its length
    would have as an A4 sheet's, whichever is higher."""
    ratio = aspect_ratio(corners, frame)
    portrait = ratio <= 1.0
    long_over_short = 1.0 / ratio if portrait else ratio
    if abs(long_over_short - A_SERIES) <= A_SERIES_TOLERANCE * A_SERIES:
        short, long = (round(mm / 25.4 * OUT_DPI) for mm in A4_MM)
        return (short, long, OUT_DPI) if portrait else (long, short, OUT_DPI)
    sides = [float(np.hypot(*(corners[(i + 1) % 4] - corners[i]))) for i in range(4)]
    long_px = max(sides)
    short_px = long_px / long_over_short
    width, height = (short_px, long_px) if portrait else (long_px, short_px)
    # Phones state 72 dpi whatever they photograph; a sheet no longer than A4 is at least this sharp.
    dpi = max(dpi, long_px / (A4_MM[1] / 25.4))
    return max(1, round(width)), max(1, round(height)), round(dpi, 1)
