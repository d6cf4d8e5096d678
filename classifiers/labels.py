"""What each type prints before each field: label wordings, value kinds, where to look.

Wordings differ between form versions and offices ("Họ và tên", "Họ, chữ đệm, tên", "Họ tên"), and
cards add English ("Họ và tên / Full name"); every known wording is listed so a label on an unseen
form still matches fuzzily. Labels of things the contract does not ask for ("Quyển số", "Năm sinh" of a
parent) are listed too, under names starting with ``_``: they end the value before them and keep
"Số" from matching inside "Quyển số".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """How to read one field: its labels, the kind of value (a normaliser), and where to look."""

    field: str
    kind: str  # key of classifiers.normalise.NORMALISERS
    labels: tuple[str, ...]
    lines: int = 0  # wrapped continuation lines the value may take
    nth: int = 0  # which occurrence of the label; -1: the last (registration blocks end a paper)
    pair: int | None = None  # 0/1: first/second of a pair (husband, wife): a table's first/second value
    # cell, else the first/second occurrence of the label
    fallback: str | None = None  # "signing_date" | "title" | "authority" when no label is found


NAME = ("Họ, chữ đệm, tên", "Họ và tên", "Họ tên", "Họ, chữ đệm và tên", "Họ và tên khai sinh",
        "Họ, chữ đệm và tên khai sinh", "Họ và tên / Full name", "Họ, chữ đệm và tên khai sinh / Full name")
DOB = ("Ngày, tháng, năm sinh", "Ngày sinh", "Sinh ngày", "Ngày tháng năm sinh", "Date of birth",
       "Ngày sinh / Date of birth", "Ngày, tháng, năm sinh / Date of birth")
SEX = ("Giới tính", "Giới", "Giới tính / Sex")
ETHNICITY = ("Dân tộc", "Dân tộc / Ethnicity")
NATIONALITY = ("Quốc tịch", "Quốc tịch / Nationality")
PLACE_OF_BIRTH = ("Nơi sinh", "Sinh tại", "Nơi sinh / Place of birth")
ORIGIN = ("Quê quán", "Nguyên quán", "Quê quán / Place of origin")
PERSONAL_ID = ("Số định danh cá nhân", "Số ĐDCN", "Mã số định danh cá nhân", "Số định danh",
               "Số định danh cá nhân / Personal ID", "Số định danh cá nhân / Personal identification number",
               "Số CCCD", "CCCD số", "Căn cước số", "Số / No.")
RESIDENCE = ("Nơi cư trú", "Nơi thường trú", "Địa chỉ thường trú", "Nơi ở hiện nay",
             "Nơi cư trú / Place of residence", "Nơi thường trú / Place of residence")
MOTHER = ("Họ, chữ đệm, tên người mẹ", "Họ và tên mẹ", "Họ tên mẹ", "Họ, chữ đệm và tên mẹ", "Họ và tên người mẹ")
FATHER = ("Họ, chữ đệm, tên người cha", "Họ và tên cha", "Họ tên cha", "Họ, chữ đệm và tên cha",
          "Họ và tên người cha")
REG_PLACE = ("Nơi đăng ký", "Cơ quan đăng ký")
REG_DATE = ("Ngày, tháng, năm đăng ký", "Ngày đăng ký", "Đăng ký ngày", "Ngày tháng năm đăng ký")
CERT_NUMBER = ("Số",)
DATE_OF_DEATH = ("Đã chết vào lúc", "Chết vào lúc", "Thời gian chết", "Chết lúc", "Ngày, giờ chết")
PLACE_OF_DEATH = ("Nơi chết", "Nơi mất")
EXPIRY = ("Có giá trị đến", "Có giá trị đến / Date of expiry", "Date of expiry")


def _with(labels: tuple[str, ...], suffix: str) -> tuple[str, ...]:
    return tuple(f"{label} {suffix}" for label in labels if "/" not in label)


# Printed labels of things nobody asked for: they bound the values next to them, and outrank the
# shorter labels they contain.
DISTRACTORS = (
    Rule("_book", "text", ("Quyển số",)),
    Rule("_birth_year", "text", ("Năm sinh",)),
    Rule("_cause", "text", ("Nguyên nhân chết", "Nguyên nhân")),
    Rule("_phone", "text", ("Số điện thoại", "Điện thoại", "Số điện thoại liên hệ")),
    Rule("_email", "text", ("Email", "Thư điện tử")),
    Rule("_declarant", "text", ("Họ, chữ đệm, tên người đi khai sinh", "Người đi khai sinh")),
    Rule("_subject", "text", ("Họ, chữ đệm, tên người được cấp giấy tờ", "Quan hệ với người được cấp giấy tờ",
                              "Quan hệ với người được", "Họ, chữ đệm, tên người được")),
    Rule("_copies", "text", ("Số lượng bản sao đề nghị cấp",)),
    Rule("_head", "text", ("Họ, chữ đệm và tên chủ hộ", "Họ và tên chủ hộ")),
    Rule("_current", "text", ("Nơi ở hiện tại",)),
    Rule("_religion", "text", ("Tôn giáo",)),
    Rule("_role", "text", ("Chức danh",)),
    Rule("_form", "text", ("Hình thức sử dụng",)),
    Rule("_term", "text", ("Thời hạn sử dụng",)),
    Rule("_origin_land", "text", ("Nguồn gốc sử dụng",)),
    Rule("_book_gcn", "text", ("Số vào sổ cấp GCN",)),
    Rule("_issue", "text", ("Ngày cấp / Date of issue", "Ngày cấp")),
    Rule("_foreign", "text", ("Tên công ty viết bằng tiếng nước ngoài", "Tên công ty viết tắt")),
    Rule("_changed", "text", ("Đăng ký thay đổi lần thứ",)),
    Rule("_words", "text", ("Bằng chữ",)),
    Rule("_received", "text", ("Ngày tiếp nhận", "Người tiếp nhận", "Mã hồ sơ")),
    Rule("_features", "text", ("Đặc điểm nhân dạng / Personal identification", "Đặc điểm nhận dạng")),
)


def _rules(*rules: Rule) -> tuple[Rule, ...]:
    """A type's rules, plus every common label the type does not read, as a distractor."""
    mine = {label for rule in rules for label in rule.labels}
    extra = [Rule(f"_{key}", "text", tuple(lb for lb in labels if lb not in mine))
             for key, labels in (("residence", RESIDENCE), ("sex", SEX), ("ethnicity", ETHNICITY),
                                 ("nationality", NATIONALITY), ("dob", DOB), ("id", PERSONAL_ID))]
    return rules + DISTRACTORS + tuple(r for r in extra if r.labels)


RULES: dict[str, tuple[Rule, ...]] = {
    "cccd": _rules(
        Rule("personal_id", "personal_id", PERSONAL_ID + ("Số",)),  # a card's only "Số:" is its number
        Rule("full_name", "name", NAME),
        Rule("date_of_birth", "date", DOB),
        Rule("sex", "sex", SEX),
        Rule("nationality", "text", NATIONALITY),
        Rule("place_of_origin", "text", ORIGIN, lines=1),
        Rule("place_of_residence", "text", RESIDENCE, lines=2),
        Rule("date_of_expiry", "date", EXPIRY, lines=1),
        # the card's place of birth registration; on a civil-status paper the same words are its
        # registration place
        Rule("_place_birth_reg", "text", ("Nơi đăng ký khai sinh / Place of birth", "Nơi đăng ký khai sinh")),
    ),
    "birth_certificate": _rules(
        Rule("certificate_number", "number", CERT_NUMBER),
        Rule("full_name", "name", NAME),
        Rule("date_of_birth", "date", DOB),
        Rule("sex", "sex", SEX),
        Rule("ethnicity", "text", ETHNICITY),
        Rule("nationality", "text", NATIONALITY),
        Rule("place_of_birth", "text", PLACE_OF_BIRTH, lines=2),
        Rule("place_of_origin", "text", ORIGIN, lines=2),
        Rule("personal_id", "personal_id", PERSONAL_ID),
        Rule("mother_name", "name", MOTHER),
        Rule("father_name", "name", FATHER),
        Rule("registration_place", "text", REG_PLACE, lines=1, nth=-1),
        Rule("registration_date", "date", REG_DATE, nth=-1, fallback="signing_date"),
    ),
    "marriage_certificate": _rules(
        Rule("certificate_number", "number", CERT_NUMBER),
        Rule("husband_name", "name", _with(NAME, "chồng") + NAME, pair=0),
        Rule("husband_date_of_birth", "date", DOB, pair=0),
        Rule("husband_personal_id", "personal_id", PERSONAL_ID, pair=0),
        Rule("wife_name", "name", _with(NAME, "vợ") + NAME, pair=1),
        Rule("wife_date_of_birth", "date", DOB, pair=1),
        Rule("wife_personal_id", "personal_id", PERSONAL_ID, pair=1),
        Rule("registration_place", "text", REG_PLACE, lines=1, nth=-1),
        Rule("registration_date", "date", REG_DATE, nth=-1, fallback="signing_date"),
    ),
    "death_certificate": _rules(
        Rule("certificate_number", "number", CERT_NUMBER),
        Rule("full_name", "name", NAME),
        Rule("date_of_birth", "date", DOB),
        Rule("personal_id", "personal_id", PERSONAL_ID),
        Rule("date_of_death", "date", DATE_OF_DEATH),
        Rule("place_of_death", "text", PLACE_OF_DEATH, lines=2),
        Rule("registration_place", "text", REG_PLACE, lines=1, nth=-1),
        Rule("registration_date", "date", REG_DATE, nth=-1, fallback="signing_date"),
    ),
    "residence_confirmation": _rules(
        Rule("full_name", "name", NAME),
        Rule("personal_id", "personal_id", PERSONAL_ID),
        Rule("date_of_birth", "date", DOB),
        Rule("place_of_residence", "text", RESIDENCE, lines=2),
        Rule("issuing_authority", "text", (), fallback="authority"),
        Rule("issue_date", "date", ("Ngày cấp", "Ngày xác nhận"), fallback="signing_date"),
    ),
    "land_use_certificate": _rules(
        Rule("certificate_serial", "serial", ("Số phát hành", "Số seri", "Seri", "Số sê-ri")),
        Rule("owner_name", "name", ("Ông", "Bà", "Họ và tên chủ sử dụng")),
        Rule("owner_personal_id", "personal_id", PERSONAL_ID),
        Rule("parcel_number", "number", ("Thửa đất số", "Thửa số", "Số thửa")),
        Rule("map_sheet_number", "number", ("Tờ bản đồ số", "Số tờ bản đồ")),
        Rule("area_m2", "area", ("Diện tích",)),
        Rule("address", "text", ("Địa chỉ thửa đất", "Địa chỉ"), lines=2, nth=-1),
        Rule("land_use_purpose", "text", ("Mục đích sử dụng", "Mục đích sử dụng đất"), lines=1),
        Rule("issue_date", "date", ("Ngày cấp",), fallback="signing_date"),
    ),
    "business_registration": _rules(
        Rule("enterprise_code", "enterprise_code", ("Mã số doanh nghiệp", "Mã số thuế")),
        Rule("enterprise_name", "text", ("Tên công ty viết bằng tiếng Việt", "Tên doanh nghiệp viết bằng tiếng Việt",
                                         "Tên công ty viết bằng tiếng"),
             lines=1),
        Rule("address", "text", ("Địa chỉ trụ sở chính", "Trụ sở chính"), lines=2),
        Rule("legal_representative", "name", NAME),
        Rule("charter_capital", "money", ("Vốn điều lệ",)),
        Rule("registration_date", "date", ("Đăng ký lần đầu", "Ngày đăng ký lần đầu")),
    ),
    "application_form": _rules(
        Rule("form_title", "text", (), fallback="title"),
        Rule("applicant_name", "name", _with(NAME, "người yêu cầu") + ("Họ tên người khai", "Người khai",
                                                                       "Người làm đơn") + NAME),
        Rule("applicant_personal_id", "personal_id", PERSONAL_ID),
        Rule("procedure_name", "text", ("Thủ tục đề nghị giải quyết", "Tên thủ tục hành chính", "Nội dung đề nghị",
                                        "Thủ tục", "Đề nghị giải quyết thủ tục"), lines=2),
        Rule("date", "date", (), fallback="signing_date"),
    ),
}


@dataclass(frozen=True, slots=True)
class Meaning:
    """What a label is about, in the words that carry it (accent-folded): every ``need`` group must
    have one of its phrases in the label, ``also`` phrases add weight, any ``never`` phrase rules it
    out. A label no list has ("Họ và tên người mẹ đẻ", "Ngày, tháng, năm hết hạn") is read by these
    words, so a form version of another year still finds its field; the field whose words explain
    more of the label wins, and a tie between unrelated fields finds nothing (it still bounds the
    values around it)."""

    need: tuple[tuple[str, ...], ...]
    also: tuple[str, ...] = ()
    never: tuple[str, ...] = ()


_ID_WORDS = ("dinh danh", "cccd", "cmnd", "can cuoc", "tuy than", "giay to phap ly", "ddcn", "chung minh",
             "nhan than", "cmtnd", "ho chieu")
_RESIDENCE_WORDS = ("cu tru", "thuong tru", "tam tru", "noi o", "dkhk")
_PERSON_NAME = Meaning((("ten",),), ("ho", "khai sinh", "chu dem"),
                       ("me", "cha", "bo", "chu ho", "cong ty", "doanh nghiep", "nuoc ngoai", "viet tat", "giao dich",
                        "di khai", "di dang ky", "duoc cap", "thu tuc", "chu so huu"))

# Field (or distractor) → its meaning. Fields a type does not have are simply not candidates there.
MEANINGS: dict[str, Meaning] = {
    "full_name": _PERSON_NAME,
    "husband_name": _PERSON_NAME,
    "wife_name": _PERSON_NAME,
    # "Ông:", "Bà:", "Ông (Bà):", "Hộ ông:", "Hộ gia đình bà:" print the owner's name on land certificates
    "owner_name": Meaning((("ten", "nguoi su dung", "chu su dung", "ong", "ba", "ho gia dinh"),), ("ho",),
                          ("dia chi", "nam sinh")),
    "legal_representative": Meaning((("ten", "dai dien"),), ("ho", "nguoi"),
                                    ("cong ty", "doanh nghiep", "nuoc ngoai", "viet tat", "giao dich")),
    "applicant_name": Meaning((("ten", "nguoi yeu cau", "nguoi khai", "nguoi lam don", "nguoi de nghi"),),
                              ("ho", "nguoi yeu cau"), ("duoc cap", "thu tuc", "me", "cha")),
    "mother_name": Meaning((("me",),), ("ten", "ho", "nguoi me")),
    "father_name": Meaning((("cha", "bo"),), ("ten", "ho", "nguoi cha")),
    "date_of_birth": Meaning((("sinh",),), ("ngay",), ("noi", "dang ky", "het han", "cap", "tai")),
    "husband_date_of_birth": Meaning((("sinh",),), ("ngay",), ("noi", "dang ky", "tai")),
    "wife_date_of_birth": Meaning((("sinh",),), ("ngay",), ("noi", "dang ky", "tai")),
    "sex": Meaning((("gioi tinh", "gioi", "nam nu"),)),
    "ethnicity": Meaning((("dan toc",),)),
    "nationality": Meaning((("quoc tich",),)),
    "place_of_birth": Meaning((("sinh",), ("noi", "tai", "dia diem")), (), ("dang ky",)),
    "place_of_origin": Meaning((("que", "nguyen quan"),)),
    "personal_id": Meaning((_ID_WORDS,), ("so",), ("ngay", "noi", "cap ngay")),
    "husband_personal_id": Meaning((_ID_WORDS,), ("so",), ("ngay", "noi")),
    "wife_personal_id": Meaning((_ID_WORDS,), ("so",), ("ngay", "noi")),
    "owner_personal_id": Meaning((_ID_WORDS,), ("so",), ("ngay", "noi")),
    "applicant_personal_id": Meaning((_ID_WORDS,), ("so",), ("ngay", "noi")),
    "place_of_residence": Meaning((_RESIDENCE_WORDS + ("dia chi",),), (), ("thua dat", "tru so", "hien tai",
                                                                           "thuc te", "lien lac", "lien he")),
    "registration_place": Meaning((("dang ky",), ("noi", "co quan")), ("khai sinh", "ket hon", "khai tu", "ho tich")),
    "registration_date": Meaning((("dang ky", "lan dau"), ("ngay", "lan dau")),
                                 ("khai sinh", "ket hon", "khai tu", "thang", "nam"), ("thay doi", "noi")),
    "date_of_death": Meaning((("chet", "mat", "tu", "qua doi"),),
                             ("luc", "hoi", "thoi diem", "thoi gian", "ngay", "gio"),
                             ("noi", "dia diem", "tai", "nguyen nhan", "bao tu", "dang ky", "khai tu")),
    "place_of_death": Meaning((("chet", "mat", "qua doi"), ("noi", "dia diem", "tai")), (), ("nguyen nhan",)),
    "date_of_expiry": Meaning((("het han", "gia tri", "thoi han", "han su dung"),), ("ngay", "den")),
    "certificate_serial": Meaning((("seri", "se ri", "phat hanh"),)),
    "parcel_number": Meaning((("thua",),), ("so", "so hieu"), ("dia chi", "vi tri", "to ban do")),
    "map_sheet_number": Meaning((("ban do",),), ("to", "so hieu")),
    "area_m2": Meaning((("dien tich",),)),
    "address": Meaning((("dia chi", "vi tri", "tru so"),), ("thua dat", "tru so chinh"),
                       ("thuong tru", "lien lac", "lien he")),
    "land_use_purpose": Meaning((("muc dich", "loai dat"),)),
    "enterprise_code": Meaning((("ma so", "dang ky kinh doanh", "dkkd"),), ("doanh nghiep",)),
    "enterprise_name": Meaning((("ten",), ("cong ty", "doanh nghiep")), ("tieng viet",),
                               ("nuoc ngoai", "viet tat", "giao dich", "dai dien")),
    "charter_capital": Meaning((("von",),), ("dieu le",)),
    "procedure_name": Meaning((("thu tuc", "de nghi", "yeu cau", "noi dung"),), ("giai quyet",),
                              ("nguoi yeu cau", "ten", "ban sao")),
    # distractors: their words keep a value of theirs from being read as a field's
    "_birth_year": Meaning((("nam sinh",),), (), ("ngay", "thang")),
    "_cause": Meaning((("nguyen nhan",),)),
    "_phone": Meaning((("dien thoai",),)),
    "_email": Meaning((("email", "thu dien tu"),)),
    "_declarant": Meaning((("di khai", "di dang ky"),), ("nguoi",)),
    "_subject": Meaning((("duoc cap",),), ("quan he", "ten")),
    "_copies": Meaning((("ban sao",),)),
    "_head": Meaning((("chu ho",),), ("ten", "ho")),
    "_current": Meaning((("noi o", "cho o"), ("hien tai", "thuc te")), ("noi o",)),
    "_religion": Meaning((("ton giao",),)),
    "_role": Meaning((("chuc danh", "chuc vu"),)),
    "_form": Meaning((("hinh thuc",),)),
    "_term": Meaning((("thoi han",),)),
    "_origin_land": Meaning((("nguon goc",),)),
    "_issue": Meaning((("cap",), ("ngay",)), ("thang", "nam"), ("duoc cap", "het han")),
    "_place_birth_reg": Meaning((("dang ky khai sinh",),), ("noi",)),
    "_foreign": Meaning((("nuoc ngoai", "viet tat", "giao dich"),), ("ten",)),
    "_changed": Meaning((("thay doi",),)),
    "_words": Meaning((("bang chu",),)),
    "_received": Meaning((("tiep nhan", "ma ho so"),)),
    "_features": Meaning((("dac diem",),)),
    "_book": Meaning((("quyen so",),)),
    "_residence": Meaning((_RESIDENCE_WORDS + ("dia chi",),), (), ("thua dat", "tru so", "hien tai", "thuc te")),
    "_sex": Meaning((("gioi tinh",),)),
    "_ethnicity": Meaning((("dan toc",),)),
    "_nationality": Meaning((("quoc tich",),)),
    "_dob": Meaning((("sinh",),), ("ngay",), ("noi", "dang ky", "tai")),
    "_id": Meaning((_ID_WORDS,), ("so",), ("ngay", "noi")),
}


def _phrase_in(phrase: str, padded: str) -> bool:
    return f" {phrase} " in padded


def meaning_score(meaning: Meaning, words: str) -> int:
    """How many of the label's words ``meaning`` explains (0: not this field)."""
    padded = f" {words} "
    if any(_phrase_in(p, padded) for p in meaning.never):
        return 0
    score = 0
    for group in meaning.need:
        found = [len(p.split()) for p in group if _phrase_in(p, padded)]
        if not found:
            return 0
        score += max(found)
    return score + sum(len(p.split()) for p in meaning.also if _phrase_in(p, padded))


def field_by_meaning(words: str, fields: tuple[str, ...]) -> str | None:
    """The field among ``fields`` a label of these folded ``words`` is about, or None when none
    fits or two unrelated fields fit equally (a husband's and a wife's field are one pair: the
    first is returned, the pair reading picks the side)."""
    scored = sorted(((meaning_score(MEANINGS[f], words), i, f) for i, f in enumerate(fields) if f in MEANINGS),
                    key=lambda t: (-t[0], t[1]))
    if not scored or scored[0][0] == 0:
        return None
    best = scored[0]
    rivals = [f for s, _, f in scored[1:] if s == best[0]]
    if any(_pair_key(f) != _pair_key(best[2]) for f in rivals):
        return None
    return best[2]


def _pair_key(field: str) -> str:
    return field.replace("husband_", "").replace("wife_", "")
