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

:data:`FORMS` holds the held-out *wordings*: form versions of each type as printed in other years
and by other offices, with labels ``classifiers/labels.py`` has no entry for (``samples.forms``
turns them into ``FormVersion``s; ``sohoa bench extract --split unseen`` prints with them). They
are never to be read to tune the extractor: the extractor must find these labels by their
meaning-bearing words.
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


# doc_type → (name, year, source, {label key: wording}). Keys are the builders' label keys
# (samples.wording.label / printed). Wordings as the forms print them; see samples/forms.py for
# where each form is published.
FORMS: dict[str, tuple[tuple[str, int, str, dict[str, str]], ...]] = {
    "cccd": (
        ("Căn cước 2024 as printed (back: hết hạn, cấp)", 2024, "Circular 16/2024/TT-BCA", {
            "date_of_expiry": "Ngày, tháng, năm hết hạn / Date of expiry",
            "issue_date": "Ngày, tháng, năm cấp / Date of issue",
            "place_of_residence": "Nơi cư trú / Place of residence",
            "place_of_birth": "Nơi đăng ký khai sinh / Place of birth"}),
        ("CCCD mã vạch 2016 (Vietnamese only)", 2016, "Circular 61/2015/TT-BCA", {
            "personal_id": "Số", "full_name": "Họ và tên", "date_of_birth": "Ngày, tháng, năm sinh",
            "sex": "Giới tính", "nationality": "Quốc tịch", "place_of_origin": "Quê quán",
            "place_of_residence": "Nơi thường trú", "date_of_expiry": "Có giá trị đến"}),
        ("CMND-era wording on a re-issued card", 2012, "Decree 05/1999/NĐ-CP card (CMND)", {
            "full_name": "Họ tên", "date_of_birth": "Sinh ngày", "place_of_origin": "Nguyên quán",
            "place_of_residence": "Nơi ĐKHK thường trú", "date_of_expiry": "Giá trị đến"}),
    ),
    "birth_certificate": (
        ("Giấy khai sinh, Circular 04/2020/TT-BTP (bản chính)", 2020, "Circular 04/2020/TT-BTP", {
            "registration_place": "Nơi đăng ký khai sinh", "residence": "Nơi cư trú",
            "declarant": "Họ, chữ đệm, tên người đi đăng ký khai sinh", "personal_id": "Số định danh cá nhân"}),
        ("Giấy khai sinh, Decree 158/2005 (mẫu TP/HT-2010-KS.1)", 2010, "Circular 08.a/2010/TT-BTP", {
            "full_name": "Họ và tên người được khai sinh", "mother_name": "Họ và tên người mẹ đẻ",
            "father_name": "Họ và tên người cha đẻ", "residence": "Nơi thường trú/tạm trú",
            "registration_date": "Ngày, tháng, năm đăng ký khai sinh", "declarant": "Người đi khai",
            "personal_id": "Mã số định danh"}),
        ("Bản sao giấy khai sinh (trích lục), older wording", 2015, "Circular 15/2015/TT-BTP", {
            "full_name": "Họ tên khai sinh", "date_of_birth": "Ngày tháng năm sinh (bằng số)",
            "place_of_birth": "Nơi sinh ra", "mother_name": "Họ, chữ đệm, tên của mẹ",
            "father_name": "Họ, chữ đệm, tên của cha", "registration_place": "Cơ quan đăng ký khai sinh",
            "registration_date": "Ngày đăng ký khai sinh"}),
    ),
    "marriage_certificate": (
        ("Giấy chứng nhận kết hôn, Circular 04/2020/TT-BTP", 2020, "Circular 04/2020/TT-BTP", {
            "registration_place": "Nơi đăng ký kết hôn", "registration_date": "Ngày, tháng, năm đăng ký kết hôn",
            "residence": "Nơi cư trú", "personal_id": "Giấy tờ tùy thân (số)"}),
        ("Giấy chứng nhận kết hôn, Decree 158/2005", 2008, "Decree 158/2005/NĐ-CP forms", {
            "full_name": "Họ và tên", "date_of_birth": "Ngày, tháng, năm sinh", "residence": "Nơi thường trú",
            "personal_id": "Số CMND/CCCD", "registration_place": "Nơi đăng ký",
            "registration_date": "Ngày đăng ký kết hôn", "table_head": "Nội dung"}),
        ("Bản sao giấy chứng nhận kết hôn", 2016, "Circular 15/2015/TT-BTP", {
            "personal_id": "Số giấy tờ tùy thân", "registration_place": "Cơ quan đăng ký kết hôn",
            "registration_date": "Đăng ký kết hôn ngày"}),
    ),
    "death_certificate": (
        ("Trích lục khai tử, Circular 04/2020/TT-BTP", 2020, "Circular 04/2020/TT-BTP", {
            "residence": "Nơi cư trú cuối cùng", "registration_place": "Nơi đăng ký khai tử",
            "death_notice": "Số Giấy báo tử/Giấy tờ thay thế Giấy báo tử"}),
        ("Giấy chứng tử, Decree 158/2005", 2009, "Decree 158/2005/NĐ-CP forms", {
            "full_name": "Họ và tên người chết", "date_of_death": "Đã chết vào hồi",
            "place_of_death": "Nơi chết (ghi rõ địa điểm)", "residence": "Nơi thường trú cuối cùng",
            "personal_id": "Số CMND/CCCD", "registration_date": "Ngày đăng ký khai tử"}),
        ("Trích lục khai tử (bản sao), short wording", 2016, "Circular 15/2015/TT-BTP", {
            "full_name": "Họ, chữ đệm, tên người đã chết", "date_of_death": "Thời điểm chết",
            "place_of_death": "Địa điểm chết", "registration_place": "Cơ quan đăng ký khai tử",
            "registration_date": "Ngày, tháng, năm đăng ký khai tử"}),
    ),
    "residence_confirmation": (
        ("Xác nhận thông tin về cư trú, mẫu CT07", 2023, "Circular 66/2023/TT-BCA", {
            "full_name": "Họ, chữ đệm và tên", "personal_id": "Số định danh cá nhân",
            "place_of_residence": "Nơi thường trú", "household_head": "Họ, chữ đệm và tên chủ hộ",
            "current_residence": "Nơi ở hiện tại"}),
        ("Giấy xác nhận cư trú, older police form", 2016, "Circular 35/2014/TT-BCA", {
            "full_name": "Họ và tên công dân", "personal_id": "Số CMND/CCCD",
            "place_of_residence": "Địa chỉ cư trú", "date_of_birth": "Ngày, tháng, năm sinh",
            "household_head": "Chủ hộ"}),
        ("Xác nhận thông tin về cư trú, mẫu CT07 (2021)", 2021, "Circular 55/2021/TT-BCA", {
            "place_of_residence": "Nơi cư trú hiện nay", "personal_id": "Số định danh cá nhân/CMND",
            "current_residence": "Nơi ở thực tế"}),
    ),
    "land_use_certificate": (
        ("Giấy chứng nhận, Circular 10/2024/TT-BTNMT", 2024, "Circular 10/2024/TT-BTNMT", {
            "owner_section": "1. Người sử dụng đất, chủ sở hữu tài sản gắn liền với đất",
            "purpose": "Loại đất", "use_form": "Hình thức sử dụng đất", "term": "Thời hạn sử dụng đất",
            "land_origin": "Nguồn gốc sử dụng đất", "land_address": "Địa chỉ thửa đất",
            "owner_personal_id": "Số định danh cá nhân"}),
        ("Giấy chứng nhận, Circular 23/2014/TT-BTNMT", 2014, "Circular 23/2014/TT-BTNMT", {
            "owner_personal_id": "CMND số", "owner_address": "Địa chỉ thường trú",
            "purpose": "Mục đích sử dụng", "serial": "Số phát hành (seri)"}),
        ("Giấy chứng nhận quyền sử dụng đất (sổ đỏ), 1990s–2009", 2005, "Decree 181/2004/NĐ-CP forms", {
            "owner_name": "Tên người sử dụng đất", "parcel": "Số hiệu thửa đất", "map_sheet": "Số hiệu tờ bản đồ",
            "area": "Diện tích (m²)", "purpose": "Mục đích sử dụng đất", "owner_personal_id": "Số CMND",
            "land_address": "Vị trí thửa đất", "land_address_table": "Vị trí thửa đất"}),
    ),
    "business_registration": (
        ("Giấy chứng nhận đăng ký doanh nghiệp, Circular 68/2025/TT-BTC", 2025, "Circular 68/2025/TT-BTC", {
            "representative_birth": "Ngày, tháng, năm sinh", "personal_id": "Số định danh cá nhân",
            "representative_residence": "Địa chỉ liên lạc"}),
        ("Giấy chứng nhận đăng ký kinh doanh, before 2010", 2008, "Decree 88/2006/NĐ-CP forms", {
            "enterprise_code": "Số đăng ký kinh doanh/Mã số doanh nghiệp", "name_vi": "Tên doanh nghiệp",
            "name_foreign": "Tên giao dịch", "name_short": "Tên viết tắt", "head_office": "Trụ sở",
            "capital": "Vốn điều lệ (bằng số)", "representative_name": "Họ tên người đại diện"}),
        ("Giấy chứng nhận đăng ký doanh nghiệp, Circular 01/2021/TT-BKHĐT", 2021, "Circular 01/2021/TT-BKHĐT", {
            "name_vi": "Tên doanh nghiệp viết bằng tiếng Việt", "head_office": "Địa chỉ trụ sở chính",
            "personal_id": "Số giấy tờ pháp lý của cá nhân", "first_registered": "Đăng ký lần đầu ngày",
            "representative_residence": "Địa chỉ thường trú"}),
    ),
    "application_form": (
        ("Tờ khai hộ tịch, Circular 04/2020/TT-BTP", 2020, "Circular 04/2020/TT-BTP", {
            "applicant_name": "Họ, chữ đệm, tên người yêu cầu", "residence": "Nơi cư trú",
            "personal_id": "Giấy tờ tùy thân", "procedure": "Đề nghị cơ quan giải quyết"}),
        ("Tờ khai thay đổi thông tin cư trú, mẫu CT01", 2023, "Circular 66/2023/TT-BCA", {
            "applicant_name": "Họ, chữ đệm và tên", "personal_id": "Số định danh cá nhân",
            "procedure": "Nội dung đề nghị", "phone": "Số điện thoại liên hệ"}),
        ("Đơn đề nghị (chứng thực, đất đai)", 2018, "Decree 23/2015/NĐ-CP; Circular 24/2014/TT-BTNMT", {
            "applicant_name": "Người yêu cầu chứng thực", "personal_id": "Số CMND/CCCD",
            "procedure": "Nội dung yêu cầu", "residence": "Địa chỉ liên hệ"}),
    ),
}
