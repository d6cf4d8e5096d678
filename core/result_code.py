"""The code printed on a digitized result (Circular 01/2023/TT-VPCP): a QR payload naming the
dossier code (mã hồ sơ), the procedure code (mã TTHC), the owner's personal ID and the document's
name. The certifier prints it in the stamp; the splitter reads it back from a scanned page, so a
result handed in again is recognised instead of being treated as new paper.
"""

from __future__ import annotations

import json

RESULT_QR_VERSION = 1
_RESULT_KEYS = ("MaHoSo", "MaTTHC", "SoDinhDanh", "TenGiayTo")


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
