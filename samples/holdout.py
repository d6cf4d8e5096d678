"""A held-out vocabulary: real Vietnamese name syllables and place names the lexicon does not know.

``classifiers.lexicon`` restores lost tone marks by matching words against known names and places,
and the generator's default lists overlap it almost entirely, so a benchmark on default samples never
meets a citizen whose name or commune is outside the lexicon. Documents drawn with this vocabulary
measure that case: the only right outcomes are the value as printed, or a value sent to review.

What "not in the lexicon" must mean follows from how the lexicon matches: on accent-folded words.
A word unknown even after folding ("Khiêm") is reported as unknown; a word that only differs in its
marks from a known one ("Tuân" beside "Tuấn") is not unknown to it at all, it is rewritten into the
known word. Both happen to real citizens, so names draw from two lists, checked by
``tests/samples/test_samples_holdout.py``: syllables disjoint from the lexicon's name syllables
after folding, and ``NAME_TWINS``, real syllables whose accented form is not in the lexicon but
whose folded form is. Place words are disjoint after folding from the lexicon's place words
(administrative words, provinces, communes, streets), but for ``PLACE_TWINS``. The default vocabulary (``samples.facts``)
is untouched unless :func:`held_out` is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from samples import facts

VOCABULARIES = ("default", "held-out")

SURNAMES: tuple[tuple[str, int], ...] = (
    ("Ông", 1), ("Khổng", 1), ("Khúc", 1), ("Mạc", 2), ("Ninh", 1), ("Phí", 1), ("Giáp", 1), ("Âu", 1),
    ("Ứng", 1), ("Thân", 1), ("Nghiêm", 2), ("Lã", 1), ("Lữ", 1), ("Bạch", 1), ("Cù", 1), ("Diệp", 1),
    ("Đàm", 2), ("Khương", 1), ("La", 1), ("Nông", 1), ("Phùng", 3), ("Tôn", 1), ("Viên", 1), ("Tiêu", 1),
    ("Khuất", 1), ("Bế", 1), ("Lò", 1), ("Mã", 1), ("Sầm", 1), ("Tống", 2), ("Cấn", 1), ("Ngụy", 1),
    ("Từ", 2),
)
MIDDLE_MALE = ("Đắc", "Khôi", "Tất", "Phụng", "Kỳ", "Chiêu", "Thiệu", "Khiêm")
MIDDLE_FEMALE = ("Thục", "Quế", "Ái", "Bội", "Khuê", "Trúc", "Diệp", "Thoại")
GIVEN_MALE = ("Nhuận", "Khiêm", "Doanh", "Hoạt", "Khiết", "Quyết", "Thiêm", "Tịnh", "Bằng", "Duẩn", "Khởi",
              "Lập", "Mẫn", "Phổ", "Thước", "Ước", "Vệ", "Khuyến", "Luyện", "Điền", "Thuận", "Kiệt",
              "Nhượng", "Chuyên", "Thưởng", "Dự", "Cẩn", "Huấn", "Mừng", "Tiệp", "Soạn",
              # twins: the lexicon knows Tuấn, Chi, Đặng, Hiền, Luân, Bình, Trần, Lương, Sang, ...
              "Tuân", "Chí", "Đăng", "Hiển", "Luận", "Bính", "Trấn", "Lượng", "Sáng", "Toán", "Trình",
              "Tuyển", "Vượng", "Quảng", "Đạo")
GIVEN_FEMALE = ("Thoa", "Xoan", "Duyên", "Điệp", "Gấm", "Lành", "Mận", "Sen", "Thắm", "Tươi", "Cúc", "Nhài",
                "Thêu", "Huệ", "Mơ", "Nụ", "Khuyên", "Thơm", "Mến", "Hợi", "Dịu", "Hòe", "Thuận",
                # twins
                "Hường", "Thụy", "Trân", "Tuyền", "Ngà", "Hiên", "Lam", "Hảo")
SECOND_MIDDLE_MALE = ("Khôi", "Tất", "Kỳ", "Chiêu")
SECOND_MIDDLE_FEMALE = ("Thục", "Quế", "Khuê", "Trúc")

COMMUNE_NAMES = (
    "Trúc Bạch", "Dịch Vọng", "Ô Chợ Dừa", "Bưởi", "Giáp Bát", "Bồ Đề", "Khúc Xuyên", "Hàng Bồ",
    "Ô Môn", "Thốt Nốt", "Ngã Bảy", "Chợ Gạo", "Đầm Dơi", "Ea Súp",
    "Ân Phú",  # a twin: the lexicon knows An Phú
)
PLACE_TWINS = ("Ân Phú",)
DISTRICT_NAMES = (
    "Lục Ngạn", "Con Cuông", "Bố Trạch", "Hóc Môn", "Xuyên Mộc", "Giồng Riềng", "Chợ Mới", "Krông Búk",
    "Buôn Đôn", "Mù Cang Chải", "Xín Mần", "Mèo Vạc",
)
STREETS = ("Chùa Bộc", "Huỳnh Thúc Kháng", "Phùng Khắc Khoan", "Hàng Buồm", "Bạch Đằng", "Núi Trúc", "Lò Sũ")
HAMLET_WORDS = ("Giữa", "Ngoài", "Cựu", "Đoài", "Chợ", "Ngòi", "Sậy", "Mít", "Dừa", "Mới", "Ngoại")

NAME_TWINS = ("Từ", "Tuân", "Chí", "Đăng", "Hiển", "Luận", "Bính", "Trấn", "Lượng", "Sáng", "Toán", "Trình",
              "Tuyển", "Vượng", "Quảng", "Đạo", "Hường", "Thụy", "Trân", "Tuyền", "Ngà", "Hiên", "Lam", "Hảo")
NAME_SYLLABLES = tuple(dict.fromkeys(
    [s for s, _ in SURNAMES] + list(MIDDLE_MALE + MIDDLE_FEMALE + GIVEN_MALE + GIVEN_FEMALE
                                    + SECOND_MIDDLE_MALE + SECOND_MIDDLE_FEMALE)))
PLACE_NAMES = COMMUNE_NAMES + DISTRICT_NAMES + STREETS + HAMLET_WORDS

# samples.facts attribute → held-out value. Every name's given name is held out; surnames and middle
# names mix the common known ones with held-out ones, as real names do, so a single unknown or twin
# syllable also turns up inside an otherwise known name ("NGUYỄN VĂN TUÂN"), the hard case to flag.
_SWAP = {
    "SURNAMES": facts.SURNAMES + tuple((s, 2 * w) for s, w in SURNAMES),
    "MIDDLE_MALE": facts.MIDDLE_MALE + MIDDLE_MALE, "MIDDLE_FEMALE": facts.MIDDLE_FEMALE + MIDDLE_FEMALE,
    "GIVEN_MALE": GIVEN_MALE, "GIVEN_FEMALE": GIVEN_FEMALE, "SECOND_MIDDLE_MALE": SECOND_MIDDLE_MALE,
    "SECOND_MIDDLE_FEMALE": SECOND_MIDDLE_FEMALE, "COMMUNE_NAMES": COMMUNE_NAMES,
    "DISTRICT_NAMES": DISTRICT_NAMES, "STREETS": STREETS, "HAMLET_WORDS": HAMLET_WORDS,
}


@contextmanager
def held_out() -> Iterator[None]:
    """Within the block, people and addresses of :mod:`samples.facts` (and so every generated
    document) are drawn from the held-out vocabulary (every given name, commune, district, street
    and hamlet; some surnames and middle names); provinces, ethnicities and the administrative
    words stay, being closed sets a real lexicon lists in full. Not thread-safe: generation in a
    block must not overlap generation outside it."""
    saved = {name: getattr(facts, name) for name in _SWAP}
    try:
        for name, value in _SWAP.items():
            setattr(facts, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(facts, name, value)


@contextmanager
def vocabulary(name: str) -> Iterator[None]:
    """``default`` (the generator as is) or ``held-out``."""
    if name not in VOCABULARIES:
        raise ValueError(f"unknown vocabulary {name!r}: choose from {', '.join(VOCABULARIES)}")
    if name == "default":
        yield
        return
    with held_out():
        yield
