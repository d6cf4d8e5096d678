"""What the verification station derives and checks: typed values normalised and validated as at
extraction, the other readings and unsure letters shown beside a value, reasons in Vietnamese, and
names people confirmed joining the lexicon extraction consults."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from api.review import alternatives, normalise_typed, reason_vi, unsure_spans
from classifiers import lexicon
from classifiers.extract import apply_vocabulary
from classifiers.lexicon import LearnedWords
from core.model import Field
from storage.db import open_database
from storage.learned import LearnedKind, Vouched, learn, learned_words, vouched
from storage.review import FieldRefused


def test_typed_values_are_normalised_like_extraction() -> None:
    assert normalise_typed("cccd", "full_name", unicodedata.normalize("NFD", "nguyễn  thị tuân")) == "NGUYỄN THỊ TUÂN"
    assert normalise_typed("cccd", "date_of_birth", "05/11/1990") == "1990-11-05"
    assert normalise_typed("cccd", "date_of_birth", "1990-11-05") == "1990-11-05"
    assert normalise_typed("cccd", "personal_id", "001 090 012345") == "001090012345"
    assert normalise_typed("cccd", "sex", "nữ") == "Nữ"
    with pytest.raises(FieldRefused) as refused:
        normalise_typed("cccd", "personal_id", "00109OO12345")  # letters are refused, not repaired
    assert refused.value.field == "personal_id"
    with pytest.raises(FieldRefused):
        normalise_typed("cccd", "date_of_birth", "hôm qua")
    with pytest.raises(FieldRefused):
        normalise_typed("cccd", "full_name", "   ")


def test_alternatives_and_unsure_letters() -> None:
    entry = {"value": "NGUYỄN VĂN HÙNG", "reason": "a second reading differs: 'NGUYÊN VĂN HÙNG'; "
             "name marks restored from the vocabulary, not confirmed: NGUYEN→NGUYỄN"}
    alts = alternatives(entry)
    assert alts == ["NGUYÊN VĂN HÙNG", "NGUYEN VĂN HÙNG"]
    spans = unsure_spans(entry["value"], alts, entry["reason"])
    assert spans and all(entry["value"][a:b] in "NGUYỄN" for a, b in spans)  # the surname's marks only
    assert 4 in range(*spans[0])  # the Ễ
    unknown = {"value": "TRẦN THỊ TUÂN", "reason": "name word(s) not recognised: TUÂN (not TUẤN)"}
    assert alternatives(unknown) == ["TRẦN THỊ TUẤN"]
    assert reason_vi(unknown["reason"], flagged=True).startswith("có chữ trong tên không có trong danh mục")
    assert reason_vi("low OCR confidence 0.41 for a date", flagged=True) == "máy đọc không rõ (độ tin cậy 0.41)"
    reviewed = {"value": "X Y", "machine": {"value": "X Z", "reason": ""}}
    assert alternatives(reviewed) == ["X Z"]


def test_confirmed_names_join_the_lexicon(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'records.db'}")
    name = Field("NGUYỄN THỊ TUÂN", 0.95)
    before = apply_vocabulary("full_name", name, frozenset({"nguyễn", "thị", "tuân"}))
    assert before.needs_review
    place = Field("Thôn Khuổi Nậm, xã Quỳnh Lưu", 0.95)
    assert apply_vocabulary("place_of_origin", place).needs_review
    learn(db, [Vouched(LearnedKind.NAME, unicodedata.normalize("NFD", "NGUYỄN THỊ TUÂN"), "Nguyễn Thị An", None,
                       "full_name"),
               Vouched(LearnedKind.PLACE, "Thôn Khuổi Nậm,  xã Quỳnh Lưu", "Nguyễn Thị An", None, "place_of_origin")])
    known = LearnedWords.of(learned_words(db))
    assert "TUÂN" in known.names and "Thôn Khuổi Nậm" in known.places
    with lexicon.consulting(known):
        after = apply_vocabulary("full_name", name, frozenset({"nguyễn", "thị", "tuân"}))
        assert not after.needs_review and after.value == "NGUYỄN THỊ TUÂN"
        read_twice = frozenset({"thôn", "khuổi", "nậm", "xã", "quỳnh", "lưu"})
        assert not apply_vocabulary("place_of_origin", place, read_twice).needs_review
        # on one reading a taught word is not trusted: the flow reads it a second time
        once = apply_vocabulary("full_name", name)
        assert once.needs_review and "TUÂN (not TUẤN)" in once.reason
        # a read that lost the marks is still ambiguous (TUẤN or TUÂN): still reviewed, never guessed
        assert apply_vocabulary("full_name", Field("NGUYỄN THỊ TUAN", 0.95)).needs_review
    assert apply_vocabulary("full_name", name, frozenset({"nguyễn", "thị", "tuân"})).needs_review  # only within
    (latest, first) = vouched(db)
    assert first.text == "NGUYỄN THỊ TUÂN" and unicodedata.is_normalized("NFC", first.text)  # stored NFC
    assert first.official == "Nguyễn Thị An" and first.field == "full_name" and first.created is not None
    assert latest.text == "Thôn Khuổi Nậm, xã Quỳnh Lưu"
    db.dispose()


def test_a_taught_word_is_trusted_on_two_readings_only() -> None:
    """A taught "LAM" is also what OCR reads of a "LÂM" that lost its circumflex, and a taught word
    was vouched for once: read once it still goes to review (naming the twin where there is one),
    read alike twice it is trusted. A listed word is as before; a taught place likewise."""
    known = LearnedWords.of([("name", "TỐNG DIỆP LAM"), ("place", "Xã Trúc Bạch"), ("place", "Xã Ân Phú")])
    twice = frozenset({"tống", "diệp", "lam", "xã", "trúc", "bạch", "ân", "phú", "tỉnh", "lai", "châu"})
    with lexicon.consulting(known):
        alone = apply_vocabulary("full_name", Field("TỐNG DIỆP LAM", 0.95))
        assert alone.needs_review and "LAM (not LÂM)" in alone.reason and "DIỆP (taught, read once)" in alone.reason
        assert alternatives({"value": alone.value, "reason": alone.reason}) == ["TỐNG DIỆP LÂM"]
        taught = "(đã có người xác nhận, máy mới đọc một lần)"
        assert reason_vi(alone.reason, flagged=True) == (
            f"có chữ trong tên không có trong danh mục: TỐNG {taught}, DIỆP {taught}, LAM (hay LÂM?)")
        both = apply_vocabulary("full_name", Field("TỐNG DIỆP LAM", 0.95), twice)
        assert not both.needs_review and both.value == "TỐNG DIỆP LAM"
        assert not apply_vocabulary("full_name", Field("PHẠM VĂN LÂM", 0.95)).needs_review  # listed words
        for place in ("Xã Trúc Bạch, tỉnh Lai Châu", "Xã Ân Phú, tỉnh Lai Châu"):
            assert apply_vocabulary("place_of_origin", Field(place, 0.95)).needs_review
            assert not apply_vocabulary("place_of_origin", Field(place, 0.95), twice).needs_review
