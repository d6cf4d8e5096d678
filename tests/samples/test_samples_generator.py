"""The generator's ground truth: contract fields, valid IDs, consistent dates, exact NFC text."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date

import numpy as np
import pytest

from core.errors import InputError
from core.personal_id import check_personal_id
from samples.facts import TODAY
from samples.generator import CONTRACT_FIELDS, DOC_TYPES, LAYOUTS, generate_document

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_FIELDS = {"date_of_birth", "date_of_expiry", "registration_date", "date_of_death", "issue_date", "date",
               "husband_date_of_birth", "wife_date_of_birth"}
NAME_FIELDS = {"full_name", "mother_name", "father_name", "husband_name", "wife_name", "owner_name",
               "legal_representative", "applicant_name"}


def _day(value: str) -> date:
    assert ISO.match(value), value
    return date.fromisoformat(value)


def _printed_forms(name: str, value: str) -> list[str]:
    """How a ground-truth value can appear on the page."""
    if name in DATE_FIELDS:
        d = date.fromisoformat(value)
        return [d.strftime("%d/%m/%Y"), f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"]
    if name == "area_m2":
        return [value.replace(".", ",")]
    return [value]


def test_public_constants() -> None:
    assert DOC_TYPES == ("cccd", "birth_certificate", "marriage_certificate", "death_certificate",
                         "residence_confirmation", "land_use_certificate", "business_registration",
                         "application_form", "other")
    assert set(LAYOUTS) == set(DOC_TYPES)
    assert all(n >= 3 for n in LAYOUTS.values())


def test_every_type_and_layout_has_its_contract_fields(clean_documents) -> None:
    seen = {(doc.doc_type, doc.layout) for doc in clean_documents}
    assert seen == {(t, n) for t in DOC_TYPES for n in range(LAYOUTS[t])}
    for doc in clean_documents:
        assert set(doc.fields) == set(CONTRACT_FIELDS[doc.doc_type]), doc.doc_type
        for name, value in doc.fields.items():
            assert value and value == value.strip(), (doc.doc_type, doc.layout, name)
            assert unicodedata.is_normalized("NFC", value)
            if name in DATE_FIELDS:
                _day(value)
            if name in NAME_FIELDS:
                assert value == value.upper()
        if "sex" in doc.fields:
            assert doc.fields["sex"] in ("Nam", "Nữ")
        if "area_m2" in doc.fields:
            assert float(doc.fields["area_m2"]) > 0 and re.fullmatch(r"\d+(\.\d+)?", doc.fields["area_m2"])
        if "enterprise_code" in doc.fields:
            assert re.fullmatch(r"\d{10}", doc.fields["enterprise_code"])


def test_fields_are_printed_on_the_page(clean_documents) -> None:
    for doc in clean_documents:
        flat = " ".join(doc.text.split())
        for name, value in doc.fields.items():
            assert any(" ".join(form.split()) in flat for form in _printed_forms(name, value)), \
                (doc.doc_type, doc.layout, name, value)


def test_personal_ids_match_sex_and_birth_year(clean_documents) -> None:
    checked = 0
    for doc in clean_documents:
        f = doc.fields
        pairs = [("personal_id", f.get("sex"), f.get("date_of_birth")),
                 ("husband_personal_id", "Nam", f.get("husband_date_of_birth")),
                 ("wife_personal_id", "Nữ", f.get("wife_date_of_birth")),
                 ("owner_personal_id", None, None), ("applicant_personal_id", None, None)]
        for key, sex, birth in pairs:
            if key in f:
                year = _day(birth).year if birth else None
                verdict = check_personal_id(f[key], sex=sex, birth_year=year)
                assert verdict.ok, (doc.doc_type, key, f[key], verdict.reason)
                checked += 1
    assert checked >= 30


def test_dates_are_consistent(clean_documents) -> None:
    for doc in clean_documents:
        f = doc.fields
        for name in DATE_FIELDS & set(f):
            assert _day(f[name]) <= TODAY or name == "date_of_expiry", (doc.doc_type, name)
        if doc.doc_type == "cccd":
            assert _day(f["date_of_expiry"]) > TODAY.replace(year=2021) and _day(f["date_of_expiry"]) > _day(
                f["date_of_birth"])
        if doc.doc_type == "birth_certificate":
            assert _day(f["date_of_birth"]) <= _day(f["registration_date"])
        if doc.doc_type == "death_certificate":
            assert _day(f["date_of_birth"]) < _day(f["date_of_death"]) <= _day(f["registration_date"])
        if doc.doc_type == "marriage_certificate":
            registered = _day(f["registration_date"])
            assert (registered - _day(f["husband_date_of_birth"])).days >= 20 * 365
            assert (registered - _day(f["wife_date_of_birth"])).days >= 18 * 365


def test_text_is_nfc_and_matches_pages(clean_documents) -> None:
    for doc in clean_documents:
        assert unicodedata.is_normalized("NFC", doc.text)
        assert doc.text.count("\f") == len(doc.pages) - 1
        lines = doc.text.replace("\f", "\n").split("\n")
        assert all(line and line == line.strip() and "  " not in line for line in lines), doc.doc_type
        for page in doc.pages + doc.clean_pages:
            assert page.dtype == np.uint8 and page.ndim == 3 and page.shape[2] == 3
        if doc.doc_type != "application_form":
            assert len(doc.pages) == 1


def test_a4_pages_are_300_dpi_and_cards_card_sized(clean_documents) -> None:
    for doc in clean_documents:
        h, w = doc.clean_pages[0].shape[:2]
        if (h, w) != (3508, 2480):
            assert doc.doc_type == "cccd" and 1000 <= w <= 1150 and 600 <= h <= 1450


def test_application_form_second_page_has_no_title() -> None:
    for seed in range(12):
        doc = generate_document("application_form", random.Random(seed), damage=0.0)
        if len(doc.pages) == 2:
            first, second = doc.text.split("\f")
            assert doc.fields["form_title"] in first and doc.fields["form_title"] not in second
            return
    pytest.fail("no two-page application form in 12 tries")


def test_same_seed_same_document() -> None:
    a = generate_document("birth_certificate", random.Random(7), damage=1.0)
    b = generate_document("birth_certificate", random.Random(7), damage=1.0)
    assert a.fields == b.fields and a.text == b.text and a.damage == b.damage and a.layout == b.layout
    assert all(np.array_equal(x, y) for x, y in zip(a.pages, b.pages, strict=True))
    c = generate_document("birth_certificate", random.Random(8), damage=0.0)
    assert c.fields != a.fields


def test_damaged_pages_record_their_damage() -> None:
    for seed in range(3):
        doc = generate_document("death_certificate", random.Random(seed), layout=seed % 5)
        (info,) = doc.damage
        assert abs(info["skew_deg"]) <= 5 and 40 <= info["jpeg_quality"] <= 90
        h, w = doc.clean_pages[0].shape[:2]
        expected = (w, h) if info["rotation"] in (90, 270) else (h, w)
        assert doc.pages[0].shape[:2] == expected
        if info["rotation"] == 0:
            assert not np.array_equal(doc.pages[0], doc.clean_pages[0])


def test_unknown_type_or_layout_is_an_input_error() -> None:
    with pytest.raises(InputError):
        generate_document("passport", random.Random(0))
    with pytest.raises(InputError):
        generate_document("cccd", random.Random(0), layout=LAYOUTS["cccd"])


def test_a_given_subject_is_used_and_dates_never_pass_today() -> None:
    from samples.facts import person

    young = person(random.Random(2), born_after=date(2012, 1, 1), born_before=date(2013, 1, 1))
    for doc_type, id_field in (("cccd", "personal_id"), ("land_use_certificate", "owner_personal_id"),
                               ("residence_confirmation", "personal_id")):
        doc = generate_document(doc_type, random.Random(1), layout=1, damage=0.0, subject=young)
        assert doc.fields[id_field] == young.personal_id
        assert all(_day(v) <= TODAY for k, v in doc.fields.items() if k in DATE_FIELDS - {"date_of_expiry"})
