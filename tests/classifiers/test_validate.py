"""Validators turn wrong values into review items with reasons, never silent errors."""

from __future__ import annotations

from datetime import date

from classifiers.validate import validate_fields
from core.model import Field

TODAY = date(2026, 11, 24)


def fields(**values: str) -> dict[str, Field]:
    return {name: Field(value, 0.95) for name, value in values.items()}


def test_consistent_person_passes() -> None:
    out = validate_fields(fields(personal_id="001090012345", sex="Nam", date_of_birth="1990-03-04",
                                 date_of_expiry="2030-03-04"), today=TODAY)
    assert not any(f.needs_review for f in out.values())


def test_sex_digit_contradicting_sex_is_flagged() -> None:
    out = validate_fields(fields(personal_id="001190012345", sex="Nam", date_of_birth="1990-03-04"), today=TODAY)
    assert out["personal_id"].needs_review and "contradicts sex" in out["personal_id"].reason


def test_year_digits_contradicting_birth_are_flagged() -> None:
    out = validate_fields(fields(personal_id="001091012345", sex="Nam", date_of_birth="1990-03-04"), today=TODAY)
    assert out["personal_id"].needs_review and "year digits" in out["personal_id"].reason
    assert out["date_of_birth"].needs_review


def test_century_digit_is_checked() -> None:
    out = validate_fields(fields(personal_id="001205012345", sex="Nam", date_of_birth="1905-03-04"), today=TODAY)
    assert out["personal_id"].needs_review


def test_unissued_province_and_length() -> None:
    assert validate_fields(fields(personal_id="003090012345"), today=TODAY)["personal_id"].needs_review
    assert validate_fields(fields(personal_id="00109001234"), today=TODAY)["personal_id"].needs_review


def test_wife_id_must_be_female() -> None:
    out = validate_fields(fields(wife_personal_id="001090012345", wife_date_of_birth="1990-01-01"), today=TODAY)
    assert out["wife_personal_id"].needs_review


def test_date_order_and_plausibility() -> None:
    out = validate_fields(fields(date_of_birth="2020-06-05", registration_date="2020-06-01"), today=TODAY)
    assert out["date_of_birth"].needs_review and out["registration_date"].needs_review
    assert validate_fields(fields(issue_date="2027-01-01"), today=TODAY)["issue_date"].needs_review
    assert validate_fields(fields(date_of_birth="2020-02-30"), today=TODAY)["date_of_birth"].needs_review
    out = validate_fields(fields(date_of_birth="1990-01-01", date_of_expiry="1980-01-01"), today=TODAY)
    assert out["date_of_expiry"].needs_review


def test_enterprise_code_has_ten_digits() -> None:
    assert validate_fields(fields(enterprise_code="012345678"), today=TODAY)["enterprise_code"].needs_review
    assert not validate_fields(fields(enterprise_code="0123456789"), today=TODAY)["enterprise_code"].needs_review


def test_low_confidence_and_missing_values_need_review() -> None:
    out = validate_fields({"full_name": Field("NGUYỄN VĂN AN", 0.3), "sex": Field(None, 0.0)}, today=TODAY,
                          min_confidence=0.5)
    assert out["full_name"].needs_review and out["full_name"].valid
    assert out["sex"].needs_review and not out["sex"].valid


def test_names_with_digits_are_flagged() -> None:
    assert validate_fields(fields(full_name="NGUY3N VĂN AN"), today=TODAY)["full_name"].needs_review
