"""Known words of names and places, to put back tone marks OCR lost and to flag what it can't.

Tesseract on a damaged scan reads "NGUYỄN" as "NGUYEN" or "Quỳnh Lưu" as "Quynh Luu" with high
confidence, so confidence alone lets wrong names through. Names and addresses are drawn from small
vocabularies (name syllables, administrative units, street names), so a word whose accent-folded form
matches exactly one known word is restored to it, and a word that matches several or none is sent to
review: a value is only trusted when every word of it is known. Names and commune or street names
are open sets, so a restoration of their marks is a proposal sent to review too: a real citizen's
"TUÂN" or commune "Ân Phú" differs from the known "TUẤN" or "An Phú" only in its marks
(``samples/holdout.py`` and ``sohoa bench extract --vocabulary held-out`` measure this). And only
a read with fewer marks than the known word is rewritten into it: a read with a mark the known word
lacks, or one two readings of the scan share (``classifiers.second``), is kept as read
(:func:`kept_as_read`); on the held-out bench, rewriting those turned right reads such as "TOÁN",
"HẢO", "ĐẠO" into the known "TOÀN", "HÀO", "ĐÀO" and was most of the names' errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from classifiers.places import register_names
from classifiers.syllable import is_syllable, marks_within
from classifiers.text import fold
from core.model import nfc
from core.personal_id import PROVINCE_CODES

SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
    "Dương", "Lý", "Đinh", "Trương", "Lâm", "Mai", "Tạ", "Lương", "Đào", "Đoàn", "Vương", "Trịnh", "Cao",
    "Hà", "Tô", "Quách", "Lưu", "Chu", "Kiều", "Thái", "Hứa", "Châu", "Triệu", "Văn", "Tăng", "Lại",
)
NAME_WORDS = (
    # middle names
    "Văn", "Thị", "Hữu", "Đức", "Minh", "Quốc", "Công", "Thành", "Quang", "Xuân", "Đình", "Gia", "Ngọc",
    "Trọng", "Anh", "Bá", "Tiến", "Thu", "Thanh", "Phương", "Kim", "Mai", "Hồng", "Bích", "Thùy", "Diệu",
    "Khánh", "Hải", "Hoài", "Bảo", "Quỳnh", "Tuyết", "Nhật", "Thế", "Duy", "Trung", "Mạnh", "Hoàng", "Phúc",
    "Tấn", "Thái", "Như", "Lan", "Huyền", "Cẩm", "Hoa", "Tường", "Vĩnh", "Khắc", "Viết", "Sỹ", "Sĩ",
    # given names
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hùng", "Huy", "Khoa", "Long", "Nam", "Phong", "Quân", "Sơn",
    "Tài", "Thắng", "Tuấn", "Việt", "Vinh", "Hiếu", "Lâm", "Thịnh", "Toàn", "Kiên", "Lộc", "Nghĩa", "Quý",
    "Tùng", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hương", "Linh", "Loan", "Nga", "Ngân", "Nhung", "Oanh",
    "Quyên", "Thảo", "Trang", "Uyên", "Vân", "Yến", "Hằng", "Hiền", "Lụa", "My", "Nhi", "Thủy", "Trâm",
    "Vy", "Hậu", "Hiệp", "Khải", "Khang", "Lực", "Nhân", "Phát", "Tâm", "Thiện", "Trí", "Tú", "Tuệ", "Hưng",
    "Cảnh", "Chiến", "Công", "Định", "Đông", "Hào", "Hòa", "Hoan", "Kha", "Lợi", "Luân", "Nguyên", "Phú",
    "Sang", "Tân", "Thạch", "Thông", "Tín", "Trường", "Tuyên", "Vũ", "Ánh", "Châu", "Diễm", "Đào", "Hân",
    "Hồng", "Lệ", "Liên", "Ly", "Mỹ", "Nguyệt", "Nhàn", "Phượng", "Sương", "Thơ", "Thư", "Tiên", "Trinh",
    "Vi", "Xuyến", "Yên",
)
ADMIN_WORDS = (
    "Số", "số", "đường", "tổ", "Tổ", "dân", "phố", "Tổ dân phố", "Thôn", "Xóm", "Ấp", "xã", "Xã", "phường",
    "Phường", "thị trấn", "thị xã", "huyện", "quận", "tỉnh", "Tỉnh", "thành phố", "Thành phố", "Ủy ban nhân dân",
    "Công an", "Bệnh viện Đa khoa", "Bệnh viện", "Tại nhà", "Trạm Y tế", "khu phố", "ngõ",
    "ngách", "hẻm", "Khu", "Bản", "Làng", "Việt Nam",
)
PROVINCES = tuple(sorted(set(PROVINCE_CODES.values()) | {
    "Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ", "Lai Châu", "Điện Biên", "Sơn La",
    "Lạng Sơn", "Quảng Ninh", "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Cao Bằng", "Tuyên Quang", "Lào Cai",
    "Thái Nguyên", "Phú Thọ", "Bắc Ninh", "Hưng Yên", "Ninh Bình", "Quảng Trị", "Quảng Ngãi", "Gia Lai",
    "Khánh Hòa", "Lâm Đồng", "Đắk Lắk", "Đồng Nai", "Tây Ninh", "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang",
}))
# Common commune, ward, district and street names; every province, district and commune of the
# national register, before and after 1 July 2025, is added from ``classifiers.places``.
PLACE_NAMES = (
    "Tân Phú", "An Khánh", "Hòa Bình", "Phú Lợi", "Đông Hưng", "Yên Lạc", "Bình Minh", "Thạch Hà", "Cẩm Lệ",
    "Hải Châu", "Long Biên", "Ba Đình", "Kim Liên", "Phước Long", "Xuân Phương", "Nghĩa Đô", "Tam Hiệp",
    "Quang Trung", "Hưng Đạo", "Lê Lợi", "Tân Định", "Bến Thành", "Sài Gòn", "An Phú", "Vĩnh Ninh",
    "Thủy Xuân", "Đông Ngạc", "Phú Diễn", "Yên Hòa", "Cát Linh", "Hồng Bàng", "Ngô Quyền", "Tân Lập",
    "Đồng Tâm", "Hợp Thịnh", "Minh Khai", "Trung Hòa", "Phú Mỹ", "Hòa Khánh", "Thanh Khê", "Gia Sàng",
    "Tích Lương", "Nam Sách", "Kim Thành", "Tiên Du", "Lạc Sơn", "Vạn Ninh", "Diên Khánh", "Phúc Thọ",
    "Gia Lâm", "Đông Anh", "Thanh Oai", "Nghi Lộc", "Hưng Nguyên", "Thạch Thất", "Yên Dũng", "Tiên Lãng",
    "Kiến Xương", "Hải Hậu", "Thọ Xuân", "Quỳnh Lưu", "Đức Thọ", "Phong Điền", "Điện Bàn", "Tư Nghĩa",
    "Tuy Phước", "Cam Lâm", "Di Linh", "Củ Chi", "Cần Giuộc", "Châu Thành", "Cái Nước", "Trảng Bom",
    "Bến Cát", "Long Điền", "Mỏ Cày", "Cầu Kè", "Lai Vung", "Tân Hiệp", "Vị Thủy", "Trần Hưng Đạo",
    "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Hùng Vương", "Phan Chu Trinh", "Điện Biên Phủ",
    "Nguyễn Du", "Lê Duẩn", "Trần Phú", "Nguyễn Huệ", "Lê Thánh Tông", "Phạm Văn Đồng", "Võ Thị Sáu",
    "Nguyễn Văn Cừ", "Tô Hiến Thành", "Bà Triệu", "Hoàng Diệu", "Kim Mã", "Cầu Giấy", "Lạc Long Quân",
    "Âu Cơ", "Nguyễn Chí Thanh", "Đông", "Tây", "Nam", "Bắc", "Thượng", "Hạ", "Trung", "Tân", "Phú", "An",
    "Hòa", "Lộc", "Hoàn Kiếm", "Đống Đa", "Tây Hồ", "Thanh Xuân", "Hoàng Mai", "Bình Thạnh", "Gò Vấp",
    "Thủ Đức", "Tân Bình", "Phú Nhuận", "Ninh Kiều", "Sơn Trà", "Liên Chiểu", "Ngũ Hành Sơn", "Lê Chân",
    "Bà Rịa - Vũng Tàu", "Thừa Thiên Huế", "Hòa Bình", "Đắk Nông", "Bình Dương", "Bình Phước",
)
ETHNICITIES = (
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "H'Mông", "Mông", "Dao", "Gia Rai", "Ê Đê",
    "Ba Na", "Sán Chay", "Chăm", "Cơ Ho", "Xơ Đăng", "Sán Dìu", "Hrê", "Ra Glai", "Mnông", "Thổ", "Stiêng",
    "Khơ Mú", "Bru - Vân Kiều", "Cơ Tu", "Giáy", "Tà Ôi", "Mạ", "Giẻ Triêng", "Co", "Chơ Ro", "Xinh Mun",
    "Hà Nhì", "Chu Ru", "Lào", "La Chí", "Kháng", "Phù Lá", "La Hủ", "La Ha", "Pà Thẻn", "Lự", "Ngái",
    "Chứt", "Lô Lô", "Mảng", "Cơ Lao", "Bố Y", "Cống", "Si La", "Pu Péo", "Rơ Măm", "Brâu", "Ơ Đu",
)
BUSINESS_WORDS = (
    "CÔNG TY", "TNHH", "CỔ PHẦN", "TRÁCH NHIỆM HỮU HẠN", "MỘT THÀNH VIÊN", "HAI THÀNH VIÊN TRỞ LÊN",
    "THƯƠNG MẠI", "DỊCH VỤ", "XÂY DỰNG", "CÔNG NGHỆ", "VẬN TẢI", "SẢN XUẤT", "VÀ", "ĐẦU TƯ", "NÔNG SẢN",
    "DU LỊCH", "PHÁT TRIỂN", "XUẤT NHẬP KHẨU", "TẬP ĐOÀN", "DOANH NGHIỆP TƯ NHÂN", "HỢP TÁC XÃ", "PHÁT",
    "THỊNH", "LONG", "GIA", "THÀNH CÔNG", "ĐẠI VIỆT", "HOÀNG GIA", "SAO MAI", "TÂN TIẾN", "VIỆT HƯNG",
    "BẢO NGỌC", "TRƯỜNG SƠN", "HẢI ĐĂNG", "NAM VIỆT", "AN PHÁT", "HƯNG THỊNH", "MINH LONG", "PHÚ GIA",
    "THIÊN", "PHÚC", "THỊNH VƯỢNG", "TOÀN CẦU", "QUỐC TẾ", "MIỀN BẮC", "MIỀN NAM", "SÀI GÒN", "HÀ NỘI",
)
PROCEDURES = (
    "Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử", "Cấp bản sao trích lục hộ tịch",
    "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "Đăng ký thường trú", "Đăng ký tạm trú",
    "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "Cấp thẻ căn cước", "Cấp đổi thẻ căn cước",
    "Xác nhận thông tin về cư trú", "Đăng ký thành lập doanh nghiệp", "Đăng ký biến động đất đai",
    "Cấp Giấy xác nhận tình trạng hôn nhân", "Đăng ký nhận cha, mẹ, con", "Thay đổi, cải chính hộ tịch",
)
FORM_TITLES = (
    "TỜ KHAI ĐĂNG KÝ KHAI SINH", "TỜ KHAI ĐĂNG KÝ KẾT HÔN", "TỜ KHAI ĐĂNG KÝ KHAI TỬ",
    "TỜ KHAI CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH", "ĐƠN ĐỀ NGHỊ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH",
    "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", "ĐƠN ĐĂNG KÝ, CẤP GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT",
    "TỜ KHAI ĐỀ NGHỊ CẤP CĂN CƯỚC", "TỜ KHAI ĐỀ NGHỊ CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
    "TỜ KHAI ĐĂNG KÝ THAY ĐỔI, CẢI CHÍNH HỘ TỊCH", "ĐƠN ĐĂNG KÝ BIẾN ĐỘNG ĐẤT ĐAI",
    "GIẤY ĐỀ NGHỊ ĐĂNG KÝ DOANH NGHIỆP",
)
NATIONALITIES = ("Việt Nam", "Lào", "Campuchia", "Trung Quốc", "Hàn Quốc", "Nhật Bản", "Hoa Kỳ", "Pháp", "Đức")
LAND_PURPOSES = (
    "Đất ở tại nông thôn", "Đất ở tại đô thị", "Đất trồng cây lâu năm", "Đất trồng lúa", "Đất trồng cây hằng năm khác",
    "Đất nuôi trồng thủy sản", "Đất rừng sản xuất", "Đất làm muối", "Đất nông nghiệp khác",
    "Đất thương mại, dịch vụ", "Đất cơ sở sản xuất phi nông nghiệp",
)


@dataclass(frozen=True, slots=True)
class Restored:
    """A value with marks restored where the vocabulary made it unambiguous."""

    text: str
    repaired: tuple[str, ...] = ()  # "NGUYEN→NGUYỄN"
    unknown: tuple[str, ...] = ()  # words not in the vocabulary, or matching several known words
    guessed: tuple[str, ...] = ()  # repairs the vocabulary cannot vouch for: the value is to be reviewed


def _index(phrases: Iterable[str]) -> dict[tuple[str, ...], set[str]]:
    out: dict[tuple[str, ...], set[str]] = {}
    for phrase in phrases:
        phrase = nfc(phrase)
        key = tuple(t for t in fold(phrase).split() if t[0].isalpha())
        out.setdefault(key, set()).add(phrase)
    return out


# -- what people confirmed ---------------------------------------------------------------------------
# Names and places a clerk confirmed or typed at the verification station join the vocabulary, so
# the same name is not sent to review again for the next dossier. They are kept in the records
# (``storage.learned``, with who vouched for them, on which document and field, and when); the flow
# loads them and hands them to extraction (``extract_fields(..., learned=)``), which consults them
# for the duration of one extraction (:func:`consulting`). A confirmed word is added as one more
# known form: a read that folds to it and to a listed word with other marks is still ambiguous and
# still reviewed.


@dataclass(frozen=True, slots=True)
class LearnedWords:
    """The words people vouched for: name syllables (upper case) and place names, NFC."""

    names: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    later: frozenset[str] = frozenset()  # of ``names``, those taught after a name's first word

    @classmethod
    def of(cls, entries: Iterable[tuple[str, str]]) -> LearnedWords:
        """From (kind, text) pairs, kind "name" (a full name) or "place" (an address: its
        comma-separated parts); other kinds are ignored."""
        names: set[str] = set()
        places: set[str] = set()
        later: set[str] = set()
        for kind, raw in entries:
            text = nfc(str(raw or ""))
            if kind == "name":
                words = [w for w in text.upper().split() if is_syllable(w)]
                names.update(words)
                later.update(words[1:])
            elif kind == "place":
                places.update(p for p in (" ".join(part.split()) for part in re.split(r"[,;]", text))
                              if any(c.isalpha() for c in p))
        return cls(frozenset(names), frozenset(places), frozenset(later))


NOTHING_LEARNED = LearnedWords()
_consulted: ContextVar[LearnedWords] = ContextVar("sohoa_learned_words", default=NOTHING_LEARNED)


@contextmanager
def consulting(learned: LearnedWords | None) -> Iterator[None]:
    """Within the block (this thread or task only), the vocabulary includes ``learned``. A context
    variable rather than an argument through every restoring function: extraction consults the
    vocabulary from several stages (the vocabulary step, the second reading's shortcut), and the
    words are one input of the whole extraction."""
    token = _consulted.set(learned or NOTHING_LEARNED)
    try:
        yield
    finally:
        _consulted.reset(token)


def learned_names() -> frozenset[str]:
    return _consulted.get().names


def learned_later() -> frozenset[str]:
    return _consulted.get().later


def learned_places() -> frozenset[str]:
    return _consulted.get().places


def _learned_doubt(read: str, forms: set[str], listed: set[str], confirmed: frozenset[str] | None) -> str | None:
    """Why ``read``, a form only people taught (the listed vocabulary lacks it), is not trusted on
    one reading; None when it is not such a form or a second reading of the scan read it alike.

    One clerk vouched for it once, on one paper; and a taught "LAM" or "TUÂN" is also what OCR
    reads of a "LÂM" or "TUẤN" that lost a mark, or a name whose other words the vocabulary lacked
    was only flagged because of them. So a taught word is trusted like a listed one only when two
    readings agree on it (``confirmed``, as in :func:`kept_as_read`); the flow reads it a second
    time because of this (``classifiers.second`` skips only values known as read)."""
    if not any(read == _cased(f, read) for f in forms) or any(read == _cased(f, read) for f in listed):
        return None
    if confirmed is not None and all(w.lower() in confirmed for w in read.replace("-", " ").split()):
        return None
    twins = sorted(t for t in {_cased(f, read) for f in forms} - {read} if marks_within(read, t))
    return f"{read} (not {'/'.join(twins)})" if twins else f"{read} (taught, read once)"


def name_index() -> dict[tuple[str, ...], set[str]]:
    return _name_index(learned_names())


@lru_cache(maxsize=4)
def _name_index(learned: frozenset[str]) -> dict[tuple[str, ...], set[str]]:
    return _index([w.upper() for w in SURNAMES + NAME_WORDS] + sorted(learned))


@lru_cache(maxsize=1)
def surname_index() -> dict[tuple[str, ...], set[str]]:
    return _index(w.upper() for w in SURNAMES)


def _later_forms(key: tuple[str, ...]) -> set[str]:
    """The forms a word after a name's first may be vouched for as: middle and given names and the
    syllables people confirmed in such a position, not surnames. A surname is known as a surname;
    in a later position "TRẦN" read from a printed "TRÂN" (a given name) is a look-alike the
    surname list, or a clerk's confirmed "TRẦN VĂN AN", would vouch for however many readings
    read it alike."""
    return _later_index(learned_later()).get(key, set())


@lru_cache(maxsize=4)
def _later_index(learned: frozenset[str]) -> dict[tuple[str, ...], set[str]]:
    return _index([w.upper() for w in NAME_WORDS] + sorted(learned))


def place_index() -> dict[tuple[str, ...], set[str]]:
    return _place_index(learned_places())


@lru_cache(maxsize=4)
def _place_index(learned: frozenset[str]) -> dict[tuple[str, ...], set[str]]:
    phrases = list(ADMIN_WORDS) + list(PROVINCES) + list(PLACE_NAMES) + list(_register_phrases()) + sorted(learned)
    return _index(phrases)


@lru_cache(maxsize=1)
def _register_phrases() -> tuple[str, ...]:
    """The register's unit names but those that fold to an administrative word or a province
    ("Tịnh" beside "tỉnh"): there the closed vocabulary decides, or every "tinh" would be ambiguous."""
    closed = _index(list(ADMIN_WORDS) + list(PROVINCES))
    return tuple(n for n in sorted(register_names())
                 if tuple(t for t in fold(nfc(n)).split() if t[0].isalpha()) not in closed)


def open_place_keys() -> frozenset[tuple[str, ...]]:
    return _open_place_keys(learned_places())


@lru_cache(maxsize=4)
def _open_place_keys(learned: frozenset[str]) -> frozenset[tuple[str, ...]]:
    """Folded keys of commune, district and street names, an open set (unlike administrative words
    and provinces): a real name one mark away from a listed one is not the listed one. Places
    people confirmed are open names too."""
    closed = _index(list(ADMIN_WORDS) + list(PROVINCES))
    return frozenset(k for k in _index(list(PLACE_NAMES) + list(_register_phrases()) + sorted(learned))
                     if k not in closed)


@lru_cache(maxsize=1)
def business_index() -> dict[tuple[str, ...], set[str]]:
    return _index(list(BUSINESS_WORDS) + [p.upper() for p in PROVINCES + PLACE_NAMES])


def _cased(form: str, like: str) -> str:
    """``form`` written in the case the OCR used for ``like`` (upper, capitalised or as is)."""
    letters = [c for c in like if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return form.upper()
    if like[:1].isupper() and not form[:1].isupper():
        return form[:1].upper() + form[1:]
    if like[:1].islower() and form[:1].isupper():
        return form[:1].lower() + form[1:]
    return form


def _undotted(word: str) -> str:
    return word.replace("ỉ", "i").replace("Ỉ", "I")


def kept_as_read(read: str, known: str, confirmed: frozenset[str] | None = None) -> bool:
    """Whether ``read``, one known word once folded but not that word, is kept as read instead of
    rewritten into the known word (either way it goes to review).

    OCR loses marks far more often than it adds them: a read with fewer marks than the known word
    ("NGUYEN", "NGUYÊN" for "NGUYỄN") is that word with marks lost, but a read that carries a mark
    the known word lacks ("TOÁN" beside "TOÀN", "CHÍ" beside "CHI") is more likely a real name the
    vocabulary does not list, as long as each of its words can be a syllable at all; a hook on an
    "i" is the exception, the dot of the i as Tesseract often reads it on a scan. ``confirmed``
    holds the words (lower-case) a second reading read exactly alike, None when there was none: with
    a second reading only a read both readings share is kept, and then even one with fewer marks
    ("LAM" twice is Lam, not a misread Lâm)."""
    words = read.replace("-", " ").split()
    if not all(is_syllable(w) for w in words):
        return False
    if confirmed is not None and not all(w.lower() in confirmed for w in words):
        return False
    if marks_within(read, known):
        return confirmed is not None
    return not marks_within(_undotted(read), known)


def restore_name(name: str, confirmed: frozenset[str] | None = None) -> Restored:
    """An upper-case name, each syllable checked against the name vocabulary; the first one
    against surnames, which settles "NGUYEN" (Nguyễn, not the given name Nguyên).

    A syllable read differently from its one known folding is rewritten into the known form, but
    only as a proposal (``guessed``): name syllables are an open set, and many real ones differ from
    a known one only in their marks ("LAM" beside "LÂM", "TUÂN" beside "TUẤN", "BÍNH" beside
    "BÌNH"), so the word OCR read may be exactly what was printed. Only a name read exactly as
    known words is trusted; anything the vocabulary had to change goes to review. A syllable
    :func:`kept_as_read` stays as read and goes to review as an unknown word instead; a surname
    the surname list knows is always restored (surnames are nearly a closed set). After the first
    word only middle and given names (and taught syllables) vouch for a word as read: a word the
    vocabulary knows only as a surname goes to review there, its marks unconfirmed."""
    words = name.split()
    out, repaired, unknown = [], [], []
    for i, word in enumerate(words):
        key = (fold(word),)
        known = name_index().get(key, set())
        surname = i == 0 and bool(surname_index().get(key))
        if surname:
            known = surname_index()[key]  # the first word of a name is a surname
        doubt = None if surname else _learned_doubt(word, known, _name_index(frozenset()).get(key, set()), confirmed)
        if doubt:
            out.append(word)
            unknown.append(doubt)
        elif i > 0 and word in known and word not in _later_forms(key):
            # known only as a surname, read where the middle or given name stands
            out.append(word)
            unknown.append(f"{word} (a surname, not a given name)")
        elif word in known:
            out.append(word)
        elif len(known) == 1 and (surname or not kept_as_read(word, next(iter(known)), confirmed)):
            form = next(iter(known))
            out.append(form)
            repaired.append(f"{word}→{form}")
        elif len(known) == 1:
            out.append(word)
            unknown.append(f"{word} (not {next(iter(known))})")
        else:
            out.append(word)
            unknown.append(word)
    return Restored(" ".join(out), tuple(repaired), tuple(unknown), guessed=tuple(repaired))


_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+|[^\w\s]|_", re.UNICODE)


def restore_place(text: str, index: dict[tuple[str, ...], set[str]] | None = None,
                  confirmed: frozenset[str] | None = None) -> Restored:
    """An address or place: known phrases (administrative words, units, streets) restored, words
    outside them reported. Numbers and punctuation are kept as read. With the place vocabulary, a
    commune, district or street name whose marks had to be changed is only a proposal (``guessed``),
    as for names: "Ân Phú" is a real commune, not a misread "An Phú"."""
    open_keys = open_place_keys() if index is None else frozenset()
    index = index or place_index()
    longest = max(len(k) for k in index) + 2  # room for hyphens inside a name
    tokens = list(_TOKEN.finditer(text))
    out: list[str] = []
    repaired, unknown, guessed = [], [], []
    pos, i = 0, 0
    while i < len(tokens):
        token = tokens[i]
        out.append(text[pos:token.start()])
        word = token.group(0)
        if not word[0].isalpha():
            out.append(word)
            pos, i = token.end(), i + 1
            continue
        matched = False
        for n in range(min(longest, len(tokens) - i), 0, -1):
            span = tokens[i:i + n]
            if any(not t.group(0)[0].isalpha() and t.group(0) != "-" for t in span):
                continue
            key = tuple(fold(t.group(0)) for t in span if t.group(0) != "-")
            forms = index.get(key)
            if not forms:
                continue
            read = text[span[0].start():span[-1].end()]
            if n > 1 and read not in forms and _is_admin_word(span[0].group(0)):
                continue  # "tỉnh Hà Tĩnh" is not the commune "Tịnh Hà" followed by a "Tĩnh"
            doubt = _learned_doubt(read, forms, _place_index(frozenset()).get(key, set()), confirmed) \
                if open_keys else None
            if doubt:
                out.append(read)
                unknown.append(doubt)
            elif read in forms or any(read == _cased(f, read) for f in forms):
                out.append(read)
            elif key in open_keys and len(forms) == 1 and kept_as_read(read, _cased(next(iter(forms)), read),
                                                                       confirmed):
                out.append(read)
                unknown.append(f"{read} (not {'/'.join(sorted(_cased(f, read) for f in forms))})")
            elif len({_cased(f, read) for f in forms}) == 1:
                form = _cased(next(iter(forms)), read)
                out.append(form)
                repaired.append(f"{read}→{form}")
                if key in open_keys:
                    guessed.append(f"{read}→{form}")
            else:
                out.append(read)
                unknown.append(read)
            pos, i, matched = span[-1].end(), i + n, True
            break
        if not matched:
            guess = _fuzzy_phrase(index, tokens, i)
            if guess is not None:
                n, form = guess
                read = text[tokens[i].start():tokens[i + n - 1].end()]
                form = _cased(form, read)
                out.append(form)
                unknown.append(f"{read} (read as {form}?)")
                pos, i = tokens[i + n - 1].end(), i + n
                continue
            out.append(word)
            unknown.append(word)
            pos, i = token.end(), i + 1
    out.append(text[pos:])
    return Restored("".join(out), tuple(repaired), tuple(unknown), tuple(guessed))


_KEYS: dict[tuple[int, int], tuple[dict[tuple[str, ...], set[str]], tuple[str, ...]]] = {}


def _keys_of_length(index: dict[tuple[str, ...], set[str]], n: int) -> tuple[str, ...]:
    """The index's keys of ``n`` words, joined: what a fuzzy guess compares a read with. An index is
    built once per vocabulary and kept (``lru_cache``), so its identity names it; the entry holds the
    index itself so that identity is not reused."""
    entry = _KEYS.get((id(index), n))
    if entry is None or entry[0] is not index:
        if len(_KEYS) > 64:
            _KEYS.clear()
        entry = (index, tuple(" ".join(key) for key in index if len(key) == n))
        _KEYS[(id(index), n)] = entry
    return entry[1]


@lru_cache(maxsize=1)
def _admin_words() -> frozenset[str]:
    return frozenset(nfc(w).lower() for w in ADMIN_WORDS if " " not in w)


def _is_admin_word(word: str) -> bool:
    """A word read exactly as an administrative word ("tỉnh", "xã", "Phường") is one."""
    return nfc(word).lower() in _admin_words()


def _fuzzy_phrase(index: dict[tuple[str, ...], set[str]], tokens: list[re.Match[str]],
                  i: int) -> tuple[int, str] | None:
    """A known phrase one OCR slip away ("Vj Thủy" → "Vị Thủy"): a guess, still to be reviewed.

    Not over words all read with marks: a word OCR read with its marks ("Bạch", "Huỳnh") is more
    likely a real name the vocabulary lacks than a slip, and the clerk is better shown it as read
    than a look-alike ("Bắc", "Huyện")."""
    for n in (3, 2, 1):
        span = tokens[i:i + n]
        if len(span) < n or any(not t.group(0)[0].isalpha() for t in span):
            continue
        if all(t.group(0).lower() != fold(t.group(0)) for t in span):
            continue
        read = " ".join(fold(t.group(0)) for t in span)
        if len(read) < 4:
            continue
        keys = _keys_of_length(index, n)
        scored = process.extract(read, keys, scorer=fuzz.ratio, limit=2)  # the best two, in C
        if not scored or scored[0][1] < 80:
            continue
        if len(scored) > 1 and scored[1][1] >= scored[0][1] - 5:
            continue
        forms = index[tuple(scored[0][0].split(" "))]
        if len(forms) == 1:
            return n, next(iter(forms))
    return None


def snap_choice(text: str, choices: Iterable[str], *, cutoff: float = 88.0) -> tuple[str, bool]:
    """The known value ``text`` was read from (fuzzy, accent-folded), and whether it was certain."""
    options = {fold(c): c for c in choices}
    match = process.extractOne(fold(text), list(options), scorer=fuzz.ratio, score_cutoff=cutoff)
    if match is None:
        return text, False
    return options[match[0]], True
