"""How Vietnamese documents write things: label variants, numbers and dates in words, layout styles.

Real papers of one type differ in label wording ("Họ và tên" / "Họ, chữ đệm, tên"), header
arrangement, fonts and field order depending on the form version and the office that printed them.
A layout index fixes one such combination, so a classifier can be trained on some layouts and
benchmarked on the others without ever having seen their wording or arrangement.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from core.model import nfc


@dataclass(frozen=True)
class Layout:
    """One way of printing a document; indices mean the same across all nine types."""

    index: int
    family: str
    size_pt: float
    spacing: float
    field_mode: str  # inline | tab | ruled
    header: str  # columns | stacked | centred
    wording: int  # index into every label's variants
    pairs: bool  # short fields share a line
    numbered: bool  # "1. Họ và tên:"
    id_first: bool  # the personal ID right after the name instead of further down
    bilingual: bool  # "Họ và tên / Full name" (cards, some certificates)
    frame: bool  # decorative border (certificates)
    title_scale: float
    date_words: bool  # dates also written in words where forms ask for it
    margins: tuple[int, int, int, int]
    # False lays A4 pages out without drawing them (each page a 1x1 blank image): the printed text
    # and fields are unchanged and cost a fifth of the time, for callers that need only those.
    draw: bool = True
    # A form version's own label wordings (key → label without its colon, see samples.forms): they
    # replace the layout's wording for those keys, exactly as printed (no English added).
    labels: tuple[tuple[str, str], ...] = ()

    def printed_label(self, key: str) -> str | None:
        """The form version's wording for ``key``, if it has one."""
        for name, text in self.labels:
            if name == key:
                return text
        return None


LAYOUT_STYLES: tuple[Layout, ...] = (
    Layout(0, "noto-serif", 13, 1.45, "inline", "columns", 0, False, False, False, False, False, 1.45, True,
           (260, 200, 200, 200)),
    Layout(1, "dejavu-sans", 11, 1.55, "tab", "stacked", 1, False, True, True, False, False, 1.3, False,
           (236, 220, 180, 200)),
    Layout(2, "dejavu-serif", 12, 1.5, "ruled", "columns", 2, True, False, False, True, True, 1.5, True,
           (250, 260, 250, 260)),
    Layout(3, "noto-sans", 10.5, 1.6, "inline", "centred", 3, True, True, True, False, False, 1.35, False,
           (300, 220, 220, 220)),
    Layout(4, "dejavu-serif-condensed", 14, 1.4, "tab", "columns", 4, False, False, False, False, True, 1.6,
           False, (220, 180, 200, 180)),
)


def size_px(points: float) -> int:
    """Font size in pixels at 300 dpi."""
    return round(points * 300 / 72)


# Label variants, chosen by ``Layout.wording`` (cycled when a label has fewer variants).
LABELS: dict[str, tuple[str, ...]] = {
    "full_name": ("Họ, chữ đệm, tên", "Họ và tên", "Họ tên", "Họ, chữ đệm và tên", "Họ và tên khai sinh"),
    "date_of_birth": ("Ngày, tháng, năm sinh", "Ngày sinh", "Sinh ngày", "Ngày tháng năm sinh",
                      "Ngày, tháng, năm sinh"),
    "sex": ("Giới tính", "Giới tính", "Giới tính", "Giới", "Giới tính"),
    "ethnicity": ("Dân tộc",),
    "nationality": ("Quốc tịch",),
    "place_of_birth": ("Nơi sinh", "Nơi sinh", "Sinh tại", "Nơi sinh", "Nơi sinh"),
    "place_of_origin": ("Quê quán", "Quê quán", "Nguyên quán", "Quê quán", "Quê quán"),
    "personal_id": ("Số định danh cá nhân", "Số định danh cá nhân", "Số ĐDCN", "Mã số định danh cá nhân",
                    "Số định danh"),
    "residence": ("Nơi cư trú", "Nơi thường trú", "Địa chỉ thường trú", "Nơi cư trú", "Nơi ở hiện nay"),
    "mother_name": ("Họ, chữ đệm, tên người mẹ", "Họ và tên mẹ", "Họ tên mẹ", "Họ, chữ đệm và tên mẹ",
                    "Họ và tên người mẹ"),
    "father_name": ("Họ, chữ đệm, tên người cha", "Họ và tên cha", "Họ tên cha", "Họ, chữ đệm và tên cha",
                    "Họ và tên người cha"),
    "birth_year": ("Năm sinh",),
    "registration_place": ("Nơi đăng ký", "Nơi đăng ký", "Cơ quan đăng ký", "Nơi đăng ký", "Nơi đăng ký"),
    "registration_date": ("Ngày, tháng, năm đăng ký", "Ngày đăng ký", "Đăng ký ngày", "Ngày tháng năm đăng ký",
                          "Ngày đăng ký"),
    "certificate_number": ("Số", "Số", "Số", "Số", "Số"),
    "book_number": ("Quyển số", "Quyển số", "Quyển số", "Quyển", "Quyển số"),
    "date_of_death": ("Đã chết vào lúc", "Chết vào lúc", "Thời gian chết", "Đã chết vào lúc", "Chết lúc"),
    "place_of_death": ("Nơi chết", "Nơi chết", "Nơi mất", "Nơi chết", "Nơi chết"),
    "cause_of_death": ("Nguyên nhân chết", "Nguyên nhân", "Nguyên nhân chết", "Nguyên nhân chết", "Nguyên nhân"),
    "phone": ("Số điện thoại", "Điện thoại", "Số điện thoại liên hệ", "ĐT", "Điện thoại"),
}

BILINGUAL: dict[str, str] = {
    "full_name": "Full name", "date_of_birth": "Date of birth", "sex": "Sex", "nationality": "Nationality",
    "place_of_origin": "Place of origin", "residence": "Place of residence", "personal_id": "Personal ID",
    "ethnicity": "Ethnicity", "place_of_birth": "Place of birth",
}


def label(layout: Layout, key: str, *, suffix: str = "") -> str:
    """The label for ``key`` as ``layout`` prints it, with its colon."""
    own = layout.printed_label(key)
    if own is not None:
        return nfc(own + suffix + ":")
    variants = LABELS[key]
    text = variants[layout.wording % len(variants)] + suffix
    if layout.bilingual and key in BILINGUAL and not suffix:
        text += f" / {BILINGUAL[key]}"
    return nfc(text + ":")


def printed(layout: Layout, key: str, default: str) -> str:
    """A label the builders print in one wording of their own (``default``, with or without its
    colon), unless the form version words it otherwise; the colon follows ``default``."""
    own = layout.printed_label(key)
    if own is None:
        return default
    return nfc(own + (":" if default.endswith(":") else ""))


MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")

_UNITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _below_thousand(n: int, full: bool) -> list[str]:
    """Words for 0 < n < 1000; ``full`` writes the hundreds even when zero (inside a larger number)."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [_UNITS[hundreds], "trăm"]
    if tens == 0:
        if units and words:
            words += ["linh", _UNITS[units]]
        elif units:
            words.append(_UNITS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else _UNITS[units])
    else:
        words += [_UNITS[tens], "mươi"]
        if units == 1:
            words.append("mốt")
        elif units == 5:
            words.append("lăm")
        elif units:
            words.append(_UNITS[units])
    return words


def number_words(n: int) -> str:
    """A non-negative integer in Vietnamese words, as written on certificates ("một nghìn chín trăm…")."""
    if n == 0:
        return "không"
    groups = []
    while n:
        n, g = divmod(n, 1000)
        groups.append(g)
    scales = ("", "nghìn", "triệu", "tỷ", "nghìn tỷ")
    words: list[str] = []
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            continue
        words += _below_thousand(g, full=bool(words))
        if scales[i]:
            words.append(scales[i])
    return nfc(" ".join(words))


def date_words(day: int, month: int, year: int) -> str:
    """``Ngày mười hai tháng ba năm một nghìn chín trăm chín mươi`` (birth certificates)."""
    month_word = {1: "một", 4: "tư"}.get(month, number_words(month))
    return nfc(f"Ngày {number_words(day)} tháng {month_word} năm {number_words(year)}")


def ascii_fold(text: str) -> str:
    """Vietnamese without marks, for an enterprise's foreign-language name."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def group_thousands(n: int) -> str:
    """``5.000.000.000`` as Vietnamese documents print money."""
    return f"{n:,}".replace(",", ".")
