"""Agreement across a dossier: readings alike confirm, readings apart are flagged on both papers."""

from __future__ import annotations

from classifiers.agreement import agree
from core.model import Field

ID = "001090012345"


def ok(value: str) -> Field:
    return Field(value, 0.95)


def doubt(value: str, reason: str) -> Field:
    return Field(value, 0.6, needs_review=True, reason=reason)


def test_two_papers_reading_alike_settle_a_doubt() -> None:
    card = {"personal_id": ok(ID), "full_name": doubt("KHỔNG VĂN KHIÊM", "name word(s) not recognised: KHIÊM"),
            "date_of_birth": ok("1990-03-04")}
    form = {"applicant_personal_id": ok(ID), "applicant_name": ok("KHỔNG VĂN KHIÊM")}
    out = agree([("cccd", card), ("application_form", form)])
    name = out[0]["full_name"]
    assert not name.needs_review
    assert "confirmed: read alike on the application form" in name.reason


def test_readings_that_differ_are_flagged_on_both_papers_with_the_other_value() -> None:
    card = {"personal_id": ok(ID), "full_name": ok("TRẦN VĂN AN"), "date_of_birth": ok("1990-03-04")}
    birth = {"personal_id": ok(ID), "full_name": ok("TRẦN VĂN AN"), "date_of_birth": ok("1990-08-04")}
    out = agree([("cccd", card), ("birth_certificate", birth)])
    assert out[0]["date_of_birth"].needs_review and out[1]["date_of_birth"].needs_review
    assert "'1990-08-04' on the birth certificate" in out[0]["date_of_birth"].reason
    assert "'1990-03-04' on the cccd" in out[1]["date_of_birth"].reason
    assert not out[0]["full_name"].needs_review


def test_an_id_misread_on_one_paper_is_caught_by_name_and_birth_date() -> None:
    card = {"personal_id": ok(ID), "full_name": ok("TRẦN VĂN AN"), "date_of_birth": ok("1990-03-04")}
    residence = {"personal_id": ok("001090012845"), "full_name": ok("TRẦN VĂN AN"),
                 "date_of_birth": ok("1990-03-04")}
    out = agree([("cccd", card), ("residence_confirmation", residence)])
    assert out[0]["personal_id"].needs_review and out[1]["personal_id"].needs_review
    assert "personal ID differs" in out[1]["personal_id"].reason


def test_two_vocabulary_guesses_alike_confirm_nothing() -> None:
    guess = "name marks restored from the vocabulary, not confirmed: TUẤN"
    card = {"personal_id": ok(ID), "full_name": doubt("LÊ VĂN TUẤN", guess)}
    form = {"applicant_personal_id": ok(ID), "applicant_name": doubt("LÊ VĂN TUẤN", guess)}
    out = agree([("cccd", card), ("application_form", form)])
    assert out[0]["full_name"].needs_review and out[1]["applicant_name"].needs_review


def test_a_rule_the_value_breaks_stands() -> None:
    card = {"personal_id": ok(ID), "date_of_birth": Field("2090-01-01", 0.9, valid=False, needs_review=True,
                                                          reason="date is in the future")}
    birth = {"personal_id": ok(ID), "date_of_birth": ok("2090-01-01")}
    out = agree([("cccd", card), ("birth_certificate", birth)])
    assert out[0]["date_of_birth"].needs_review


def test_different_people_are_left_alone() -> None:
    card = {"personal_id": ok(ID), "full_name": doubt("TRẦN VĂN AN", "low OCR confidence 0.40")}
    other = {"personal_id": ok("079185000123"), "full_name": ok("LÊ THỊ BA")}
    out = agree([("cccd", card), ("birth_certificate", other)])
    assert out[0]["full_name"].needs_review and not out[1]["full_name"].needs_review
