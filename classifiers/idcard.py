"""The QR code on a chip ID card (CCCD 2021 front, Căn cước 2024 back) as a source of fields.

The code holds ``ID|old ID|Name|ddmmyyyy (birth)|sex|residence|ddmmyyyy (issue)`` as digital text
with error correction, so when it can be read it is a far better witness than OCR of 7 pt print on
a photocopy: its values are taken as read, and OCR of the printed text only fills what it lacks.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.model import nfc

_ID = re.compile(r"^\d{12}$")
_DMY = re.compile(r"^(\d{2})(\d{2})(\d{4})$")


def _iso(dmy: str) -> str | None:
    match = _DMY.match(dmy.strip())
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_cccd_qr(payload: str) -> dict[str, str] | None:
    """Contract fields from an ID card's QR payload, or None when it is not one."""
    parts = nfc(payload).split("|")
    if len(parts) < 6 or not _ID.match(parts[0].strip()):
        return None
    birth = _iso(parts[3])
    sex = parts[4].strip()
    if birth is None or sex not in ("Nam", "Nữ"):
        return None
    fields = {
        "personal_id": parts[0].strip(),
        "full_name": nfc(" ".join(parts[2].split()).upper()),
        "date_of_birth": birth,
        "sex": sex,
    }
    residence = " ".join(parts[5].split())
    if residence:
        fields["place_of_residence"] = residence
    return fields


def card_fields(payloads: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The fields of the first ID-card payload among a document's QR payloads (empty if none)."""
    for payload in payloads:
        fields = parse_cccd_qr(payload)
        if fields:
            return fields
    return {}
