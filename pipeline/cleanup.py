"""Clean-up: from a scan to the image Tesseract reads best, without touching the scan itself.

Two images per page. ``Page.image`` stays the original pixels, only turned upright by a lossless
quarter turn (a certified copy must show what the original shows). ``Page.ocr_image`` is made for
Tesseract alone: the red ink of seals dropped out, resampled to about 300 dpi, illumination flattened
(uneven light defeats Tesseract's global threshold), deskewed, black scanner borders, signatures,
horizontal rules and speckles removed, binarised with Otsu after
flattening (a global threshold on a flat background keeps the small Vietnamese diacritics that
adaptive thresholds and morphological openings eat).

Steps, in order (each a small function, so "where does deskew happen?" has one answer):
``drop_red_ink`` → ``working_scale`` → ``flatten`` → ``binarize`` → ``remove_borders`` → ``is_blank`` →
``detect_orientation`` (with the skew angle) → ``deskew`` → ``ocr_image`` (with ``remove_scribbles`` and
``_erase_rules``).

Coordinates: ``ocr_image`` pixel (x, y) maps back to the upright original through
:func:`ocr_to_image` (undo the deskew about the centres, then undo the working scale).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from statistics import median

import cv2
import numpy as np

from core.errors import ExternalToolError
from core.model import Page, PageFlag, PageWarning
from pipeline import sheet, tesseract

log = logging.getLogger(__name__)

TARGET_DPI = 300.0
# Below: upsample to TARGET_DPI (Tesseract wants x-heights of 20+ pixels). 200 dpi scans are read as
# they are: enlarged to 300 they read no better (OCR bench pages at 200 dpi, 12 a seed: seed 1 0.09%
# as they are against 0.08% enlarged, held-out seed 2 0.06% against 0.21%).
MIN_DPI = 200.0
MAX_DPI = 400.0  # above: downsample to TARGET_DPI (more pixels only cost time)
MAX_OCR_PIXELS = 40_000_000  # very large pages (posters, plans) are capped for OCR
MAX_SKEW = 10.0
INK_MAX_LEVEL = 215  # after flattening the paper is ~255; ink is darker than this
PAPER_LEVEL = 200  # flattened grey above this is paper (noise, stains) and becomes white


def working_scale(height: int, width: int, dpi: float) -> float:
    """The factor from the upright original to the OCR image (deterministic: OCR maps boxes back
    with the same function)."""
    dpi = dpi if dpi and dpi > 0 else TARGET_DPI
    scale = TARGET_DPI / dpi if (dpi < MIN_DPI or dpi > MAX_DPI) else 1.0
    pixels = height * width * scale * scale
    if pixels > MAX_OCR_PIXELS:
        scale *= math.sqrt(MAX_OCR_PIXELS / pixels)
    return scale


def to_grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


RED_INK_MARGIN = 35  # red exceeds both green and blue by this much: a seal's ink, not print
RED_BAND_ROWS = 256


def _redness(rgb: np.ndarray) -> np.ndarray:
    """How much red exceeds both green and blue, 0 where it does not (saturating uint8)."""
    return cv2.subtract(np.ascontiguousarray(rgb[..., 0]), cv2.max(rgb[..., 1], rgb[..., 2]))


def drop_red_ink(image: np.ndarray) -> np.ndarray:
    """Grey page with the red ink of seals (con dấu) dropped out, for OCR and its decisions only.

    A seal is stamped over the signer's title and name; left in, Tesseract takes seal, signature
    and name for one picture and reads none of it. In the red channel red ink is as light as the
    paper while black print stays dark, even where the seal covers it, so a pixel that is clearly
    red takes its red value. Blue is kept: signatures and hand- or typed-in values are blue ink.
    Red is looked for on a sample of the pixels first and only its regions are treated at full size.
    """
    grey = to_grey(image)
    if image.ndim != 3 or image.shape[2] < 3:
        return grey
    factor = 4
    # Every fourth pixel of every fourth row: a seal's ring and star are several pixels thick, and
    # the whole region of what is found is treated at full size.
    small = cv2.compare(_redness(np.ascontiguousarray(image[::factor, ::factor, :3])), RED_INK_MARGIN,
                        cv2.CMP_GT)
    if not cv2.countNonZero(small):
        return grey
    count, _, stats = components(cv2.dilate(small, np.ones((5, 5), np.uint8)))
    h, w = grey.shape
    for k in range(1, count):
        x, y, bw, bh = (int(v) for v in stats[k, :4])
        x0, y0 = max(0, (x - 1) * factor), max(0, (y - 1) * factor)
        x1, y1 = min(w, (x + bw + 1) * factor), min(h, (y + bh + 1) * factor)
        # In bands of rows: a seal can span the page (a certificate's red frame), and a page-sized
        # temporary per colour channel would double clean-up's peak memory.
        for top in range(y0, y1, RED_BAND_ROWS):
            bottom = min(y1, top + RED_BAND_ROWS)
            region = image[top:bottom, x0:x1]
            red = _redness(region) > RED_INK_MARGIN
            # In place: ``grey`` is cvtColor's new array, nothing else holds it.
            np.copyto(grey[top:bottom, x0:x1], region[..., 0], where=red)
    return grey


def components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, labels, stats) of the 8-connected marks of a 0/non-0 mask, label 0 the background.

    Block-based labelling (BBDT): on one thread it labels a page with statistics about three times
    faster than OpenCV's default algorithm, and clean-up labels five masks a page."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)
    return count, labels, stats


def resample(grey: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-3:
        return grey
    h, w = grey.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Area average over ``factor`` x ``factor`` blocks, the last block row and column padded by
    repeating the edge. OpenCV averages whole blocks several times faster than a fractional
    scale (a page-sized resize drops from about 16 ms to 3), and clean-up makes four such copies a
    page. The result covers ``ceil(h / factor) x ceil(w / factor)`` blocks."""
    if factor <= 1:
        return image
    h, w = image.shape[:2]
    pad_h, pad_w = -h % factor, -w % factor
    if pad_h or pad_w:
        image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
    return cv2.resize(image, ((w + pad_w) // factor, (h + pad_h) // factor), interpolation=cv2.INTER_AREA)


def _grow(small: np.ndarray, factor: int, shape: tuple[int, int], interpolation: int) -> np.ndarray:
    """The inverse of :func:`shrink`: back to ``shape`` (the padding dropped)."""
    h, w = shape
    big = cv2.resize(small, (small.shape[1] * factor, small.shape[0] * factor), interpolation=interpolation)
    return np.ascontiguousarray(big[:h, :w]) if big.shape[:2] != (h, w) else big


def flatten(grey: np.ndarray) -> np.ndarray:
    """Divide by an estimate of the paper's brightness, so the background becomes uniformly white.

    The background is estimated on a small copy (a max filter wider than strokes removes the ink,
    a median smooths the rest) and scaled back up: cheap, and shading varies slowly anyway.
    """
    h, w = grey.shape
    # Blocks of at least 4x4 pixels: the max filter below must see averaged paper, not the grain of
    # its noise, or on a small page (an ID card, a receipt) it takes the brightest speck for the
    # paper and leaves the shaded side a field of grey specks.
    factor = max(4, min(h, w) // 400)
    small = shrink(grey, factor)
    k = max(3, (31 // factor) | 1)
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    bg = cv2.medianBlur(bg, 5 if min(bg.shape) > 5 else 1) if min(bg.shape) > 5 else bg
    bg = cv2.GaussianBlur(bg, (0, 0), max(1.0, k / 2))
    bg = np.maximum(bg, 1)  # on the small copy: interpolating values of 1 or more stays 1 or more
    bg = _grow(bg, factor, (h, w), cv2.INTER_LINEAR)
    flat = cv2.divide(grey, bg, scale=255)
    return flat


def binarize(flat: np.ndarray) -> np.ndarray:
    """Otsu on the flattened page; ink is 0, paper 255. A light median first removes salt noise
    without touching dots the size of a diacritic."""
    smooth = cv2.medianBlur(flat, 3)
    otsu, _ = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # On a page with no ink Otsu splits the paper's own grain in two; nothing that close to the
    # (flattened, white) paper is ink.
    level = min(otsu, INK_MAX_LEVEL)
    _, binary = cv2.threshold(smooth, level, 255, cv2.THRESH_BINARY)
    return binary


def remove_borders(binary: np.ndarray) -> np.ndarray:
    """Erase dark regions touching the image edge that are far larger than any glyph (scanner lids,
    page shadows). Found on a quarter-size copy: borders are big, and labelling is the costly part."""
    h, w = binary.shape
    factor = 4 if min(h, w) >= 400 else 1
    # A small pixel is ink when at least half of what it covers was (ink is 0 in ``binary``); no
    # page-sized ink mask is made for this.
    small = (shrink(binary, factor) < 128).astype(np.uint8)
    sh, sw = small.shape
    count, labels, stats = components(small)
    if count <= 1:
        return binary
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    touches = (x == 0) | (y == 0) | (x + bw >= sw) | (y + bh >= sh)
    border = touches & ((bw >= 0.2 * sw) | (bh >= 0.2 * sh))
    border[0] = False
    if not border.any():
        return binary
    mask = border[labels].astype(np.uint8) * 255
    if factor > 1:
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        mask = _grow(mask, factor, (h, w), cv2.INTER_NEAREST)
    return cv2.max(binary, mask)  # ink under the border mask becomes paper; paper stays paper


def is_blank(binary: np.ndarray, dpi: float = TARGET_DPI) -> bool:
    """No glyph-sized marks at all (borders gone; specks do not count). Counted at half size."""
    h, w = binary.shape
    if h * w - cv2.countNonZero(binary) < 0.0002 * h * w:
        return True
    # Ink is 0 in ``binary``; a half-size pixel is ink when three of its four pixels were.
    half = shrink(binary, 2)
    _, _, stats = components((half < 96).astype(np.uint8))
    min_h = 0.5 * dpi / 25.4 / 2  # half a millimetre high, at half size
    glyphs = int(np.sum((stats[1:, cv2.CC_STAT_HEIGHT] >= min_h) & (stats[1:, cv2.CC_STAT_AREA] >= 4)))
    return glyphs < 5


def _ink_small(binary: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """A small 0/1 ink mask (for angle and orientation searches) and its downscale factor, a whole
    number so OpenCV averages whole blocks (a fractional area resize of the page cost five times
    as much, and the searches ran two of them a page)."""
    factor = max(1, round(max(binary.shape[:2]) / max_side))
    # Ink is 0 in ``binary``: a small pixel is ink when more than 40/255 of it was, read straight off
    # the shrunk binary page (no page-sized 0/255 ink copy to make first).
    return (shrink(binary, factor) < 255 - 40).astype(np.uint8), factor


def _rotate_small(mask: np.ndarray, angle: float) -> np.ndarray:
    if abs(angle) < 1e-6:
        return mask
    h, w = mask.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)


def _profile_score(mask: np.ndarray, angle: float) -> float:
    # OpenCV's row sums are several times faster than numpy's on a uint8 mask (the search runs this
    # some sixty times a page); the sums are exact integers either way.
    rows = cv2.reduce(_rotate_small(mask, angle), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel().astype(np.float64)
    d = np.diff(rows)
    return float(np.dot(d, d))


def _best_angle(mask: np.ndarray, *, fine: bool = True) -> tuple[float, float]:
    """(angle, score): the rotation making rows sharpest. Coarse 1° steps over ±10° on a half-size
    copy (the coarse step only has to land within a degree), then 0.1° steps on the mask, then a
    parabola through the best three for hundredths. The score is the coarse one, so scores of two
    masks of one size compare."""
    h, w = mask.shape
    half = cv2.resize(mask, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_NEAREST) if min(h, w) >= 200 \
        else mask
    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 1.0)
    scores = [_profile_score(half, a) for a in coarse]
    score = float(max(scores))
    best = float(coarse[int(np.argmax(scores))])
    if not fine:
        return best, score
    steps = np.arange(best - 0.9, best + 0.901, 0.1)
    scores = [_profile_score(mask, a) for a in steps]
    i = int(np.argmax(scores))
    best = float(steps[i])
    if 0 < i < len(steps) - 1:
        y0, y1, y2 = scores[i - 1], scores[i], scores[i + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            best += 0.1 * 0.5 * (y0 - y2) / den
    return round(best, 2), score


def estimate_skew(binary: np.ndarray) -> float:
    """Projection-profile deskew: the angle (degrees, OpenCV's sign: positive turns the image
    counter-clockwise) that makes text rows sharpest."""
    small, _ = _ink_small(binary, 900)
    if small.sum() < 50:
        return 0.0
    return _best_angle(small)[0]


def _glyphs_only(mask: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Keep marks of glyph size: frames, rules, photos and hatching would otherwise join whole
    blocks into one 'line' and swamp the profiles."""
    _, labels, stats = components(mask)
    hs, ws = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH]
    area = stats[:, cv2.CC_STAT_AREA]
    keep = (
        (hs >= max(2, 0.4 * px_per_mm)) & (hs <= 7 * px_per_mm) & (ws <= 20 * px_per_mm)
        & (area <= 0.8 * hs * ws + 1)
    )
    keep[0] = False
    return keep[labels].astype(np.uint8)


def _up_down(mask: np.ndarray) -> tuple[float, int]:
    """Evidence that text is upright: per text line, ink above the x-height band (capitals,
    ascenders, Vietnamese tone marks) against ink below it (descenders, dot-below), as
    (above - below) / (above + below). Returns (the median over the lines, number of lines used).

    The median, not the pooled ink: a QR code, a fingerprint or a photo on a copied ID card is one
    "line" heavy with ink and no up or down to it, and pooled it outweighed the card's real lines
    (5 of 199 pages of the extraction bench turned the wrong way; none with the median).
    """
    rows = mask.sum(axis=1).astype(np.float64)
    on = rows > 0
    evidence: list[float] = []
    n = len(rows)
    i = 0
    while i < n:
        if not on[i]:
            i += 1
            continue
        j = i
        while j < n and (on[j] or (j + 1 < n and on[j + 1]) or (j + 2 < n and on[j + 2])):
            j += 1
        seg = rows[i:j]
        i = j
        if len(seg) < 6:
            continue
        peak = seg.max()
        core = np.flatnonzero(seg >= 0.5 * peak)
        top, bottom = core[0], core[-1]
        if bottom - top < 2:
            continue
        above, below = seg[:top].sum(), seg[bottom + 1 :].sum()
        if above + below:
            evidence.append((above - below) / (above + below))
    return (float(median(evidence)) if evidence else 0.0), len(evidence)


def deskew(image: np.ndarray, angle: float, fill: int = 255) -> np.ndarray:
    """Rotate by ``angle`` about the centre onto a canvas grown to keep the corners."""
    if abs(angle) < 0.05:
        return image
    h, w = image.shape[:2]
    rad = math.radians(abs(angle))
    nw = math.ceil(w * math.cos(rad) + h * math.sin(rad))
    nh = math.ceil(h * math.cos(rad) + w * math.sin(rad))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill)


def ocr_to_image(
    x: float, y: float, *, ocr_shape: tuple[int, ...], image_shape: tuple[int, ...], dpi: float, angle: float
) -> tuple[float, float]:
    """Map a point of the OCR image back to the upright original image."""
    scale = working_scale(image_shape[0], image_shape[1], dpi)
    work_w, work_h = max(1, round(image_shape[1] * scale)), max(1, round(image_shape[0] * scale))
    if abs(angle) >= 0.05:
        cx, cy = ocr_shape[1] / 2, ocr_shape[0] / 2
        rad = math.radians(angle)
        dx, dy = x - cx, y - cy
        # Inverse of OpenCV's rotation by +angle (counter-clockwise on screen, y down).
        x = dx * math.cos(rad) - dy * math.sin(rad) + work_w / 2
        y = dx * math.sin(rad) + dy * math.cos(rad) + work_h / 2
    return x / scale, y / scale


STRONG_EVIDENCE = 0.2  # |up/down evidence| from which the page's own marks decide its turn alone...
STRONG_LINES = 5  # ...measured over at least this many lines (three were a word, a table row and a rule)
READING_BAND_MM = 60  # height of the band of text read in each candidate turn when they do not
MIN_READING = 3.0  # a reading trusted less than this (about three words) decides nothing
DECISIVE = 1.5  # the best turn must read this many times better than the next


def detect_orientation(binary: np.ndarray, label: str) -> tuple[int, float, PageFlag | None]:
    """(clockwise quarter turn that makes the page upright, skew angle of the page once turned, and
    an ``ORIENTATION_UNCERTAIN`` flag when no evidence decided the turn).

    Our own test first, as it costs milliseconds: text rows give a sharp horizontal projection
    profile only when lines run across (0/180 against 90/270), and once level, Latin script
    carries more ink above the x-height band than below (more still in Vietnamese, with its tone
    marks). When that evidence is weak — a page of capitals, a heavy underlined form, a strong
    shadow — a page turned the wrong way would be read as garbage and certified upside down, so
    the page is read instead: a band of its text in each candidate turn, the turn whose words
    Tesseract trusts most wins (:func:`_read_each_way`). Tesseract's OSD is not asked: on pages it
    was sure of it turned upright serif pages upside down.
    """
    px_per_mm = TARGET_DPI / 25.4
    small, factor = _ink_small(binary, 900)
    small = _glyphs_only(small, px_per_mm / factor)
    if small.sum() < 50:
        return 0, 0.0, None
    angle, score = _best_angle(small)
    _, score_t = _best_angle(np.ascontiguousarray(small.T), fine=False)
    turned = 90 if score_t > 1.3 * score else 0
    # The finer mask is turned, not the page: a quarter turn of a page-sized array costs more than
    # making the mask.
    half, factor = _ink_small(binary, 1800)
    half = _glyphs_only(turn(half, turned), px_per_mm / factor)
    if turned:
        # Turned 90° clockwise; whether it should have been 270° the up/down test tells next.
        angle = _best_angle(np.ascontiguousarray(np.rot90(small, k=-1)))[0]
    evidence, lines = _up_down(_rotate_small(half, angle))
    log.debug("%s: rows %.3g vs columns %.3g, up/down evidence %.3f over %d lines", label, score, score_t,
              evidence, lines)
    guess = (turned + (180 if evidence < 0 else 0)) % 360
    if lines >= STRONG_LINES and abs(evidence) >= STRONG_EVIDENCE:
        return guess, angle, None  # a half turn leaves a skew angle as it is
    # Weak evidence puts the axis in doubt too: the columns of a monospaced page profile as
    # sharply as its rows, and a page turned a quarter has no up or down to measure.
    candidates = [guess, (guess + 180) % 360, (guess + 90) % 360, (guess + 270) % 360]
    rotation, certainty = _read_each_way(binary, candidates, angle if not turned else None, label)
    if rotation is None:
        # Neither the marks nor a reading tell (a map, a photo, a page of rules and a word): the
        # page stays as it was scanned, on the axis its rows give it, and is flagged for a person.
        log.warning("%s: orientation not determined; the page is left as scanned", label)
        return turned, angle, PageFlag(PageWarning.ORIENTATION_UNCERTAIN, round(certainty, 3))
    if rotation == guess:
        return guess, angle, None
    if (rotation - guess) % 180 == 0:
        return rotation, angle, None
    return rotation, estimate_skew(turn(binary, rotation)), None


def _reading_score(found: list[tesseract.TessWord]) -> float:
    """How much of a reading Tesseract trusts: its confidence summed over the words of two letters
    or more. Text upside down reads as few, short, doubtful words."""
    return sum(max(0.0, w.confidence) / 100 for w in found if sum(ch.isalpha() for ch in w.text) >= 2)


def _text_band(page: np.ndarray) -> np.ndarray:
    """The band of ``READING_BAND_MM`` with the most ink, the page's full width (ink is 0)."""
    rows = cv2.reduce(255 - page, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel().astype(np.float64)
    height = min(len(rows), round(READING_BAND_MM * TARGET_DPI / 25.4))
    sums = np.convolve(rows, np.ones(height), mode="valid")
    top = int(np.argmax(sums)) if len(sums) else 0
    return page[top:top + height]


def _read_each_way(binary: np.ndarray, candidates: list[int], angle: float | None,
                   label: str) -> tuple[int | None, float]:
    """The candidate turn whose band of text reads best, or None when no reading is trusted enough
    (under ``MIN_READING``) or none reads ``DECISIVE`` times better than the next (logged as a
    warning with the scores); with how far the best reading leads, 0.0 (no lead, or nothing read)
    to 1.0 (nothing else read at all).

    ``angle`` is the skew of the page in the first candidate's axis (None to measure it in each
    axis)."""
    bands: dict[int, np.ndarray] = {}
    for rotation in candidates:
        opposite = (rotation + 180) % 360
        if opposite in bands:
            bands[rotation] = turn(bands[opposite], 180)  # the same text, the other way up
        else:
            page = turn(binary, rotation)
            skew = angle if angle is not None and (rotation - candidates[0]) % 180 == 0 else estimate_skew(page)
            bands[rotation] = _text_band(deskew(page, skew))
    try:
        # Every band in one Tesseract run, each read as it is alone: its start-up is paid once, not
        # once a candidate.
        readings = tesseract.words_of_images([bands[rotation] for rotation in candidates], lang="vie", psm=6)
    except ExternalToolError as exc:
        log.warning("%s: orientation reading failed (%s)", label, exc)
        return None, 0.0
    scores = {rotation: _reading_score(words) for rotation, words in zip(candidates, readings, strict=True)}
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    best = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    lead = (1.0 - runner_up / scores[best]) if scores[best] > 0 else 0.0
    if scores[best] < MIN_READING or scores[best] < DECISIVE * runner_up:
        log.warning("%s: orientation reading undecided: turn %d° reads %.1f, turn %d° %.1f", label, best,
                    scores[best], ranked[1] if len(ranked) > 1 else best, runner_up)
        return None, lead * min(1.0, scores[best] / MIN_READING)
    log.info("%s: turn %d° chosen by reading (%.1f against %.1f)", label, best, scores[best], runner_up)
    return best, lead


def turn(image: np.ndarray, degrees: int) -> np.ndarray:
    """Lossless clockwise quarter turn."""
    k = (degrees // 90) % 4
    if not k:
        return image
    if image.dtype == np.uint8 and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] <= 4)):
        # OpenCV's turn is a few times faster than copying numpy's strided view of a whole page.
        return cv2.rotate(image, _CV_TURNS[k])
    return np.ascontiguousarray(np.rot90(image, k=-k))


_CV_TURNS = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}


SCRIBBLE_MIN_PX = 110  # at 300 dpi, about 9 mm: taller and wider than any glyph with its marks
SCRIBBLE_MAX_FILL = 0.25  # share of its bounding box a mark covers: strokes, not a solid blob
SCRIBBLE_MAX_STRAIGHT = 0.65  # share of its ink on long straight runs: below, not a rule or frame


def remove_scribbles(ocr: np.ndarray, paper_level: int = PAPER_LEVEL) -> np.ndarray:
    """Erase signatures and other hand-drawn strokes larger than any glyph (a new image).

    A signature sits just above the signer's printed name; Tesseract joins the two into one line
    and either reads the scribble as a row of letters ("-YYY>") or drops the whole line, name and
    all. A signature is one connected mark far taller and wider than a glyph, thin (it covers
    little of its box) and curved. Frames, tables and rules are as large and as thin but lie on
    long straight runs, and stay.
    """
    out = ocr.copy()
    _erase_scribbles(out, paper_level)
    return out


def _erase_scribbles(ocr: np.ndarray, paper_level: int = PAPER_LEVEL) -> None:
    """:func:`remove_scribbles` in place. Marks are found and judged at a quarter of the size (they
    are large, and a page-sized label image would be the largest array of the clean-up) and
    erased at full size."""
    factor = 4
    ink = cv2.compare(shrink(ocr, factor), paper_level, cv2.CMP_LT)
    _, labels, stats = components(ink)
    x, y, w, h, area = (stats[:, i] for i in range(5))
    least = SCRIBBLE_MIN_PX // factor
    big = (h >= least) & (w >= least) & (area < SCRIBBLE_MAX_FILL * w * h)
    big[0] = False
    run = 41 // factor  # a straight run longer than strokes of handwriting
    horizontal = cv2.getStructuringElement(cv2.MORPH_RECT, (run, 1))
    vertical = cv2.getStructuringElement(cv2.MORPH_RECT, (1, run))
    for k in np.flatnonzero(big):
        box = (slice(y[k], y[k] + h[k]), slice(x[k], x[k] + w[k]))
        mark = cv2.compare(labels[box], int(k), cv2.CMP_EQ)
        straight = cv2.bitwise_or(cv2.morphologyEx(mark, cv2.MORPH_OPEN, horizontal),
                                  cv2.morphologyEx(mark, cv2.MORPH_OPEN, vertical))
        if cv2.countNonZero(straight) >= SCRIBBLE_MAX_STRAIGHT * area[k]:
            continue
        region = ocr[y[k] * factor:(y[k] + h[k]) * factor, x[k] * factor:(x[k] + w[k]) * factor]
        full = cv2.resize(cv2.dilate(mark, np.ones((3, 3), np.uint8)), (region.shape[1], region.shape[0]),
                          interpolation=cv2.INTER_NEAREST)
        region[full > 0] = 255


RULE_MIN_PX = 100  # at 300 dpi, 8.5 mm: longer than any horizontal stroke of a letter


def _erase_rules(ocr: np.ndarray, paper_level: int = PAPER_LEVEL) -> None:
    """Erase horizontal rules in place: the lines of a ruled form, table borders, underlines.

    A value printed on a form's rule touches it with its descenders and dot-below marks, and
    Tesseract then reads the line as part of the text ("PHANHÔNGHOÀI HẠNH -") or drops the value
    altogether. Only the rule's own pixels go (a morphological opening along rows finds ink runs
    longer than any letter), so marks touching it keep everything but the rows they share with
    it. Vertical rules stay: removing them lost more than it gained on our samples.

    The opening runs only on the rows that can hold a rule: a copy a quarter as wide, where a
    small pixel is ink when any of its four was, has a run of at least a quarter of the length
    wherever the page has one (most pages have no rule, and a page-wide opening cost 30 ms).
    """
    w = ocr.shape[1]
    factor = 4
    narrow = cv2.erode(ocr, np.ones((1, factor), np.uint8), anchor=(0, 0))[:, : w - w % factor: factor]
    if narrow.size == 0:
        return
    ink = cv2.compare(narrow, paper_level, cv2.CMP_LT)
    length = RULE_MIN_PX // factor - 1  # a run of RULE_MIN_PX covers at least this many whole blocks
    found = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    rows = np.flatnonzero(cv2.reduce(found, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel())
    if not len(rows):
        return
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (RULE_MIN_PX, 1))
    # Consecutive candidate rows are opened together; the kernel is one row high, so each band
    # gives exactly what the page-wide opening gives on its rows.
    breaks = np.flatnonzero(np.diff(rows) > 1)
    for start, stop in zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]], strict=True):
        band = ocr[start:stop + 1]
        rules = cv2.morphologyEx(cv2.compare(band, paper_level, cv2.CMP_LT), cv2.MORPH_OPEN, kernel)
        cv2.max(band, rules, dst=band)  # rules are 255: paper there; elsewhere the page as it was


LEADER_MIN_DOTS = 6  # a run of at least this many dots on one baseline is a dot leader
LEADER_MAX_DOT_PX = 14  # at 300 dpi, 1.2 mm: larger than the full stop of any body size
LEADER_MAX_GAP_PX = 30  # at 300 dpi, 2.5 mm between the centres of two dots of one leader


def _erase_leaders(ocr: np.ndarray, paper_level: int = PAPER_LEVEL) -> None:
    """Erase dot leaders in place: the rows of dots of a form's blanks ("Họ tên: ..........").

    Tesseract reads a leader as a string of symbols and letters ("1111 HH TH cv") and, worse, the
    recogniser loses the label beside it in the same line ("Quê quán" read "QUÊ QUÁ", "Dân tộc"
    read "Dân tỘC"). A leader is a run of small round marks of one size on one baseline at a
    regular pitch; no Vietnamese text makes such a run (the dots of i and of the dot-below tone
    sit between letters, which break the run). Found on a half-size copy, erased at full size.
    """
    factor = 2
    ink = cv2.compare(shrink(ocr, factor), paper_level, cv2.CMP_LT)
    count, _, stats = components(ink)
    if count <= LEADER_MIN_DOTS:
        return
    x, y, w, h, area = (stats[1:, i].astype(np.float64) for i in range(5))
    most = LEADER_MAX_DOT_PX / factor
    dot = (w <= most) & (h <= most) & (w >= 1) & (h >= 1) & (w <= 2 * h) & (h <= 2 * w) & (area >= 0.4 * w * h)
    idx = np.flatnonzero(dot)
    if len(idx) < LEADER_MIN_DOTS:
        return
    cx, cy = x[idx] + w[idx] / 2, y[idx] + h[idx] / 2
    # Every mark of a page, dots or not, in rows: a run is broken by any other mark between two dots.
    others = np.flatnonzero(~dot)
    gap = LEADER_MAX_GAP_PX / factor
    # Left to right, each dot extends the open run whose last dot sits on its baseline just before it.
    runs: list[list[int]] = []
    open_runs: list[list[int]] = []
    for k in np.argsort(cx, kind="stable"):
        open_runs = [r for r in open_runs if cx[k] - cx[r[-1]] <= gap]
        for r in open_runs:
            if abs(cy[k] - cy[r[-1]]) <= 1.5 and cx[k] > cx[r[-1]]:
                r.append(int(k))
                break
        else:
            new_run = [int(k)]
            runs.append(new_run)
            open_runs.append(new_run)
    boxes = []
    for run in runs:
        if len(run) < LEADER_MIN_DOTS:
            continue
        steps = np.diff(cx[run])
        if np.std(steps) > 0.35 * np.median(steps):
            continue  # not a regular pitch
        x0, x1 = x[idx[run]].min(), (x[idx[run]] + w[idx[run]]).max()
        y0, y1 = y[idx[run]].min(), (y[idx[run]] + h[idx[run]]).max()
        inside = others[(x[others] >= x0) & (x[others] + w[others] <= x1) & (y[others] + h[others] >= y0)
                        & (y[others] <= y1)]
        if len(inside):
            continue  # letters among the dots: text, not a leader
        boxes.append((int(x0), int(y0), int(x1), int(y1)))
    for x0, y0, x1, y1 in boxes:
        ocr[max(0, (y0 - 1) * factor):(y1 + 1) * factor, max(0, (x0 - 1) * factor):(x1 + 1) * factor] = 255
    if boxes:
        log.debug("erased %d dot leaders", len(boxes))


def ocr_image(flat: np.ndarray) -> np.ndarray:
    """What Tesseract reads: the flattened, deskewed grey page with the paper pushed to white,
    scanner borders, signatures and horizontal rules erased.

    Grey rather than our own binary image: Tesseract's recogniser reads grey levels, and with the
    light made even its own threshold works; on our damaged test pages grey gave about half the
    character errors of the best binarisation we tried (and the same speed). Our binary image
    still drives every decision above (blank, orientation, skew, borders).
    """
    # Anything not paper counts here, so a border the flattening lightened is erased too.
    # Page-sized temporaries are dropped as soon as they are used: this is clean-up's peak.
    _, paper = cv2.threshold(flat, PAPER_LEVEL, 255, cv2.THRESH_BINARY)
    out = cv2.max(flat, paper)
    erase = cv2.bitwise_xor(remove_borders(paper), paper)
    del paper
    if cv2.countNonZero(erase):
        cv2.max(out, cv2.dilate(erase, np.ones((5, 5), np.uint8)), dst=out)
    del erase
    _erase_scribbles(out)
    _erase_rules(out)
    _erase_leaders(out)
    return out



def content_box(ocr: np.ndarray, margin: int = 60) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of what is printed on the OCR image, with a white margin.

    Tesseract's layout analysis costs in proportion to the pixels it is given, blank margins
    included: reading only this box saves about a twelfth of its time on an A4 page. Found on a
    quarter-size copy; a row or column counts when two of its small pixels hold ink.
    """
    h, w = ocr.shape[:2]
    factor = 4
    ink = cv2.compare(shrink(ocr, factor), PAPER_LEVEL, cv2.CMP_LT)
    rows = np.flatnonzero(cv2.reduce(ink, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() >= 2 * 255)
    cols = np.flatnonzero(cv2.reduce(ink, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() >= 2 * 255)
    if not len(rows) or not len(cols):
        return 0, 0, w, h
    return (max(0, int(cols[0]) * factor - margin), max(0, int(rows[0]) * factor - margin),
            min(w, (int(cols[-1]) + 1) * factor + margin), min(h, (int(rows[-1]) + 1) * factor + margin))


def clean_page(page: Page) -> Page:
    """Upright original + OCR image, rotation, skew angle and the blank flag of one page (flagged
    ``ORIENTATION_UNCERTAIN`` when its turn was not decided).

    A phone photo of a whole sheet on a desk is flattened to the sheet first (:mod:`pipeline.sheet`):
    from there on the flat sheet is the page, for the image people see and for OCR alike."""
    page = sheet.flatten_sheet(page)
    h, w = page.image.shape[:2]
    # Intermediate page-sized images are not kept in locals: each one is as large as the page.
    flat = flatten(resample(drop_red_ink(page.image), working_scale(h, w, page.dpi)))
    binary = remove_borders(binarize(flat))
    if is_blank(binary):
        log.info("%s: blank page", page.label)
        return replace(page, ocr_image=None, blank=True, rotation=0, skew_angle=0.0)
    rotation, angle, flag = detect_orientation(binary, page.label)
    del binary  # decisions are made; the OCR image comes from the grey page
    if rotation:
        log.info("%s: turned %d° clockwise to be upright", page.label, rotation)
        flat = turn(flat, rotation)
    if abs(angle) >= 0.05:
        log.info("%s: deskewed by %.2f°", page.label, angle)
        flat = deskew(flat, angle)
    ocr = ocr_image(flat)
    del flat
    # The original is turned last, when the OCR image's temporaries are gone: its upright copy is
    # the largest array of the clean-up, and the original is still held beside it.
    return replace(
        page,
        image=turn(page.image, rotation),
        ocr_image=ocr,
        rotation=rotation,
        skew_angle=angle,
        blank=False,
        source_jpeg=page.source_jpeg,
        flags=page.flags if flag is None else (*page.flags, flag),
    )
