"""QR codes on pages: separator sheets between documents, and the code printed on digitized results.

Circular 01/2023/TT-VPCP asks that a digitized result carry a code tying it to its dossier; sohoa
prints it as a QR code whose payload names the dossier code (mã hồ sơ), the procedure code (mã TTHC),
the owner's personal ID and the document's name. When such a page is scanned again, its payload is
read back, so the document is recognised instead of being treated as new paper.
"""

from __future__ import annotations

import json
import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

RESULT_QR_VERSION = 1
_RESULT_KEYS = ("MaHoSo", "MaTTHC", "SoDinhDanh", "TenGiayTo")


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image


def _decode(grey: np.ndarray) -> list[str]:
    # The ArUco-based detector: the classic one misses blurred codes and can take minutes and
    # gigabytes on a noisy full-page scan.
    detector = cv2.QRCodeDetectorAruco()
    try:
        ok, texts, _points, _ = detector.detectAndDecodeMulti(grey)
    except cv2.error:
        return []
    return [t for t in (texts or ()) if t] if ok else []


def read_qr_codes(image: np.ndarray) -> tuple[str, ...]:
    """Every QR payload readable on a page image (grey or RGB), in order found, without repeats.

    A 300 dpi page is tried small first (fast, and a separator sheet's or a result's code is large),
    then larger for the small code of an ID card on a photocopy.
    """
    if image is None or image.size == 0:
        return ()
    grey = _grey(np.asarray(image, dtype=np.uint8))
    longest = max(grey.shape[:2])
    for target in (1600, 2400):
        scale = min(1.0, target / longest)
        candidate = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale,
                                                         interpolation=cv2.INTER_AREA)
        found = _decode(candidate)
        if found:
            return tuple(dict.fromkeys(found))
        if scale == 1.0:
            break
    return ()


def result_qr_payload(*, dossier_code: str, procedure_code: str | None, owner_id: str | None,
                      document_name: str) -> str:
    """The payload printed on a digitized result: compact JSON with the national portal's names."""
    if not dossier_code or not document_name:
        raise ValueError("a result QR needs a dossier code and a document name")
    payload = {
        "v": RESULT_QR_VERSION,
        "MaHoSo": dossier_code,
        "MaTTHC": procedure_code or "",
        "SoDinhDanh": owner_id or "",
        "TenGiayTo": document_name,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def parse_result_qr(payload: str) -> dict[str, str] | None:
    """The fields of a result payload, or None when the payload is something else (a separator)."""
    try:
        data = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("v") != RESULT_QR_VERSION or "MaHoSo" not in data:
        return None
    return {key: str(data.get(key, "")) for key in _RESULT_KEYS}


def make_qr_image(payload: str, box_px: int) -> np.ndarray:
    """A grey uint8 square of ``box_px`` pixels with the code and its quiet zone, ready to paste."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    modules = np.asarray(code.get_matrix(), dtype=bool)
    if box_px < modules.shape[0]:
        raise ValueError(f"{box_px} px is too small for a QR code of {modules.shape[0]} modules")
    cell = box_px // modules.shape[0]
    image = np.where(modules, 0, 255).astype(np.uint8)
    image = np.kron(image, np.ones((cell, cell), dtype=np.uint8))
    pad = box_px - image.shape[0]
    return np.pad(image, ((pad // 2, pad - pad // 2), (pad // 2, pad - pad // 2)), constant_values=255)
