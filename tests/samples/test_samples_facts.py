"""Facts and wording helpers: numbers in words, card expiry, addresses before and after 2025."""

from __future__ import annotations

import random
import unicodedata
from datetime import date

from core.personal_id import check_personal_id
from samples.cards import _check_digit, _mrz, expiry_for
from samples.facts import REFORM_DATE, family, person, place
from samples.render import merge_rows
from samples.wording import LAYOUT_STYLES, date_words, group_thousands, label, number_words


def test_number_words() -> None:
    assert number_words(15) == "mười lăm"
    assert number_words(21) == "hai mươi mốt"
    assert number_words(105) == "một trăm linh năm"
    assert number_words(1990) == "một nghìn chín trăm chín mươi"
    assert number_words(2005) == "hai nghìn không trăm linh năm"
    assert number_words(5_000_000_000) == "năm tỷ"
    assert number_words(1_250_000_000) == "một tỷ hai trăm năm mươi triệu"
    assert date_words(1, 4, 2015) == "Ngày một tháng tư năm hai nghìn không trăm mười lăm"
    assert group_thousands(2449500) == "2.449.500"


def test_labels_differ_between_layouts() -> None:
    names = {label(lay, "full_name") for lay in LAYOUT_STYLES}
    assert len(names) == len(LAYOUT_STYLES)
    assert all(unicodedata.is_normalized("NFC", n) and n.endswith(":") for n in names)


def test_card_expiry_milestones() -> None:
    birth = date(2000, 5, 20)
    assert expiry_for(birth, date(2021, 3, 1)) == date(2025, 5, 20)
    assert expiry_for(birth, date(2024, 1, 1)) == date(2040, 5, 20)  # within two years of 25: next one
    assert expiry_for(date(1970, 1, 1), date(2022, 1, 1)) == date(2030, 1, 1)
    assert expiry_for(date(1960, 1, 1), date(2021, 6, 1)) is None  # past 58: no expiry


def test_mrz_lines_and_check_digits() -> None:
    assert _check_digit("520727") == "3"  # ICAO 9303 worked example
    who = person(random.Random(3), born_after=date(1980, 1, 1), born_before=date(1999, 1, 1))
    lines = _mrz(who, date(2030, 1, 1))
    assert [len(line) for line in lines] == [30, 30, 30]
    assert lines[0].startswith("IDVNM") and who.personal_id in lines[0]


def test_addresses_follow_the_2025_reform() -> None:
    rng = random.Random(1)
    before = place(rng, date(2010, 1, 1))
    after = place(rng, REFORM_DATE)
    assert before.district and ("huyện" in before.line or "quận" in before.line)
    assert not after.district and "huyện" not in after.line and "quận" not in after.line


def test_people_and_parents_are_consistent() -> None:
    rng = random.Random(5)
    for _ in range(20):
        child = person(rng)
        assert check_personal_id(child.personal_id, sex=child.sex, birth_year=child.birth.year).ok
        mother, father = family(rng, child)
        assert mother.sex == "Nữ" and father.sex == "Nam"
        assert father.name.split()[0] == child.name.split()[0]
        assert (child.birth - mother.birth).days > 17 * 365 and (child.birth - father.birth).days > 20 * 365


def test_merge_rows_joins_pieces_on_one_baseline() -> None:
    rows = [(100.0, 500.0, "right"), (101.0, 10.0, "left"), (140.0, 10.0, "next")]
    assert merge_rows(rows, tolerance=6) == ["left right", "next"]
