"""Vietnamese personal ID numbers (số định danh cá nhân, 12 digits) and their structure.

Digits 1–3 are the province code where the birth was registered, digit 4 encodes sex and century
(0/1 male/female born 1900–1999, 2/3 born 2000–2099, 4/5 born 2100–2199), digits 5–6 are the last two
digits of the birth year, digits 7–12 a random serial. The rules let a reader catch most OCR mistakes
(a wrong province, a sex digit that contradicts the printed sex) instead of accepting them silently.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# Province codes as issued (before the 2025 mergers the 63 provinces used these codes; merged
# provinces keep issuing under the old codes of their parts).
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

_ID_RE = re.compile(r"^\d{12}$")


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The verdict on one personal ID: ``ok`` or the first rule it breaks, in words a clerk reads."""

    ok: bool
    reason: str = ""


def century_digit(sex: str, birth_year: int) -> int:
    """The 4th digit for a sex (``Nam``/``Nữ``) and a birth year."""
    if not 1900 <= birth_year <= 2199:
        raise ValueError(f"birth year {birth_year} outside 1900–2199")
    base = (birth_year - 1900) // 100 * 2
    return base + (1 if sex == "Nữ" else 0)


def make_personal_id(rng: random.Random, sex: str, birth_year: int, province: str | None = None) -> str:
    """A structurally valid personal ID (for synthetic samples and tests)."""
    province = province or rng.choice(sorted(PROVINCE_CODES))
    serial = "".join(str(rng.randrange(10)) for _ in range(6))
    return f"{province}{century_digit(sex, birth_year)}{birth_year % 100:02d}{serial}"


def check_personal_id(value: str, *, sex: str | None = None, birth_year: int | None = None) -> IdCheck:
    """Check the structure of an ID, and its agreement with the sex and birth year when known."""
    if not _ID_RE.match(value):
        return IdCheck(False, "personal ID must be 12 digits")
    if value[:3] not in PROVINCE_CODES:
        return IdCheck(False, f"province code {value[:3]} was never issued")
    digit = int(value[3])
    if digit > 5:
        return IdCheck(False, f"sex/century digit {digit} is not 0–5")
    if sex is not None:
        expected_female = digit % 2 == 1
        if expected_female != (sex == "Nữ"):
            return IdCheck(False, f"sex/century digit {digit} contradicts sex {sex}")
    if birth_year is not None:
        century = 1900 + (digit // 2) * 100
        if not century <= birth_year < century + 100:
            return IdCheck(False, f"sex/century digit {digit} contradicts birth year {birth_year}")
        if int(value[4:6]) != birth_year % 100:
            return IdCheck(False, f"year digits {value[4:6]} contradict birth year {birth_year}")
    return IdCheck(True)
