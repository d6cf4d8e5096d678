"""Why a field is sent to review, in the words of the clerk who reviews it.

The stages record a field's reasons in English, joined by "; " (``Field.reason``): that text is the
trace developers and logs read, and other stages match on it (``classifiers.agreement``). A clerk at
a one-stop centre reads Vietnamese and needs to know what to check, not what the code did, so each
reason is also given a stable code and a plain Vietnamese sentence here. ``sohoa extract --json``
and the review station show the Vietnamese; the code and the English stay beside it for whoever
follows a reason back to the stage that gave it. A reason no entry knows is still shown, prefixed
with a sentence that says it needs checking: nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.model import nfc

# The contract's fields as a form names them.
FIELD_WORDS: dict[str, str] = {
    "personal_id": "số định danh cá nhân", "full_name": "họ, chữ đệm và tên", "date_of_birth": "ngày sinh",
    "sex": "giới tính", "nationality": "quốc tịch", "ethnicity": "dân tộc", "place_of_origin": "quê quán",
    "place_of_residence": "nơi cư trú", "place_of_birth": "nơi sinh", "date_of_expiry": "ngày hết hạn",
    "certificate_number": "số giấy tờ", "mother_name": "họ tên mẹ", "father_name": "họ tên cha",
    "registration_place": "nơi đăng ký", "registration_date": "ngày đăng ký",
    "husband_name": "họ tên chồng", "husband_date_of_birth": "ngày sinh của chồng",
    "husband_personal_id": "số định danh của chồng", "wife_name": "họ tên vợ",
    "wife_date_of_birth": "ngày sinh của vợ", "wife_personal_id": "số định danh của vợ",
    "date_of_death": "ngày chết", "place_of_death": "nơi chết", "issuing_authority": "cơ quan xác nhận",
    "issue_date": "ngày cấp", "certificate_serial": "số phát hành (seri)", "owner_name": "tên người sử dụng đất",
    "owner_personal_id": "số định danh của người sử dụng đất", "parcel_number": "số thửa đất",
    "map_sheet_number": "số tờ bản đồ", "area_m2": "diện tích", "address": "địa chỉ",
    "land_use_purpose": "mục đích sử dụng đất", "enterprise_code": "mã số doanh nghiệp",
    "enterprise_name": "tên doanh nghiệp", "legal_representative": "người đại diện theo pháp luật",
    "charter_capital": "vốn điều lệ", "applicant_name": "họ tên người yêu cầu",
    "applicant_personal_id": "số định danh của người yêu cầu", "procedure_name": "tên thủ tục",
    "form_title": "tên tờ khai", "date": "ngày ký",
    # the same words as the English reasons spell them
    "personal id": "số định danh cá nhân", "date of birth": "ngày sinh", "date of expiry": "ngày hết hạn",
    "personal ID": "số định danh cá nhân", "name": "họ tên", "land use purpose": "mục đích sử dụng đất",
}
_WHAT = {"name": "họ tên", "place": "địa chỉ"}


def field_words(name: str) -> str:
    """How a clerk names a field (the field's code when no entry has it)."""
    return FIELD_WORDS.get(name.strip(), FIELD_WORDS.get(name.strip().replace(" ", "_"), name))


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason: a stable ``code``, the stage's English ``en`` and the clerk's Vietnamese ``vi``."""

    code: str
    en: str
    vi: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "vi": self.vi, "en": self.en}


_Text = Callable[[re.Match[str]], str]


def _fixed(text: str) -> _Text:
    return lambda _m: text


def _words(listed: str) -> str:
    """The lexicon's word lists ("QUẦN (not QUÂN)", "Vj Thủy (read as Vị Thủy?)", "TRẦN (a surname,
    not a given name)") in Vietnamese."""
    listed = re.sub(r"\(not ([^)]+)\)", r"(từ điển có \1)", listed)
    listed = listed.replace("(a surname, not a given name)",
                            "(từ điển chỉ có chữ này là họ, không phải tên đệm hay tên: dễ đọc nhầm dấu)")
    return re.sub(r"\(read as ([^)]+?)\?\)", r"(có thể là \1?)", listed)


def _read_as(m: re.Match[str]) -> str:
    return f" (chữ in đọc được {m.group(1)})" if m.group(1) else ""


# (code, pattern over one English reason, Vietnamese sentence); the first pattern that matches wins.
_TABLE: tuple[tuple[str, re.Pattern[str], _Text], ...] = tuple((code, re.compile(pattern), text) for code, pattern, text in (
    ("not_found", r"not found", _fixed("Không tìm thấy trên giấy tờ: nhập tay theo bản giấy.")),
    ("no_rule", r"no rule", _fixed("Loại giấy tờ này chưa có quy tắc đọc trường này: nhập tay.")),
    ("empty", r"empty value", _fixed("Ô này để trống trên giấy tờ hoặc không đọc được: kiểm tra bản giấy.")),
    ("low_confidence", r"low OCR confidence ([\d.]+)(?: for an? (\w+))?",
     lambda m: f"Chữ in mờ hoặc hỏng, máy đọc không chắc chắn (độ tin cậy {m.group(1)}): đối chiếu với bản giấy."),
    ("guess", r"a guess from a damaged read", _fixed("Chữ bị hỏng, giá trị là máy đoán: đối chiếu với bản giấy.")),
    ("guessed_dd", r"guessed D/Đ: OCR confuses them", _fixed("Máy đoán chữ D hay Đ (hai chữ hay bị đọc nhầm).")),
    ("guessed", r"guessed (.+) from (.+)", lambda m: f"Máy đoán là «{m.group(1)}» từ chữ đọc được {m.group(2)}."),
    ("repaired", r"repaired (.+)", lambda m: f"Đã sửa ký tự đọc nhầm ({m.group(1)})."),
    ("restored", r"restored (.+)", lambda m: f"Đã thêm lại dấu theo từ điển ({m.group(1)})."),
    ("unknown_words", r"(name|place) word\(s\) not recognised: (.+)",
     lambda m: f"Có từ trong {_WHAT[m.group(1)]} không có trong từ điển: {_words(m.group(2))}. "
               "Kiểm tra chính tả và dấu theo bản giấy."),
    ("marks_guessed", r"(name|place) marks restored from the vocabulary, not confirmed: (.+)",
     lambda m: f"Dấu của {_WHAT[m.group(1)]} được thêm lại theo từ điển nhưng chưa chắc chắn: {m.group(2)}. "
               "Kiểm tra dấu theo bản giấy."),
    ("run_on", r"a long number inside a place: another field ran into it",
     _fixed("Địa chỉ lẫn một dãy số dài: có thể nội dung của ô khác bị đọc lẫn vào.")),
    ("cut_short", r"ends with an administrative word: cut short",
     _fixed("Địa chỉ kết thúc bằng «xã/phường/huyện/tỉnh…»: có thể bị cắt thiếu.")),
    ("not_in_list", r"not a known (.+)",
     lambda m: f"Giá trị không có trong danh mục {field_words(m.group(1))}: kiểm tra lại."),
    ("not_a_date", r"not a calendar date", _fixed("Không phải một ngày có thật trên lịch.")),
    ("implausible_year", r"implausible year", _fixed("Năm không hợp lý.")),
    ("future_date", r"date is in the future", _fixed("Ngày ở tương lai.")),
    ("too_old", r"date before 1900", _fixed("Ngày trước năm 1900.")),
    ("expiry_before_birth", r"expiry before birth", _fixed("Ngày hết hạn trước ngày sinh: một trong hai ngày đọc sai.")),
    ("date_order", r"(\w+) after (\w+)",
     lambda m: f"{field_words(m.group(1)).capitalize()} lại sau {field_words(m.group(2))}: "
               "một trong hai ngày bị đọc sai."),
    ("sex", r"sex must be Nam or Nữ", _fixed("Giới tính phải là Nam hoặc Nữ.")),
    ("enterprise_code", r"enterprise code must be 10 digits", _fixed("Mã số doanh nghiệp phải có 10 chữ số.")),
    ("name_characters", r"name has characters a name cannot have",
     _fixed("Họ tên có ký tự không thể có trong tên người (chữ số, ký hiệu).")),
    ("name_short", r"name has fewer than two words", _fixed("Họ tên chỉ có một chữ: có thể bị cắt thiếu.")),
    ("area", r"area must be a decimal number", _fixed("Diện tích phải là một con số.")),
    ("id_length", r"personal ID must be 12 digits", _fixed("Số định danh cá nhân phải có đủ 12 chữ số.")),
    ("id_province", r"province code (\d+) was never issued",
     lambda m: f"Ba số đầu {m.group(1)} của số định danh không phải mã tỉnh nào."),
    ("id_century", r"sex/century digit (\d) is not 0–5",
     lambda m: f"Chữ số thứ tư của số định danh ({m.group(1)}) phải từ 0 đến 5."),
    ("id_sex", r"sex/century digit (\d) contradicts sex (.+)",
     lambda m: f"Chữ số thứ tư của số định danh ({m.group(1)}) không khớp với giới tính {m.group(2)}."),
    ("id_birth_century", r"sex/century digit (\d) contradicts birth year (\d+)",
     lambda m: f"Chữ số thứ tư của số định danh ({m.group(1)}) không khớp với năm sinh {m.group(2)}."),
    ("id_birth_year", r"year digits (\d+) contradict birth year (\d+)",
     lambda m: f"Hai số năm sinh trong số định danh ({m.group(1)}) không khớp với năm sinh {m.group(2)}."),
    ("second_differs", r"a second reading differs: (.+)",
     lambda m: f"Đọc lại lần hai ra kết quả khác: {m.group(1)}. Đối chiếu với bản giấy."),
    ("second_gives", r"a second reading gives (.+)",
     lambda m: f"Đọc lại lần hai cho giá trị {m.group(1)}. Đối chiếu với bản giấy."),
    ("second_marks", r"marks from a second reading: (.+)", lambda m: f"Dấu lấy từ lần đọc thứ hai: {m.group(1)}."),
    ("from_qr", r"from the card's QR code(?: \(print read as (.+)\))?",
     lambda m: "Lấy từ mã QR trên thẻ" + _read_as(m) + "."),
    ("from_mrz", r"from the machine-readable zone(?: \(print read as (.+)\))?",
     lambda m: "Lấy từ vùng đọc bằng máy (MRZ) ở mặt sau thẻ" + _read_as(m) + "."),
    ("mrz_check_digit", r"the machine-readable zone's check digit for the (.+) does not match: compare the card itself",
     lambda m: f"Chữ số kiểm tra của {field_words(m.group(1))} trong vùng MRZ không khớp: đối chiếu với thẻ gốc."),
    ("mrz_birth", r"the machine-readable zone gives the birth date as (\d+) \(YYMMDD\)",
     lambda m: f"Vùng MRZ mặt sau thẻ ghi ngày sinh {m.group(1)[4:6]}/{m.group(1)[2:4]}/..{m.group(1)[:2]}, "
               "khác với chữ in: đối chiếu với thẻ gốc."),
    ("dossier_differs", r"(.+) differs from another paper of this dossier: (.+)",
     lambda m: f"{field_words(m.group(1)).capitalize()} khác với giấy tờ khác trong cùng hồ sơ ({m.group(2)}): "
               "kiểm tra giấy tờ nào đúng."),
    ("dossier_confirmed", r"confirmed: read alike on the (.+)",
     lambda m: f"Đã xác nhận: đọc giống nhau trên {m.group(1)}."),
    ("no_expiry", r"no expiry \(không thời hạn\)", _fixed("Không thời hạn.")),
    ("expiry_by_law", r"the QR code's birth and issue dates give this expiry by law, and it is printed on the card",
     _fixed("Ngày hết hạn tính theo luật từ ngày sinh và ngày cấp trong mã QR (đổi thẻ ở tuổi 25, 40, 60), "
            "khớp với ngày in trên thẻ.")),
    ("expiry_computed", r"computed from the QR code's birth and issue dates by law, not read on the card",
     _fixed("Ngày hết hạn tính theo luật từ ngày sinh và ngày cấp trong mã QR (đổi thẻ ở tuổi 25, 40, 60), "
            "chưa đọc được trên thẻ.")),
    ("not_read", r"not read on the card", _fixed("Không đọc được trên thẻ: đối chiếu với thẻ gốc.")),
))


def explain_one(reason: str) -> Reason:
    """One English reason with its code and Vietnamese sentence."""
    text = nfc(reason.strip())
    for code, pattern, vietnamese in _TABLE:
        match = pattern.fullmatch(text)
        if match:
            return Reason(code, text, vietnamese(match))
    return Reason("other", text, f"Cần kiểm tra lại ({text}).")


def explain(reason: str | None) -> list[Reason]:
    """Every reason of a field's ``reason`` text, in order, duplicates dropped."""
    if not reason:
        return []
    parts = [p.strip() for p in reason.split(";") if p.strip()]
    return [explain_one(p) for p in dict.fromkeys(parts)]


def in_vietnamese(reason: str | None) -> str:
    """A field's reasons as one Vietnamese text, for a clerk's screen."""
    return " ".join(r.vi for r in explain(reason))
