"""QR codes on pages: separator sheets between documents, and the code printed on digitized results.

Circular 01/2023/TT-VPCP asks that a digitized result carry a code tying it to its dossier; sohoa
prints it as a QR code whose payload names the dossier code (mã hồ sơ), the procedure code (mã TTHC),
the owner's personal ID and the document's name. When such a page is scanned again, its payload is
read back, so the document is recognised instead of being treated as new paper.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)



def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image


def _detect(grey: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    """Decoded payloads, and the corners of codes that were found but could not be decoded.

    The ArUco-based detector: the classic one misses blurred codes and can take minutes and
    gigabytes on a noisy full-page scan.
    """
    detector = cv2.QRCodeDetectorAruco()
    try:
        ok, texts, points, _ = detector.detectAndDecodeMulti(grey)
    except cv2.error:
        return [], []
    if not ok:
        return [], []
    texts = list(texts or ())
    corners = list(points) if points is not None else []
    found = [t for t in texts if t]
    missed = [c for t, c in zip(texts, corners, strict=False) if not t]
    return found, missed


def _decode_crop(grey: np.ndarray, corners: np.ndarray) -> str:
    """A code whose modules are too small to decode in place: crop it, enlarge it, try again."""
    xs, ys = corners[:, 0], corners[:, 1]
    size = max(xs.max() - xs.min(), ys.max() - ys.min())
    pad = size * 0.25 + 8
    top, bottom = int(max(0, ys.min() - pad)), int(min(grey.shape[0], ys.max() + pad))
    left, right = int(max(0, xs.min() - pad)), int(min(grey.shape[1], xs.max() + pad))
    crop = grey[top:bottom, left:right]
    if crop.size == 0:
        return ""
    scale = max(1.0, 600.0 / max(crop.shape))
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
    for candidate in (crop, binary):
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            try:
                text, _points, _ = detector.detectAndDecode(candidate)
            except cv2.error:
                text = ""
            if text:
                return text
    return ""


def read_qr_codes(image: np.ndarray) -> tuple[str, ...]:
    """Every QR payload readable on a page image (grey or RGB), in order found, without repeats.

    A 300 dpi page is searched small first (fast; separator sheets and result codes are large),
    then at full size for the small code of an ID card on a photocopy; a code that is found but
    too small to decode is cropped, enlarged and decoded again.
    """
    if image is None or image.size == 0:
        return ()
    grey = _grey(np.asarray(image, dtype=np.uint8))
    longest = max(grey.shape[:2])
    for target in (1600, longest):
        scale = min(1.0, target / longest)
        candidate = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale,
                                                         interpolation=cv2.INTER_AREA)
        found, missed = _detect(candidate)
        for corners in missed:
            text = _decode_crop(grey, np.asarray(corners, dtype=np.float64).reshape(-1, 2) / scale)
            if text:
                found.append(text)
        if found:
            return tuple(dict.fromkeys(found))
        if scale == 1.0:
            break
    return ()
