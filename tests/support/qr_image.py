"""QR codes pasted onto test pages (separator sheets, printed result codes)."""

from __future__ import annotations

import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M


def make_qr_image(payload: str, box_px: int) -> np.ndarray:
    """A grey uint8 square of ``box_px`` pixels with the code and its quiet zone, ready to paste."""
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
