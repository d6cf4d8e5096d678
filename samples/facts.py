"""Random but consistent Vietnamese facts: people, places, dates, ID numbers.

Synthetic documents are only useful for training and benchmarks if their facts agree the way real
ones do (an ID whose digits match the sex and birth year, a registration after the birth, an
address written with the administrative levels in force when the paper was issued), so every
document of the generator draws its facts from here rather than inventing them on the spot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from core.model import nfc
from core.personal_id import PROVINCE_CODES, make_personal_id

TODAY = date(2026, 11, 24)
# Two-level local government (xã/phường under tỉnh) replaced districts on this day.
REFORM_DATE = date(2025, 7, 1)

SURNAMES: tuple[tuple[str, int], ...] = (
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 4), ("Huỳnh", 3), ("Phan", 4),
    ("Vũ", 3), ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2), ("Ngô", 2), ("Dương", 1),
    ("Lý", 1), ("Đinh", 1), ("Trương", 1), ("Lâm", 1), ("Mai", 1), ("Tạ", 1), ("Lương", 1),
)
MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Công", "Thành", "Quang", "Xuân", "Đình", "Gia",
               "Ngọc", "Trọng", "Anh", "Bá", "Tiến")
MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Kim", "Mai", "Hồng", "Bích", "Thùy",
                 "Diệu", "Khánh", "Hải")
GIVEN_MALE = ("An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Huy", "Khoa", "Long", "Minh", "Nam",
              "Phong", "Quân", "Sơn", "Tài", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Hiếu", "Khánh",
              "Lâm", "Phúc", "Thịnh", "Toàn", "Đức", "Hoàng", "Kiên", "Lộc", "Nghĩa", "Quý", "Tùng")
GIVEN_FEMALE = ("Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Loan", "Mai",
                "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Trang", "Tuyết", "Uyên",
                "Vân", "Yến", "Hằng", "Hiền", "Huyền", "Lụa", "My", "Ngọc", "Nhi", "Thủy", "Trâm", "Vy")
SECOND_MIDDLE_MALE = ("Thanh", "Minh", "Hoài", "Bảo", "Gia", "Quốc", "Trung", "Hải")
SECOND_MIDDLE_FEMALE = ("Thanh", "Ngọc", "Minh", "Thu", "Hoài", "Bảo", "Kim", "Quỳnh", "Tuyết", "Diệu")
ETHNICITIES: tuple[tuple[str, int], ...] = (
    ("Kinh", 85), ("Tày", 2), ("Thái", 2), ("Mường", 2), ("Khmer", 2), ("Hoa", 1), ("Nùng", 1),
    ("H'Mông", 1), ("Dao", 1), ("Ê Đê", 1), ("Chăm", 1),
)

# The 34 provinces and cities after the 2025 mergers (the 6 centrally run cities first).
PROVINCES_2025 = (
    "Thành phố Hà Nội", "Thành phố Huế", "Thành phố Hải Phòng", "Thành phố Đà Nẵng",
    "Thành phố Hồ Chí Minh", "Thành phố Cần Thơ", "tỉnh Lai Châu", "tỉnh Điện Biên", "tỉnh Sơn La",
    "tỉnh Lạng Sơn", "tỉnh Quảng Ninh", "tỉnh Thanh Hóa", "tỉnh Nghệ An", "tỉnh Hà Tĩnh", "tỉnh Cao Bằng",
    "tỉnh Tuyên Quang", "tỉnh Lào Cai", "tỉnh Thái Nguyên", "tỉnh Phú Thọ", "tỉnh Bắc Ninh",
    "tỉnh Hưng Yên", "tỉnh Ninh Bình", "tỉnh Quảng Trị", "tỉnh Quảng Ngãi", "tỉnh Gia Lai",
    "tỉnh Khánh Hòa", "tỉnh Lâm Đồng", "tỉnh Đắk Lắk", "tỉnh Đồng Nai", "tỉnh Tây Ninh",
    "tỉnh Vĩnh Long", "tỉnh Đồng Tháp", "tỉnh Cà Mau", "tỉnh An Giang",
)
_CITIES_BEFORE_2025 = {"Hà Nội", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ"}
COMMUNE_NAMES = (
    "Tân Phú", "An Khánh", "Hòa Bình", "Phú Lợi", "Đông Hưng", "Yên Lạc", "Bình Minh", "Thạch Hà",
    "Cẩm Lệ", "Hải Châu", "Long Biên", "Ba Đình", "Kim Liên", "Phước Long", "Xuân Phương", "Nghĩa Đô",
    "Tam Hiệp", "Quang Trung", "Hưng Đạo", "Lê Lợi", "Tân Định", "Bến Thành", "Sài Gòn", "An Phú",
    "Vĩnh Ninh", "Thủy Xuân", "Đông Ngạc", "Phú Diễn", "Yên Hòa", "Cát Linh", "Hồng Bàng", "Ngô Quyền",
    "Tân Lập", "Đồng Tâm", "Hợp Thịnh", "Minh Khai", "Trung Hòa", "Phú Mỹ", "Hòa Khánh", "Thanh Khê",
    "Gia Sàng", "Tích Lương", "Nam Sách", "Kim Thành", "Tiên Du", "Lạc Sơn", "Vạn Ninh", "Diên Khánh",
)
DISTRICT_NAMES = (
    "Phúc Thọ", "Gia Lâm", "Đông Anh", "Thanh Oai", "Nghi Lộc", "Hưng Nguyên", "Thạch Thất", "Yên Dũng",
    "Tiên Lãng", "Kiến Xương", "Hải Hậu", "Thọ Xuân", "Quỳnh Lưu", "Đức Thọ", "Phong Điền", "Điện Bàn",
    "Tư Nghĩa", "Tuy Phước", "Cam Lâm", "Di Linh", "Củ Chi", "Cần Giuộc", "Châu Thành", "Cái Nước",
    "Trảng Bom", "Bến Cát", "Long Điền", "Mỏ Cày", "Cầu Kè", "Lai Vung", "Tân Hiệp", "Vị Thủy",
)
STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Hùng Vương", "Phan Chu Trinh", "Điện Biên Phủ", "Nguyễn Du", "Lê Duẩn", "Trần Phú", "Ngô Quyền",
    "Nguyễn Huệ", "Lê Thánh Tông", "Phạm Văn Đồng", "Võ Thị Sáu", "Nguyễn Văn Cừ", "Tô Hiến Thành",
    "Bà Triệu", "Hoàng Diệu", "Kim Mã", "Cầu Giấy", "Lạc Long Quân", "Âu Cơ", "Nguyễn Chí Thanh",
)
HAMLET_WORDS = ("Đông", "Tây", "Nam", "Bắc", "Thượng", "Hạ", "Trung", "Tân", "Phú", "An", "Hòa", "Lộc")


def weighted(rng: random.Random, items: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in items], weights=[w for _, w in items])[0]


def random_date(rng: random.Random, start: date, end: date) -> date:
    """A day in ``[start, end]``; an empty range collapses to ``end``, so a date never passes its
    upper bound (usually today) even for a person too young for the event."""
    span = (end - start).days
    if span < 0:
        return end
    return start + timedelta(days=rng.randint(0, span))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def dmy(day: date) -> str:
    """The form printed on documents: dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


def vn_date_line(day: date) -> str:
    """The signing-date form: ``ngày 05 tháng 11 năm 2026``."""
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def full_name(rng: random.Random, sex: str, surname: str | None = None) -> str:
    """A name in title case; documents print it upper case (``str.upper`` is Unicode-aware)."""
    surname = surname or weighted(rng, SURNAMES)
    female = sex == "Nữ"
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    parts = [surname, middle]
    if rng.random() < 0.3:
        second = rng.choice(SECOND_MIDDLE_FEMALE if female else SECOND_MIDDLE_MALE)
        if second not in (middle, given):
            parts.append(second)
    if given in parts:
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    parts.append(given)
    return nfc(" ".join(parts))


@dataclass(frozen=True)
class Place:
    """An address at the level of detail a document prints, written for a given date."""

    line: str  # what is printed, e.g. "Số 12, đường Lê Lợi, phường Bến Thành, Thành phố Hồ Chí Minh"
    commune: str  # "phường Bến Thành" / "xã Tân Phú"
    province: str  # "Thành phố Hồ Chí Minh" / "tỉnh Phú Thọ"
    district: str = ""  # "huyện Phúc Thọ"; empty after the 2025 reform


def old_province_name(code: str) -> str:
    name = PROVINCE_CODES[code]
    return f"thành phố {name}" if name in _CITIES_BEFORE_2025 else f"tỉnh {name}"


def place(rng: random.Random, when: date, *, province_code: str | None = None, street: bool | None = None,
          commune_only: bool = False) -> Place:
    """An address as written on a paper issued on ``when``: three levels (xã, huyện, tỉnh) before
    the 2025 reform, two (xã/phường, tỉnh) after. ``commune_only`` drops the house and street."""
    urban = rng.random() < 0.5 if street is None else street
    commune_name = rng.choice(COMMUNE_NAMES)
    commune = f"{'phường' if urban else 'xã'} {commune_name}"
    if when < REFORM_DATE:
        code = province_code or rng.choice(sorted(PROVINCE_CODES))
        province = old_province_name(code)
        district_name = rng.choice(DISTRICT_NAMES)
        district = f"quận {district_name}" if urban else f"huyện {district_name}"
        levels = [commune, district, province]
    else:
        province = rng.choice(PROVINCES_2025)
        district = ""
        levels = [commune, province]
    if not commune_only:
        if urban:
            house = f"Số {rng.randint(1, 250)}"
            if rng.random() < 0.3:
                house += f"/{rng.randint(1, 40)}"
            lead = [house, f"đường {rng.choice(STREETS)}"]
            if rng.random() < 0.3:
                lead.insert(1, f"tổ {rng.randint(1, 30)}")
        else:
            lead = [f"{rng.choice(['Thôn', 'Xóm', 'Ấp'])} {rng.choice(HAMLET_WORDS)} {rng.choice(HAMLET_WORDS)}"
                    if rng.random() < 0.5 else f"{rng.choice(['Thôn', 'Xóm', 'Ấp', 'Tổ dân phố'])} {rng.randint(1, 15)}"]
        levels = lead + levels
    line = ", ".join(levels)
    line = line[0].upper() + line[1:]
    return Place(nfc(line), nfc(commune), nfc(province), nfc(district))


@dataclass(frozen=True)
class Person:
    """One citizen: the facts every document about them must agree on."""

    name: str  # title case
    sex: str  # "Nam" / "Nữ"
    birth: date
    personal_id: str
    province_code: str  # where the birth was registered (the ID's first three digits)
    ethnicity: str
    place_of_birth: Place
    place_of_origin: Place  # quê quán
    residence: Place  # current, written after the 2025 reform

    @property
    def upper_name(self) -> str:
        return nfc(self.name.upper())

    def address_on(self, rng: random.Random, when: date) -> str:
        """Where they lived as a paper issued on ``when`` writes it: the current address after the
        2025 reform, an older three-level one before it."""
        if when >= REFORM_DATE:
            return self.residence.line
        return place(rng, when, province_code=self.province_code if rng.random() < 0.6 else None).line


def person(rng: random.Random, *, sex: str | None = None, born_after: date = date(1945, 1, 1),
           born_before: date = date(2008, 1, 1), surname: str | None = None) -> Person:
    sex = sex or rng.choice(("Nam", "Nữ"))
    birth = random_date(rng, born_after, born_before)
    code = rng.choice(sorted(PROVINCE_CODES))
    return Person(
        name=full_name(rng, sex, surname),
        sex=sex,
        birth=birth,
        personal_id=make_personal_id(rng, sex, birth.year, code),
        province_code=code,
        ethnicity=weighted(rng, ETHNICITIES),
        place_of_birth=place(rng, birth, province_code=code, commune_only=True),
        place_of_origin=place(rng, birth, province_code=code, commune_only=True),
        residence=place(rng, max(TODAY - timedelta(days=300), REFORM_DATE)),
    )


def family(rng: random.Random, child: Person) -> tuple[Person, Person]:
    """A mother and father of plausible ages; the father passes on his surname."""
    surname = child.name.split()[0]
    father = person(rng, sex="Nam", born_after=add_years(child.birth, -45), born_before=add_years(child.birth, -21),
                    surname=surname)
    mother = person(rng, sex="Nữ", born_after=add_years(child.birth, -40), born_before=add_years(child.birth, -18))
    return mother, father
