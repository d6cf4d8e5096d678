"""The QR code on a chip ID card (CCCD 2021 front, Căn cước 2024 back) as a source of fields.

The code holds ``ID|old ID|Name|ddmmyyyy (birth)|sex|residence|ddmmyyyy (issue)`` as digital text
with error correction, so when it can be read it is a far better witness than OCR of 7 pt print on
a photocopy: its values are taken as read, and OCR of the printed text only fills what it lacks.
"""

from __future__ import annotations

import re
from datetime import date

from core.model import nfc

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


def qr_issue_date(payloads: list[str] | tuple[str, ...]) -> str | None:
    """The issue date (ISO) the first ID-card payload carries in its last field, if any."""
    for payload in payloads:
        parts = nfc(payload).split("|")
        if parse_cccd_qr(payload) and len(parts) >= 7:
            return _iso(parts[6])
    return None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def expiry_by_law(birth: date, issued: date) -> date | None:
    """The expiry a card of this birth and issue date carries: cards are renewed at 25, 40 and 60
    (Law on Citizen Identification 2014, art. 21; Law on Identification 2023, art. 21), and a card
    issued within two years before one of those ages runs to the next; after the last, none."""
    for age in (25, 40, 60):
        milestone = _add_years(birth, age)
        if milestone > _add_years(issued, 2):
            return milestone
    return None


def printed_dates(text: str) -> set[str]:
    """Every dd/mm/yyyy date printed in ``text``, as ISO dates (for corroborating a derived one)."""
    out = set()
    for match in re.finditer(r"(?<!\d)(\d{2})\s*[/.-]\s*(\d{2})\s*[/.-]\s*(\d{4})(?!\d)", text):
        iso = _iso("".join(match.groups()))
        if iso:
            out.add(iso)
    return out


def _check_digit(text: str) -> int:
    """ICAO 9303 check digit (weights 7, 3, 1)."""
    total = 0
    for i, char in enumerate(text):
        if char.isdigit():
            value = int(char)
        elif char.isalpha():
            value = ord(char.upper()) - 55
        else:
            value = 0
        total += value * (7, 3, 1)[i % 3]
    return total % 10


_MRZ_DATES = re.compile(r"(\d{6})(\d)([MF<])(\d{6}|<{6})(\d|<)VNM")
_MRZ_ID = re.compile(r"IDVNM(\d{9})(\d)(\d{12})")


MRZ_FAILED = "mrz_failed"  # key of parse_mrz's answer: the fields whose check digit did not match


def parse_mrz(text: str) -> dict[str, str]:
    """Fields from the machine-readable zone on the back of a card, each kept only when its
    check digit confirms it (OCR of the MRZ font is good, but not perfect). The fields whose zone
    was found but whose check digit failed are named, comma-separated, under :data:`MRZ_FAILED`:
    the card's print and the zone disagree, or the zone was misread, and a clerk must look."""
    squeezed = re.sub(r"\s+", "", text.upper()).replace("«", "<<")
    out: dict[str, str] = {}
    failed: list[str] = []
    match = _MRZ_ID.search(squeezed)
    if match:
        if _check_digit(match.group(1)) == int(match.group(2)) and match.group(3)[3:] == match.group(1):
            out["personal_id"] = match.group(3)
        else:
            failed.append("personal_id")
    match = _MRZ_DATES.search(squeezed)
    if match:
        birth, birth_check, sex, expiry, expiry_check = match.groups()
        if _check_digit(birth) == int(birth_check):
            out["mrz_birth"] = birth
            out["sex"] = {"M": "Nam", "F": "Nữ"}.get(sex, "")
        else:
            failed.append("date_of_birth")
        if expiry.isdigit() and expiry_check.isdigit() and _check_digit(expiry) != int(expiry_check):
            failed.append("date_of_expiry")
        if expiry.isdigit() and expiry_check.isdigit() and _check_digit(expiry) == int(expiry_check):
            year, month, day = 2000 + int(expiry[:2]), int(expiry[2:4]), int(expiry[4:])
            try:
                out["date_of_expiry"] = date(year, month, day).isoformat()
            except ValueError:
                pass
        elif expiry == "<<<<<<":
            out["date_of_expiry"] = ""
    if failed:
        out[MRZ_FAILED] = ",".join(failed)
    return {k: v for k, v in out.items() if v is not None}
