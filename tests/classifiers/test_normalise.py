"""Value normalisation per the contract: ISO dates, upper-case names, Nam/Nữ, digits, decimal area."""

from __future__ import annotations

import pytest

from classifiers.normalise import (
    normalise_area,
    normalise_date,
    normalise_id,
    normalise_money,
    normalise_name,
    normalise_number,
    normalise_serial,
    normalise_sex,
)


@pytest.mark.parametrize(("raw", "iso"), [
    ("05/06/2020", "2020-06-05"),
    ("5-6-2020", "2020-06-05"),
    ("14 giờ 30 phút, ngày 01/02/2024", "2024-02-01"),
    ("ngày 05 tháng 11 năm 2026", "2026-11-05"),
    ("Ngày 5 tháng 1 năm 1999", "1999-01-05"),
    ("O1/O2/199O", "1990-02-01"),
])
def test_dates_become_iso(raw: str, iso: str) -> None:
    assert normalise_date(raw)[0] == iso


def test_date_repair_is_reported() -> None:
    value, note = normalise_date("O1/02/1990")
    assert value == "1990-02-01" and "O→0" in note


def test_no_expiry_is_an_empty_date() -> None:
    assert normalise_date("Không thời hạn")[0] == ""


def test_names_are_nfc_upper_case() -> None:
    decomposed = "Nguye\u0302\u0303n Va\u0306n An"
    assert normalise_name(decomposed)[0] == "NGUYỄN VĂN AN"
    assert normalise_name(" trần thị  lan. ")[0] == "TRẦN THỊ LAN"


@pytest.mark.parametrize(("raw", "sex"), [("Nam", "Nam"), ("Nữ", "Nữ"), ("Nu", "Nữ"), ("nam.", "Nam")])
def test_sex(raw: str, sex: str) -> None:
    assert normalise_sex(raw)[0] == sex


def test_ids_repair_look_alikes() -> None:
    value, note = normalise_id("O0l2O5OO1234", 12)
    assert value == "001205001234"
    assert "O→0" in note and "l→1" in note
    assert normalise_id("0123 4567 89", 10)[0] == "0123456789"


def test_area_is_a_decimal_string() -> None:
    assert normalise_area("120,5 m²")[0] == "120.5"
    assert normalise_area("1.250,75 m2")[0] == "1250.75"
    assert normalise_area("555 m²")[0] == "555"


def test_numbers_money_serials() -> None:
    assert normalise_number("123/2020 Độc lập")[0] == "123/2020"
    assert normalise_money("5.000.000.000 đồng")[0] == "5.000.000.000"
    assert normalise_serial("CH 138664")[0] == "CH 138664"
