"""Vietnamese syllable structure and the merging of two readings of one value."""

from __future__ import annotations

import pytest

from classifiers import lexicon
from classifiers.merge import merge_reads
from classifiers.syllable import is_syllable, marks_within
from samples import facts, holdout


def _words(phrases: tuple[str, ...]) -> set[str]:
    return {w for p in phrases for w in p.replace("-", " ").split()}


def test_every_name_syllable_any_list_holds_is_a_syllable() -> None:
    names = _words(lexicon.SURNAMES + lexicon.NAME_WORDS + holdout.NAME_SYLLABLES
                   + tuple(s for s, _ in facts.SURNAMES) + facts.GIVEN_MALE + facts.GIVEN_FEMALE)
    assert [w for w in names if not is_syllable(w) or not is_syllable(w.upper())] == []


def test_place_words_are_syllables_but_for_minority_names() -> None:
    words = _words(lexicon.PLACE_NAMES + lexicon.PROVINCES + holdout.PLACE_NAMES)
    outside = {w for w in words if not is_syllable(w)}
    # written from the languages of the Central Highlands and the north, not Vietnamese syllables
    assert outside <= {"Krông", "Búk", "Ea", "Kon", "Kạn", "Lắk", "Đắk"}, outside


@pytest.mark.parametrize("word", [
    "HỌC", "ĐỊCH", "THƯỚC", "QUYẾT", "KHUYẾN", "GIỮA", "GÌN", "NGHIÊM", "QUỲNH", "ƯỚC", "YÊN", "OANH",
])
def test_real_syllables(word: str) -> None:
    assert is_syllable(word)


@pytest.mark.parametrize("word", [
    "HÒC",  # a stop final takes only sắc or nặng
    "ĐÌCH", "THƯỜC", "UÚC",  # two tones / stop with huyền
    "CHIEU", "KHUE",  # "ieu", "ue" are not rhymes: the circumflex was lost
    "NGIÊM", "KA", "GE",  # k/gh/ngh before e ê i y, c/g/ng elsewhere
    "TH", "Ă", "X1",  # "ă" and "â" never end a syllable
])
def test_impossible_reads(word: str) -> None:
    assert not is_syllable(word)


def test_marks_within_is_about_lost_marks_only() -> None:
    assert marks_within("NGUYEN", "NGUYỄN") and marks_within("NGUYÊN", "NGUYỄN")
    assert marks_within("DANG", "ĐẶNG")
    assert not marks_within("TOÁN", "TOÀN")  # a different tone, not a lost one
    assert not marks_within("CHÍ", "CHI")  # a mark the other lacks
    assert not marks_within("TUAN", "TOAN")  # other letters


def test_merge_takes_the_marks_a_reading_kept() -> None:
    merged = merge_reads("PHUNG GIA TUÂN", "PHÙNG GIA TUÂN.")
    assert merged.text == "PHÙNG GIA TUÂN" and merged.taken == ("PHUNG→PHÙNG",)
    assert not merged.agreed and merged.confirmed == {"gia", "tuân"}


def test_merge_keeps_the_first_reading_where_the_second_lost_marks() -> None:
    merged = merge_reads("xã Trúc Bạch, huyện Lục Ngạn", "xã Truc Bạch huyện Lục Ngan")
    assert merged.text == "xã Trúc Bạch, huyện Lục Ngạn" and not merged.taken and not merged.agreed


def test_merge_of_two_equal_readings_agrees() -> None:
    merged = merge_reads("Số 12, đường Chùa Bộc", "Số 12 đường Chùa Bộc")
    assert merged.agreed and merged.text == "Số 12, đường Chùa Bộc"


def test_merge_prefers_a_possible_syllable_on_conflict() -> None:
    assert merge_reads("HOÀNG UÚC", "HOÀNG ƯỚC").text == "HOÀNG ƯỚC"
    assert merge_reads("HOÀNG ƯỚC", "HOÀNG UÚC").text == "HOÀNG ƯỚC"


def test_merge_takes_the_form_two_readings_share() -> None:
    merged = merge_reads("LÒ KHUE TRÚC THEU", "LÒ KHUẾ TRÚC THÊU", "LÒ KHUÊ TRÚC THÊU.")
    assert merged.text == "LÒ KHUẾ TRÚC THÊU"  # KHUẾ/KHUÊ: no majority, the first row reading's marks
    assert "thêu" in merged.confirmed and "khuế" not in merged.confirmed and not merged.agreed
    assert merge_reads("NGUYEN THU HẢO", "NGUYỄN THU HẢO", "NGUYÊN THU HẢO").text == "NGUYỄN THU HẢO"


def test_merge_lets_two_row_readings_outvote_the_page_on_letters() -> None:
    assert merge_reads("BANG HỮU KHÔI DỰ", ": ĐẶNG HỮU KHÔI DỰ", ": ĐĂNG HỮU KHÔI DỰ").text == "ĐẶNG HỮU KHÔI DỰ"
    # never in favour of something that is no word
    assert merge_reads("LÃ DIỆP LAM", "1Ã DIỆP LAM", "1Ã DIỆP LAM").text == "LÃ DIỆP LAM"


def test_merge_repairs_a_word_with_a_digit_in_the_row_readings_case() -> None:
    assert merge_reads("S6 141/15, đường Cầu Giấy", "Số 141/15, đường Cầu Giấy").text == "Số 141/15, đường Cầu Giấy"
