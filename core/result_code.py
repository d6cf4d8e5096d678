"""The code printed on a digitized result (Circular 01/2023/TT-VPCP): a QR payload naming the
dossier code (mã hồ sơ), the procedure code (mã TTHC), the owner's personal ID and the document's
name. The certifier prints it in the stamp; the splitter reads it back from a scanned page, so a
result handed in again is recognised instead of being treated as new paper.
"""

from __future__ import annotations

import json

RESULT_QR_VERSION = 1
CERTIFIED_QR_VERSION = 2
_RESULT_KEYS = ("MaHoSo", "MaTTHC", "SoDinhDanh", "TenGiayTo")
_CERTIFIED_KEYS = ("SoChungThuc", "SHA256", "URL")


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


def certified_copy_qr_payload(*, dossier_code: str, procedure_code: str | None, document_name: str,
                              certification_number: str, document_sha256: str, verify_url: str | None = None) -> str:
    """The payload printed on a certified copy: which dossier and paper, its register number, the
    hash of the document it was made from and where to verify it — and no personal data (a copy
    travels; whoever scans its code learns nothing about its owner)."""
    if not dossier_code or not document_name or not certification_number or not document_sha256:
        raise ValueError("a certified copy's QR needs the dossier, the document, its number and its hash")
    payload = {
        "v": CERTIFIED_QR_VERSION,
        "MaHoSo": dossier_code,
        "MaTTHC": procedure_code or "",
        "TenGiayTo": document_name,
        "SoChungThuc": certification_number,
        "SHA256": document_sha256,
        **({"URL": verify_url} if verify_url else {}),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def parse_result_qr(payload: str) -> dict[str, str] | None:
    """The fields of a result or certified-copy payload, or None when the payload is something else
    (a separator)."""
    try:
        data = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or "MaHoSo" not in data:
        return None
    if data.get("v") == RESULT_QR_VERSION:
        return {key: str(data.get(key, "")) for key in _RESULT_KEYS}
    if data.get("v") == CERTIFIED_QR_VERSION:
        return {key: str(data.get(key, "")) for key in (*_RESULT_KEYS, *_CERTIFIED_KEYS)}
    return None
