"""Template versions of each document type: which form, of which year, words its labels how.

Real papers of one type are printed from forms that changed over the years (civil-status forms of
Decree 158/2005 and Circular 08.a/2010, Circular 15/2015/TT-BTP, Circular 04/2020/TT-BTP; the bar-code
CCCD of 2016, the chip CCCD of 2021, the Căn cước card of 2024; land-use certificates before and after
Circular 10/2024/TT-BTNMT; business registration under Circular 01/2021/TT-BKHĐT and its successors),
and a clerk meets all of them in one dossier. A :class:`FormVersion` records one such form: where
its wording comes from and the label it prints for each label key the builders use
(``samples.wording.label``/``printed`` keys).

Two splits keep the extraction benchmark honest (``sohoa bench extract --split``):

- ``seen``: the wordings the generator has always printed (``samples.wording.LABELS`` and the
  builders' own labels); ``classifiers/labels.py`` was written against them. They are recorded
  below as :data:`SEEN`, one version per layout wording.
- ``unseen``: versions whose wordings are kept in ``samples/holdout.py`` (:data:`holdout.FORMS`),
  a file nothing in ``classifiers/`` reads (the import layers forbid it, and nobody tunes on it).

Sources of the wordings (public): the form appendices of Circular 04/2020/TT-BTP (Giấy khai sinh,
Trích lục khai tử, Giấy chứng nhận kết hôn, Tờ khai đăng ký khai tử: "Nơi cư trú cuối cùng",
"Đã chết vào lúc", "Quan hệ với người đã chết"), Circular 15/2015/TT-BTP and Decree 158/2005/NĐ-CP
forms; Circular 16/2024/TT-BCA on the Căn cước card (front: "Số định danh cá nhân", "Họ, chữ đệm và
tên khai sinh"; back: "Nơi cư trú", "Nơi đăng ký khai sinh", "Ngày, tháng, năm cấp", "Ngày, tháng,
năm hết hạn"); Circular 06/2021/TT-BCA (chip CCCD) and 61/2015/TT-BCA (bar-code CCCD); Circular
23/2014/TT-BTNMT and 10/2024/TT-BTNMT (land-use certificates: "Thửa đất số", "Tờ bản đồ số",
"Loại đất", "Hình thức sử dụng đất"); Circular 01/2021/TT-BKHĐT and 68/2025/TT-BTC (enterprise
registration certificates); Circular 55/2021/TT-BCA, 66/2023/TT-BCA (residence forms CT07, CT01).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from core.model import nfc
from samples import holdout
from samples.wording import Layout

SPLITS = ("seen", "dev", "unseen")


@dataclass(frozen=True)
class FormVersion:
    """One printed form: its name, year and source, and the wording of each label it prints
    differently from the layout's (key → label text without its colon)."""

    doc_type: str
    name: str
    year: int
    source: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def apply(self, layout: Layout) -> Layout:
        """``layout`` printing this version's wordings (its arrangement, fonts and order stay)."""
        return replace(layout, labels=tuple((k, nfc(v)) for k, v in self.labels.items()))


def _seen(doc_type: str, names: tuple[str, ...]) -> tuple[FormVersion, ...]:
    return tuple(FormVersion(doc_type, name, 0, "samples.wording.LABELS, layout wording " + str(i))
                 for i, name in enumerate(names))


# The generator's own wordings, one per layout (the layout index picks it): what the extractor was
# built on. Their labels are the layout's (no overrides).
SEEN: dict[str, tuple[FormVersion, ...]] = {
    "cccd": _seen("cccd", ("CCCD gắn chip 2021, ảnh thẻ", "CCCD gắn chip 2021, bản sao hai mặt",
                           "Căn cước 2024, bản sao", "Căn cước 2024, ảnh hai mặt", "CCCD 2021, bản sao phóng to")),
    **{t: _seen(t, ("Thông tư 04/2020/TT-BTP wording (Họ, chữ đệm, tên)", "short wording (Họ và tên)",
                    "bilingual wording (Họ tên / Full name)", "numbered wording (Họ, chữ đệm và tên)",
                    "Căn cước-era wording (Họ và tên khai sinh)"))
       for t in ("birth_certificate", "marriage_certificate", "death_certificate", "residence_confirmation",
                 "land_use_certificate", "business_registration", "application_form", "other")},
}


def _dev(doc_type: str, *versions: tuple[str, int, str, dict[str, str]]) -> tuple[FormVersion, ...]:
    return tuple(FormVersion(doc_type, name, year, source, labels) for name, year, source, labels in versions)


# Development versions: wordings of other years and offices, written here from the public forms named
# in the module's docstring and from the identity papers they replaced (the 9-digit CMND: "Nguyên
# quán", "Nơi ĐKHK thường trú"; Decree 158/2005 civil-status forms: "Nơi thường trú/tạm trú", "Số Giấy
# CMND"). The extractor may be tuned on them (``sohoa bench extract --split dev``) by general means:
# their labels are not added to ``classifiers/labels.py`` one by one, the label's meaning-bearing
# words must find them. They are not the held-out wordings, which are still never read.
DEV: dict[str, tuple[FormVersion, ...]] = {
    "cccd": _dev(
        "cccd",
        ("CMND 9 số (mẫu 1999)", 1999, "Decree 05/1999/NĐ-CP identity card",
         {"personal_id": "Số", "full_name": "Họ tên", "date_of_birth": "Sinh ngày",
          "place_of_origin": "Nguyên quán", "place_of_residence": "Nơi ĐKHK thường trú"}),
        ("CCCD mã vạch 2016", 2016, "Circular 61/2015/TT-BCA",
         {"personal_id": "Số", "full_name": "Họ và tên", "date_of_birth": "Ngày, tháng, năm sinh",
          "sex": "Giới tính", "nationality": "Quốc tịch", "place_of_origin": "Quê quán",
          "place_of_residence": "Nơi thường trú", "date_of_expiry": "Có giá trị đến"}),
        ("Căn cước 2024, mặt sau", 2024, "Circular 16/2024/TT-BCA",
         {"personal_id": "Số định danh cá nhân", "full_name": "Họ, chữ đệm và tên khai sinh",
          "date_of_birth": "Ngày, tháng, năm sinh", "sex": "Giới tính", "nationality": "Quốc tịch",
          "place_of_origin": "Quê quán", "place_of_birth": "Nơi đăng ký khai sinh",
          "place_of_residence": "Nơi cư trú", "issue_date": "Ngày, tháng, năm cấp",
          "date_of_expiry": "Ngày, tháng, năm hết hạn"}),
    ),
    "birth_certificate": _dev(
        "birth_certificate",
        ("Giấy khai sinh, Nghị định 158/2005", 2006, "Decree 158/2005/NĐ-CP, form of Circular 08.a/2010",
         {"full_name": "Họ và tên", "date_of_birth": "Ngày, tháng, năm sinh", "place_of_birth": "Nơi sinh",
          "place_of_origin": "Quê quán", "mother_name": "Họ và tên mẹ", "father_name": "Họ và tên cha",
          "residence": "Nơi thường trú/tạm trú", "registration_place": "Nơi đăng ký khai sinh",
          "registration_date": "Ngày, tháng, năm đăng ký khai sinh", "personal_id": "Số định danh cá nhân"}),
        ("Trích lục khai sinh, Thông tư 15/2015", 2016, "Circular 15/2015/TT-BTP",
         {"full_name": "Họ, chữ đệm, tên người được khai sinh", "date_of_birth": "Sinh ngày",
          "place_of_birth": "Nơi sinh (ghi rõ tên cơ sở y tế)", "mother_name": "Họ, chữ đệm, tên của mẹ",
          "father_name": "Họ, chữ đệm, tên của cha", "residence": "Nơi cư trú hiện nay",
          "registration_date": "Đăng ký ngày", "personal_id": "Mã số định danh"}),
    ),
    "marriage_certificate": _dev(
        "marriage_certificate",
        ("Giấy chứng nhận kết hôn, Nghị định 158/2005", 2006, "Decree 158/2005/NĐ-CP",
         {"full_name": "Họ và tên", "date_of_birth": "Ngày, tháng, năm sinh", "personal_id": "Số Giấy CMND",
          "residence": "Nơi thường trú", "registration_place": "Nơi đăng ký kết hôn",
          "registration_date": "Ngày, tháng, năm đăng ký kết hôn"}),
        ("Giấy chứng nhận kết hôn, Thông tư 04/2020 (bảng)", 2020, "Circular 04/2020/TT-BTP",
         {"full_name": "Họ, chữ đệm, tên", "date_of_birth": "Ngày, tháng, năm sinh",
          "personal_id": "Giấy tờ tùy thân", "residence": "Nơi cư trú", "table_head": "Thông tin"}),
    ),
    "death_certificate": _dev(
        "death_certificate",
        ("Trích lục khai tử, Thông tư 04/2020", 2020, "Circular 04/2020/TT-BTP",
         {"personal_id": "Giấy tờ tùy thân", "residence": "Nơi cư trú cuối cùng",
          "date_of_death": "Đã chết vào lúc", "place_of_death": "Nơi chết",
          "registration_place": "Nơi đăng ký khai tử"}),
        ("Giấy chứng tử, Nghị định 158/2005", 2006, "Decree 158/2005/NĐ-CP",
         {"full_name": "Họ và tên người chết", "personal_id": "Số Giấy CMND", "date_of_death": "Chết vào hồi",
          "place_of_death": "Địa điểm chết", "registration_date": "Ngày, tháng, năm đăng ký khai tử",
          "death_notice": "Giấy báo tử hoặc giấy tờ thay thế số"}),
    ),
    "residence_confirmation": _dev(
        "residence_confirmation",
        ("Xác nhận thông tin về cư trú CT07, Thông tư 66/2023", 2023, "Circular 66/2023/TT-BCA",
         {"full_name": "Họ, chữ đệm và tên", "date_of_birth": "Ngày, tháng, năm sinh",
          "personal_id": "Số định danh cá nhân", "place_of_residence": "Nơi thường trú",
          "current_residence": "Nơi ở hiện tại", "household_head": "Họ, chữ đệm và tên chủ hộ"}),
        ("Giấy xác nhận cư trú, mẫu CT07 cũ", 2021, "Circular 56/2021/TT-BCA",
         {"full_name": "Họ và tên", "date_of_birth": "Sinh ngày", "personal_id": "Số CMND/CCCD",
          "place_of_residence": "Địa chỉ nơi cư trú", "household_head": "Họ tên chủ hộ"}),
    ),
    "land_use_certificate": _dev(
        "land_use_certificate",
        ("Giấy chứng nhận, Thông tư 17/2009", 2010, "Circular 17/2009/TT-BTNMT",
         {"serial": "Số sê-ri", "owner_personal_id": "CMND số", "parcel": "Thửa đất số",
          "map_sheet": "Tờ bản đồ số", "land_address": "Địa chỉ", "area": "Diện tích",
          "purpose": "Mục đích sử dụng", "use_form": "Hình thức sử dụng", "term": "Thời hạn sử dụng",
          "land_origin": "Nguồn gốc sử dụng", "owner_address": "Hộ khẩu thường trú"}),
        ("Giấy chứng nhận, Thông tư 10/2024", 2024, "Circular 10/2024/TT-BTNMT",
         {"owner_personal_id": "Số giấy tờ nhân thân", "parcel": "Số hiệu thửa đất",
          "map_sheet": "Số hiệu tờ bản đồ", "land_address": "Địa chỉ thửa đất", "area": "Diện tích (m²)",
          "purpose": "Loại đất", "use_form": "Hình thức sử dụng đất", "term": "Thời hạn sử dụng đất",
          "land_origin": "Nguồn gốc sử dụng đất", "owner_address": "Địa chỉ"}),
    ),
    "business_registration": _dev(
        "business_registration",
        ("Giấy chứng nhận đăng ký doanh nghiệp, Thông tư 20/2015", 2015, "Circular 20/2015/TT-BKHĐT",
         {"name_vi": "Tên doanh nghiệp viết bằng tiếng Việt", "name_foreign": "Tên doanh nghiệp viết bằng tiếng nước ngoài",
          "name_short": "Tên doanh nghiệp viết tắt", "head_office": "Địa chỉ trụ sở chính",
          "capital": "Vốn điều lệ (bằng số)", "representative_name": "Họ và tên",
          "representative_birth": "Ngày, tháng, năm sinh", "representative_residence": "Nơi đăng ký hộ khẩu thường trú"}),
        ("Giấy chứng nhận đăng ký doanh nghiệp, Thông tư 68/2025", 2025, "Circular 68/2025/TT-BTC",
         {"enterprise_code": "Mã số doanh nghiệp/Mã số thuế", "first_registered": "Ngày đăng ký lần đầu",
          "representative_name": "Họ, chữ đệm và tên", "representative_birth": "Ngày, tháng, năm sinh",
          "personal_id": "Số định danh cá nhân", "representative_residence": "Địa chỉ liên lạc"}),
    ),
    "application_form": _dev(
        "application_form",
        ("Tờ khai, Thông tư 04/2020", 2020, "Circular 04/2020/TT-BTP",
         {"applicant_name": "Họ, chữ đệm, tên người yêu cầu", "personal_id": "Giấy tờ tùy thân",
          "residence": "Nơi cư trú", "procedure": "Đề nghị cơ quan đăng ký"}),
        ("Đơn đề nghị, mẫu cũ", 2012, "Decree 23/2015/NĐ-CP and earlier application forms",
         {"applicant_name": "Tên tôi là", "personal_id": "Số CMND", "residence": "Hộ khẩu thường trú",
          "procedure": "Nội dung yêu cầu", "phone": "Điện thoại liên hệ"}),
    ),
}


def versions(doc_type: str, split: str) -> tuple[FormVersion, ...]:
    """The form versions of ``doc_type`` in ``split`` (``seen``, ``dev`` or ``unseen``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose from {', '.join(SPLITS)}")
    if split == "seen":
        return SEEN.get(doc_type, ())
    if split == "dev":
        return DEV.get(doc_type, ())
    return tuple(FormVersion(doc_type, name, year, source, labels)
                 for name, year, source, labels in holdout.FORMS.get(doc_type, ()))
