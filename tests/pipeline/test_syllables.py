"""Vietnamese syllables by the rules of the orthography."""

from __future__ import annotations

import unicodedata

from pipeline.syllables import is_syllable, split_tone


def test_words_of_every_shape_are_syllables() -> None:
    words = ["a", "ở", "yêu", "oai", "khuya", "hoà", "hòa", "thuở", "gì", "gìn", "giếng", "quốc", "quy", "người", "được", "nghiêng", "chuyện", "Nguyễn", "xuất", "kết", "cổ", "biểu", "để", "Đầu", "tỉnh", "thẩm", "chuẩn", "vấn", "Cổng", "QUẢNG", "NGÃI", "ếch", "anh", "kênh", "huynh", "uống"]
    assert [w for w in words if not is_syllable(w)] == []
    assert is_syllable(unicodedata.normalize("NFD", "Nguyễn"))  # decomposed text too


def test_a_stop_final_takes_only_the_rising_or_the_heavy_tone() -> None:
    assert is_syllable("xuất") and is_syllable("học") and is_syllable("thích") and is_syllable("đạp")
    for word in ("xuât", "kêt", "xuầt", "hoc", "thỉch", "đãp"):
        assert not is_syllable(word), word


def test_impossible_spellings_are_refused() -> None:
    for word in ("ci", "ngi", "ghá", "ka", "quu", "tiê", "ă", "âh", "ainh", "oich", "bb", "UBND", "x", "caá", "vănn"):
        assert not is_syllable(word), word
    assert not is_syllable("")
    assert not is_syllable("Nhưtrên")  # two syllables run together
    assert not is_syllable("l7")


def test_the_tone_is_split_from_the_letters() -> None:
    assert split_tone("Đầu") == ("đâu", "huyen")
    assert split_tone("cổ") == ("cô", "hoi")
    assert split_tone("tam") == ("tam", None)
    assert split_tone("ắạ")[1] == "many"
