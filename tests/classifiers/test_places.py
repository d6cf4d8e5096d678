"""The register of administrative units: famous names, pre-2025 addresses kept as printed, the
post-2025 codes derived beside them, split wards reported as ambiguous."""

from classifiers.places import Era, Level, match_place, register_names


def test_registers_are_complete() -> None:
    from classifiers.places import register

    reg = register()
    current = [u for u in reg.units if u.era is Era.CURRENT]
    legacy = [u for u in reg.units if u.era is Era.LEGACY]
    assert len(current) == 3321
    assert len({u.province_code for u in current}) == 34
    assert len(legacy) > 10_000 and len({u.province_code for u in legacy}) == 63
    assert {"Hồ Chí Minh", "Quỳnh Lưu", "Tràng Tiền", "Buôn Ma Thuột"} <= register_names()


def test_famous_city_recognised() -> None:
    for printed, code in (("Thành phố Hồ Chí Minh", "79"), ("TP. Đà Nẵng", "48"), ("Hà Nội", "01"),
                          ("TP.HCM", "79")):
        match = match_place(printed)
        assert match is not None, printed
        assert match.level is Level.PROVINCE and match.province_code_2025 == code
        assert match.printed == printed


def test_pre_2025_place_kept_as_printed_with_its_2025_codes() -> None:
    printed = "Số 12 đường Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh"
    match = match_place(printed)
    assert match is not None
    assert match.era is Era.LEGACY and match.pre_2025
    assert match.printed == printed  # the document's words, not the new unit's
    assert (match.district, match.commune) == ("Quận 1", "Phường Bến Thành")
    assert (match.province_code_2025, match.commune_code_2025) == ("79", "26743")
    assert not match.ambiguous and match.exact_marks


def test_old_province_merged_in_2025() -> None:
    match = match_place("Xã Ea Kao, Thành phố Buôn Ma Thuột, Tỉnh Đắk Lắk")
    assert match is not None and match.era is Era.LEGACY
    assert match.commune_2025 == "Phường Ea Kao" and match.province_code_2025 == "66"
    brvt = match_place("Tỉnh Bà Rịa - Vũng Tàu")
    assert brvt is not None and brvt.era is Era.LEGACY
    assert brvt.province_2025 == "Thành phố Hồ Chí Minh"


def test_split_ward_is_ambiguous() -> None:
    match = match_place("Phường Tràng Tiền, Quận Hoàn Kiếm, Hà Nội")
    assert match is not None and match.ambiguous and match.confidence < 1
    assert set(match.candidates_2025) == {"Phường Cửa Nam", "Phường Hoàn Kiếm"}
    assert match.commune_2025 in match.candidates_2025


def test_post_2025_address() -> None:
    match = match_place("Phường Bến Thành, Thành phố Hồ Chí Minh")
    assert match is not None and match.era is Era.CURRENT and match.district is None
    assert match.commune_code_2025 == "26743"


def test_marks_lost_still_found_but_not_exact() -> None:
    match = match_place("Huyen Quynh Luu, Nghe An")
    assert match is not None and match.district == "Huyện Quỳnh Lưu"
    assert not match.exact_marks


def test_no_place() -> None:
    assert match_place("Đường ABC") is None
    assert match_place("") is None


def test_place_on_a_pre_2025_birth_certificate_kept_as_printed() -> None:
    """A 2015 birth certificate names a ward, district and province that no longer exist: the
    extracted value is the printed text, not flagged, and the register names its 2025 unit."""
    import numpy as np

    from classifiers.extract import extract_fields
    from core.model import Document, Page

    place = "Phường Tràng Tiền, Quận Hoàn Kiếm, Thành phố Hà Nội"
    text = ("GIẤY KHAI SINH\nSố: 12/2015\nHọ, chữ đệm, tên: NGUYỄN VĂN AN\nNgày, tháng, năm sinh: 05/06/2015\n"
            f"Giới tính: Nam\nNơi sinh: {place}\n")
    page = Page("t", "", 0, np.zeros((4, 4), np.uint8), 300.0, text=text)
    field = extract_fields(Document((page,), doc_type="birth_certificate")).fields["place_of_birth"]
    assert field.value == place and not field.needs_review, field.reason
    match = match_place(field.value)
    assert match is not None and match.pre_2025 and match.printed == place
    assert match.province_code_2025 == "01" and match.commune_2025 in ("Phường Hoàn Kiếm", "Phường Cửa Nam")
