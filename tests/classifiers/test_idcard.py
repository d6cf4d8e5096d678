"""The ID card's QR code and machine-readable zone as witnesses for its fields."""

from __future__ import annotations

from classifiers.idcard import _check_digit, parse_cccd_qr, parse_mrz


def test_qr_payload_gives_contract_fields() -> None:
    payload = "001090012345|012345678|Nguyễn Văn An|04031990|Nam|Số 1, đường Lê Lợi, xã Tân Phú, tỉnh Phú Thọ|01012023"
    assert parse_cccd_qr(payload) == {
        "personal_id": "001090012345", "full_name": "NGUYỄN VĂN AN", "date_of_birth": "1990-03-04", "sex": "Nam",
        "place_of_residence": "Số 1, đường Lê Lợi, xã Tân Phú, tỉnh Phú Thọ",
    }
    assert parse_cccd_qr('{"v":1,"MaHoSo":"x"}') is None
    assert parse_cccd_qr("00109001234|x|y|04031990|Nam|z|01012023") is None


def test_mrz_fields_need_their_check_digits() -> None:
    number, birth, expiry = "090012345", "900304", "300304"
    line1 = f"IDVNM{number}{_check_digit(number)}001{number}<<0"
    line2 = f"{birth}{_check_digit(birth)}M{expiry}{_check_digit(expiry)}VNM<<<<<<<<<<<4"
    fields = parse_mrz(f"{line1}\n{line2}\nNGUYEN<<VAN<AN<<<<")
    assert fields["personal_id"] == "001090012345"
    assert fields["date_of_expiry"] == "2030-03-04" and fields["sex"] == "Nam"
    broken = line2.replace(f"{expiry}{_check_digit(expiry)}", f"{expiry}{(_check_digit(expiry) + 1) % 10}")
    assert "date_of_expiry" not in parse_mrz(broken)
