"""Labels read by their meaning-bearing words: wordings no list has still find their field."""

from __future__ import annotations

import pytest

from classifiers.extract import extract_from_lines
from classifiers.labels import RULES, field_by_meaning
from classifiers.text import fold, text_line


def _fields(doc_type: str) -> tuple[str, ...]:
    return tuple(rule.field for rule in RULES[doc_type])


@pytest.mark.parametrize(("doc_type", "label", "field"), [
    ("birth_certificate", "Tên mẹ", "mother_name"),
    ("birth_certificate", "Họ tên của cha", "father_name"),
    ("birth_certificate", "Năm sinh", "_birth_year"),
    ("birth_certificate", "Sinh tại", "place_of_birth"),
    ("death_certificate", "Nơi qua đời", "place_of_death"),
    ("death_certificate", "Ngày giờ qua đời", "date_of_death"),
    ("death_certificate", "Nguyên nhân tử vong", "_cause"),
    ("cccd", "Ngày hết hạn", "date_of_expiry"),
    ("land_use_certificate", "Số thửa", "parcel_number"),
    ("business_registration", "Tên doanh nghiệp bằng tiếng Việt", "enterprise_name"),
    ("business_registration", "Tên bằng tiếng nước ngoài", "_foreign"),
    ("application_form", "Người đề nghị", "applicant_name"),
])
def test_field_by_meaning(doc_type: str, label: str, field: str) -> None:
    words = " ".join(fold(label).replace(",", " ").split())
    assert field_by_meaning(words, _fields(doc_type)) == field


def test_a_label_of_nothing_asked_for_ends_the_value_before_it() -> None:
    lines = [text_line("Nơi sinh: xã Tân Phú, huyện Gia Lâm"), text_line("Số lần kết hôn: hai")]
    fields = extract_from_lines("birth_certificate", lines)
    assert fields["place_of_birth"].value == "xã Tân Phú, huyện Gia Lâm"


def test_a_listed_label_that_is_only_the_start_of_a_longer_one_is_read_whole() -> None:
    lines = [text_line("Họ và tên: TRẦN VĂN AN"), text_line("Ngày tháng năm hết hạn: 12/03/2040")]
    fields = extract_from_lines("cccd", lines)
    assert fields["date_of_expiry"].value == "2040-03-12"
    assert fields["date_of_birth"].value is None
