"""What a second reading of a number changes: a lost bar of Đ comes back, a disagreeing reading of
the same shape sends the value to review, a failed reading is no evidence."""

from __future__ import annotations

from classifiers.second import _checked
from core.model import Field


def test_a_number_read_otherwise_goes_to_review() -> None:
    f = _checked(Field("378", 0.87), "number", "578")
    assert f.value == "378" and f.needs_review and "578" in f.reason


def test_a_failed_reading_is_no_evidence() -> None:
    for failed in ("S13", "3780", "", "JTJA"):
        f = _checked(Field("513", 0.9), "number", failed)
        assert not f.needs_review, failed


def test_the_bar_of_d_comes_back_from_a_second_reading() -> None:
    f = _checked(Field("BD 390922", 0.9), "serial", "BĐ 390922")
    assert f.value == "BĐ 390922" and f.needs_review
    assert not _checked(Field("BĐ 390922", 0.9), "serial", "BĐ 390922").needs_review


def test_an_area_read_alike_is_left_alone() -> None:
    assert not _checked(Field("492.3", 0.95), "area", "492,3 m²").needs_review
    assert _checked(Field("492.3", 0.95), "area", "192,3 m²").needs_review
