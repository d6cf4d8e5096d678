"""The codes of a digitized paper (Circular 01/2023/TT-VPCP).

The *digitization result code* (mã kết quả số hóa, Art. 8): one per digitized paper, unique, issued
after its data is extracted and before it is stored; its format is a setting (default: the
agency's code, the date, a sequence number of the agency's day and a check character, e.g.
``000.00.00.H01-261207-000012-K``). The check character (ISO 7064 MOD 37,36 over the letters and
digits before it) catches a mistyped or misread code when it is quoted for reuse.

The QR payloads: a result's names the dossier code (mã hồ sơ), the procedure code (mã TTHC), the
owner's personal ID and the document's name; the splitter reads it back from a scanned page, so a
result handed in again is recognised instead of being treated as new paper. A certified copy's
names its register number, the document's hash and result code, and no personal data.
"""

from __future__ import annotations

import json
import string
from datetime import date

RESULT_QR_VERSION = 1
CERTIFIED_QR_VERSION = 2
_RESULT_KEYS = ("MaHoSo", "MaTTHC", "SoDinhDanh", "TenGiayTo")
_CERTIFIED_KEYS = ("SoChungThuc", "SHA256", "URL", "MaKetQua")
_ALPHABET = string.digits + string.ascii_uppercase  # ISO 7064 MOD 37,36: 36 characters
DEFAULT_RESULT_CODE_FORMAT = "{agency}-{date}-{seq:06d}-{check}"


def check_character(text: str) -> str:
    """ISO 7064 MOD 37,36 check character over the letters and digits of ``text`` (case-folded,
    other characters skipped): any single wrong character and most swaps of neighbours change it."""
    modulus = len(_ALPHABET)
    product = modulus
    for char in text.upper():
        if char not in _ALPHABET:
            continue
        total = (product + _ALPHABET.index(char)) % modulus or modulus
        product = (2 * total) % (modulus + 1)
    return _ALPHABET[(modulus + 1 - product) % modulus]


def format_result_code(fmt: str, *, agency: str, day: date, seq: int) -> str:
    """A result code by ``fmt`` (fields ``{agency}``, ``{date}`` as yymmdd, ``{seq}``, ``{check}``:
    the check character over everything before it)."""
    if "{seq" not in fmt:
        raise ValueError("a result code format needs {seq}: without it two papers of a day share a code")
    values = {"agency": agency, "date": f"{day:%y%m%d}", "seq": seq}
    marker = "\x00"
    try:
        body = fmt.format(**values, check=marker)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"the result code format {fmt!r} is not valid: {exc}") from exc
    head, found, tail = body.partition(marker)
    return head + check_character(head) + tail if found else body


def result_code_valid(code: str) -> bool:
    """Whether a code of a format ending in ``{check}`` has the right check character."""
    code = code.strip()
    return len(code) > 1 and check_character(code[:-1]) == code[-1].upper()


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
                              certification_number: str, document_sha256: str, verify_url: str | None = None,
                              result_code: str | None = None) -> str:
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
        **({"MaKetQua": result_code} if result_code else {}),
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
