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


def _card_document(text: str, payloads: tuple[str, ...] = ()):
    import numpy as np

    from core.model import Document, Page

    pages = (Page("t", "", 0, np.zeros((4, 4), np.uint8), 300.0, text=text, qr_payloads=payloads),)
    return Document(pages, doc_type="cccd")


def test_generated_card_qr_decodes_to_its_fields() -> None:
    import random

    from pipeline.qr import read_qr_codes
    from samples.generator import generate_document

    sample = generate_document("cccd", random.Random(11), layout=0, damage=0.0)
    payloads = read_qr_codes(sample.clean_pages[0])
    assert payloads == sample.qr_payloads
    fields = parse_cccd_qr(payloads[0])
    assert fields is not None
    for name in ("personal_id", "full_name", "date_of_birth", "sex"):
        assert fields[name] == sample.fields[name]


def test_generated_card_mrz_with_a_wrong_check_digit_is_flagged() -> None:
    import random
    import re

    from classifiers.extract import extract_fields
    from samples.generator import generate_text

    sample = generate_text("cccd", random.Random(12), layout=1)
    mrz_id = re.search(r"IDVNM(\d{9})(\d)", sample.text)
    assert mrz_id is not None
    good = extract_fields(_card_document(sample.text))
    assert good.fields["personal_id"].value == sample.fields["personal_id"]
    assert "check digit" not in good.fields["personal_id"].reason
    wrong = str((int(mrz_id.group(2)) + 1) % 10)
    broken = sample.text.replace(mrz_id.group(0), f"IDVNM{mrz_id.group(1)}{wrong}")
    flagged = extract_fields(_card_document(broken)).fields["personal_id"]
    assert flagged.needs_review and "check digit for the personal id" in flagged.reason


def test_expiry_by_law_from_the_qr_confirmed_by_the_printed_date() -> None:
    """The expiry label under the photo is unreadable: the QR's birth and issue dates give the
    expiry by law (renewal at 25, 40, 60), and the same date printed on the card confirms it."""
    from datetime import date

    from classifiers.extract import extract_fields
    from classifiers.idcard import expiry_by_law

    assert expiry_by_law(date(2002, 10, 7), date(2024, 6, 29)) == date(2027, 10, 7)
    assert expiry_by_law(date(1990, 3, 4), date(2014, 1, 1)) == date(2030, 3, 4)  # within 2 years of 25
    assert expiry_by_law(date(1960, 3, 4), date(2021, 1, 1)) is None  # after 60: no expiry
    payload = "035302302157||Võ Hải Quỳnh Vy|07102002|Nữ|Số 1, đường Lê Lợi, xã Tân Phú, tỉnh Phú Thọ|29062024"
    text = ("CĂN CƯỚC CÔNG DÂN\nSố / No.: 035302302157\nHọ và tên / Full name:\nVÕ HẢI QUỲNH VY\n"
            "Ngày sinh / Date of birth: 07/10/2002\nGiới tính / Sex: Nữ\nDate qwnsti!-( =t1/8nny\n")
    printed = extract_fields(_card_document(text + "07/10/2027\n", (payload,))).fields["date_of_expiry"]
    assert printed.value == "2027-10-07" and not printed.needs_review, printed.reason
    unseen = extract_fields(_card_document(text, (payload,))).fields["date_of_expiry"]
    assert unseen.value == "2027-10-07" and unseen.needs_review  # computed, never trusted unseen
    other = extract_fields(_card_document(text + "07/10/2028\n", (payload,))).fields["date_of_expiry"]
    assert other.needs_review
