"""The nine document types of the contract (design.md), their field names and their titles.

Field names here are the contract: tests, benchmarks and the JSON of ``sohoa extract`` use them.
Titles are what the paper prints at its head; they are the strongest single piece of evidence for a
type, for the classifier and for splitting a stack of pages into documents.
"""

from __future__ import annotations

OTHER = "other"

DOC_TYPES: tuple[str, ...] = (
    "cccd",
    "birth_certificate",
    "marriage_certificate",
    "death_certificate",
    "residence_confirmation",
    "land_use_certificate",
    "business_registration",
    "application_form",
    OTHER,
)

VIETNAMESE_NAMES: dict[str, str] = {
    "cccd": "Căn cước / Căn cước công dân",
    "birth_certificate": "Giấy khai sinh",
    "marriage_certificate": "Giấy chứng nhận kết hôn",
    "death_certificate": "Trích lục khai tử",
    "residence_confirmation": "Xác nhận thông tin về cư trú",
    "land_use_certificate": "Giấy chứng nhận quyền sử dụng đất",
    "business_registration": "Giấy chứng nhận đăng ký doanh nghiệp",
    "application_form": "Tờ khai / Đơn đề nghị",
    OTHER: "Giấy tờ khác",
}

# The national public service portal names a paper by one name (TenGiayTo): the identity card by the
# name it carried when most cards in circulation were issued.
PORTAL_NAMES: dict[str, str] = {**VIETNAMESE_NAMES, "cccd": "Căn cước công dân"}

FIELDS: dict[str, tuple[str, ...]] = {
    "cccd": (
        "personal_id", "full_name", "date_of_birth", "sex", "nationality", "place_of_origin",
        "place_of_residence", "date_of_expiry",
    ),
    "birth_certificate": (
        "certificate_number", "full_name", "date_of_birth", "sex", "ethnicity", "nationality",
        "place_of_birth", "place_of_origin", "personal_id", "mother_name", "father_name",
        "registration_place", "registration_date",
    ),
    "marriage_certificate": (
        "certificate_number", "husband_name", "husband_date_of_birth", "husband_personal_id", "wife_name",
        "wife_date_of_birth", "wife_personal_id", "registration_place", "registration_date",
    ),
    "death_certificate": (
        "certificate_number", "full_name", "date_of_birth", "personal_id", "date_of_death", "place_of_death",
        "registration_place", "registration_date",
    ),
    "residence_confirmation": (
        "full_name", "personal_id", "date_of_birth", "place_of_residence", "issuing_authority", "issue_date",
    ),
    "land_use_certificate": (
        "certificate_serial", "owner_name", "owner_personal_id", "parcel_number", "map_sheet_number",
        "area_m2", "address", "land_use_purpose", "issue_date",
    ),
    "business_registration": (
        "enterprise_code", "enterprise_name", "address", "legal_representative", "charter_capital",
        "registration_date",
    ),
    "application_form": ("form_title", "applicant_name", "applicant_personal_id", "procedure_name", "date"),
    OTHER: (),
}

# Titles as printed (several wordings per type, old and new forms). Matched accent-folded and fuzzy.
TITLES: dict[str, tuple[str, ...]] = {
    "cccd": (
        "CĂN CƯỚC CÔNG DÂN", "CĂN CƯỚC", "CITIZEN IDENTITY CARD", "IDENTITY CARD",
        "Căn cước công dân / Citizen Identity Card",
    ),
    "birth_certificate": ("GIẤY KHAI SINH", "BIRTH CERTIFICATE", "BẢN SAO GIẤY KHAI SINH", "TRÍCH LỤC KHAI SINH"),
    "marriage_certificate": ("GIẤY CHỨNG NHẬN KẾT HÔN", "CERTIFICATE OF MARRIAGE", "TRÍCH LỤC KẾT HÔN"),
    "death_certificate": ("TRÍCH LỤC KHAI TỬ", "GIẤY CHỨNG TỬ", "BẢN SAO TRÍCH LỤC KHAI TỬ"),
    "residence_confirmation": (
        "XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ", "GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ", "XÁC NHẬN CƯ TRÚ",
        "THÔNG BÁO VỀ KẾT QUẢ GIẢI QUYẾT THỦ TỤC VỀ CƯ TRÚ",
    ),
    "land_use_certificate": (
        "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT",
        "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT",
        "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU TÀI SẢN GẮN LIỀN VỚI ĐẤT",
    ),
    "business_registration": (
        "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP",
        "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP CÔNG TY TRÁCH NHIỆM HỮU HẠN",
        "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP CÔNG TY CỔ PHẦN",
    ),
    "application_form": (
        "TỜ KHAI", "ĐƠN ĐỀ NGHỊ", "TỜ KHAI ĐĂNG KÝ KHAI SINH", "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
        "ĐƠN ĐĂNG KÝ", "TỜ KHAI ĐỀ NGHỊ", "PHIẾU YÊU CẦU", "ĐƠN XIN",
    ),
}

# Words a type's body carries that others rarely do: evidence when the title was lost to damage.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "cccd": ("Personal identification number", "Date of expiry", "Place of origin", "Place of residence",
             "Có giá trị đến", "Full name", "Nationality"),
    "birth_certificate": ("Nơi sinh", "người mẹ", "người cha", "Dân tộc", "khai sinh"),
    "marriage_certificate": ("kết hôn", "chồng", "vợ", "Bên chồng", "Bên vợ"),
    "death_certificate": ("khai tử", "đã chết", "Ngày, giờ chết", "Nơi chết", "Nguyên nhân chết", "chết"),
    "residence_confirmation": ("cư trú", "Nơi thường trú", "Công an", "Cơ quan cấp", "Chủ hộ"),
    "land_use_certificate": ("Thửa đất số", "Tờ bản đồ số", "Diện tích", "Mục đích sử dụng", "thửa đất",
                             "Hình thức sử dụng", "Thời hạn sử dụng"),
    "business_registration": ("Mã số doanh nghiệp", "Vốn điều lệ", "Người đại diện theo pháp luật", "Tên công ty",
                              "Trụ sở chính", "doanh nghiệp"),
    "application_form": ("Kính gửi", "Tôi tên là", "đề nghị", "Người làm đơn", "Người khai", "cam đoan",
                         "Họ, chữ đệm, tên người yêu cầu"),
}


def fields_of(doc_type: str) -> tuple[str, ...]:
    return FIELDS.get(doc_type, ())
