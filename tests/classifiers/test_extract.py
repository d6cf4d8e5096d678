"""Field extraction: label-anchored values, normalised and validated, on printed text and real OCR."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from classifiers.extract import extract_fields
from classifiers.text import fold
from core.model import Box, Document, Page, Word
from pipeline import tesseract

IDS = ("personal_id", "husband_personal_id", "wife_personal_id", "owner_personal_id", "applicant_personal_id")


def text_document(doc_type: str, text: str) -> Document:
    pages = tuple(Page("t", "", i, np.zeros((4, 4), np.uint8), 300.0, text=t) for i, t in enumerate(text.split("\f")))
    return Document(pages, doc_type=doc_type)


@pytest.fixture(scope="module")
def generated() -> list:
    """Documents of every type and layout with their ground truth (printed text only)."""
    from samples.generator import DOC_TYPES, generate_text

    out = []
    for doc_type in DOC_TYPES:
        if doc_type in ("other", "cccd"):
            continue
        for layout in range(5):
            sample = generate_text(doc_type, random.Random(f"extract/{doc_type}/{layout}"), layout=layout)
            out.append((doc_type, layout, sample.text, sample.fields))
    return out


def test_printed_text_fields_match_the_ground_truth(generated: list) -> None:
    total = right = 0
    for doc_type, _layout, text, truth in generated:
        document = extract_fields(text_document(doc_type, text))
        assert list(document.fields) == list(truth), doc_type
        for name, value in truth.items():
            f = document.fields[name]
            total += 1
            right += (f.value or "") == value
            if name in IDS and f.value != value:
                assert f.needs_review, (doc_type, name, f)  # never a silent wrong ID
    # a two-column table printed as plain text cannot be split (OCR word boxes can): a few misses
    assert right / total >= 0.93, (right, total)


def test_fuzzy_labels_survive_ocr_damage() -> None:
    text = ("GIAY KHAI SINH\nSo: 12/2020\nHo, chu dem, ten: NGUYỄN VĂN AN\nNgay, thang, nain sinh: O5/06/2020\n"
            "Giói tính: Nam\nSố định danh cá nhàn: 001220O12345\nHọ, chữ đệm, tên ngưòi mẹ: TRẦN THỊ LAN\n")
    document = extract_fields(text_document("birth_certificate", text))
    f = document.fields
    assert f["full_name"].value == "NGUYỄN VĂN AN"
    assert f["date_of_birth"].value == "2020-06-05" and "O→0" in f["date_of_birth"].reason
    assert f["sex"].value == "Nam"
    assert f["personal_id"].value == "001220012345" and not f["personal_id"].needs_review
    assert f["mother_name"].value == "TRẦN THỊ LAN"
    assert f["father_name"].needs_review and f["father_name"].reason == "not found"


def test_lost_marks_are_restored_or_flagged() -> None:
    text = "Họ và tên: NGUYEN THUY LAN\nNơi cư trú: Xóm 4, xa Tan Phu, tinh Phu Tho\nSố định danh cá nhân: 025190012345"
    f = extract_fields(text_document("residence_confirmation", text)).fields
    assert f["full_name"].value.startswith("NGUYỄN ")
    assert f["full_name"].needs_review and "THUY" in f["full_name"].reason  # Thùy or Thủy: a clerk decides
    assert f["place_of_residence"].value == "Xóm 4, xã Tân Phú, tỉnh Phú Thọ"


def test_value_confidence_comes_from_its_words() -> None:
    words = (Word("Họ", 0.95, Box(100, 100, 60, 40), 0), Word("tên:", 0.95, Box(170, 100, 80, 40), 0),
             Word("LÊ", 0.97, Box(300, 100, 60, 40), 0), Word("VĂN", 0.31, Box(370, 100, 90, 40), 0),
             Word("AN", 0.96, Box(470, 100, 60, 40), 0))
    page = Page("t", "", 0, np.zeros((3508, 2480), np.uint8), 300.0, words=words, text="Họ tên: LÊ VĂN AN")
    f = extract_fields(Document((page,), doc_type="residence_confirmation")).fields["full_name"]
    assert f.value == "LÊ VĂN AN" and f.confidence == pytest.approx(0.31)
    assert f.needs_review and "low OCR confidence" in f.reason
    assert f.box == Box(300, 100, 230, 40)


@pytest.fixture(scope="session")
def ocr_documents() -> list:
    """Real OCR (clean-up + Tesseract) of two generated damaged scans: a death certificate in a
    layout the classifier never saw, and an ID card photocopy."""
    from pipeline.pagework import process_page
    from pipeline.qr import read_qr_codes
    from samples.generator import generate_document

    out = []
    for doc_type, layout in (("death_certificate", 4), ("cccd", 3)):
        sample = generate_document(doc_type, random.Random(f"ocr-test/{doc_type}"), layout=layout, damage=0.7)
        pages = []
        for i, image in enumerate(sample.pages):
            page = process_page(Page(f"{doc_type}.png", "", i, image, 300.0))
            pages.append(replace(page, qr_payloads=read_qr_codes(page.image)))
        out.append((sample, tuple(pages)))
    return out


@pytest.mark.timeout(300)
def test_real_ocr_fields_are_right_or_flagged(ocr_documents: list) -> None:
    from classifiers.classify import classify_document

    for sample, pages in ocr_documents:
        document = extract_fields(classify_document(Document(pages)), read_line=tesseract.read_line)
        assert document.doc_type == sample.doc_type
        right = 0
        for name, truth in sample.fields.items():
            f = document.fields[name]
            right += (f.value or "") == truth
            if name in IDS or name.endswith("date_of_birth"):
                assert f.value == truth or f.needs_review, (name, f, truth)
        assert right >= len(sample.fields) - 2, document.fields
        assert fold(document.fields["full_name"].value or "") == fold(sample.fields["full_name"])


def test_name_read_as_known_words_is_trusted() -> None:
    from classifiers.extract import apply_vocabulary
    from core.model import Field

    f = apply_vocabulary("full_name", Field("NGUYỄN VĂN TUẤN", 0.95))
    assert f.value == "NGUYỄN VĂN TUẤN" and not f.needs_review


@pytest.mark.parametrize("read", ["NGUYỄN VĂN TUÂN", "NGUYEN VAN TUAN", "NGUYỄN THỊ LAM", "NGUYỄN ĐĂNG"])
def test_name_marks_the_vocabulary_had_to_change_go_to_review(read: str) -> None:
    # Tuân and Lam are real names outside the vocabulary, one mark away from Tuấn and Lâm: a
    # restoration is a proposal, never silently trusted.
    from classifiers.extract import apply_vocabulary
    from core.model import Field

    f = apply_vocabulary("full_name", Field(read, 0.95))
    assert f.needs_review and "not confirmed" in f.reason


@pytest.mark.parametrize(("read", "confirmed", "value"), [
    ("TRẦN TIẾN TOÁN", None, "TRẦN TIẾN TOÁN"),  # a mark the known TOÀN lacks: a real name, kept
    ("TRẦN TIẾN TOÁN", frozenset({"trần", "tiến"}), "TRẦN TIẾN TOÀN"),  # a second reading did not agree
    ("NGUYỄN THỊ LAM", frozenset({"nguyễn", "thị", "lam"}), "NGUYỄN THỊ LAM"),  # LAM read twice
    ("NGUYEN THỊ LAM", frozenset({"nguyen", "thị", "lam"}), "NGUYỄN THỊ LAM"),  # surnames are restored
    ("NGUYỄN VĂN CHỈ", None, "NGUYỄN VĂN CHI"),  # the dot of an i read as a hook
])
def test_a_read_the_vocabulary_does_not_know_is_kept_or_restored(read: str, confirmed: frozenset[str] | None,
                                                                  value: str) -> None:
    from classifiers.extract import apply_vocabulary
    from core.model import Field

    f = apply_vocabulary("full_name", Field(read, 0.95), confirmed)
    assert f.value == value and f.needs_review


@pytest.mark.parametrize(("read", "value"), [
    ("xã Khuê Bạch, tỉnh Lai Châu", "xã Khuê Bạch, tỉnh Lai Châu"),  # unknown words kept as read, not "Bắc"
    # marks lost on a name the register has with several marks (An Phú, Ân Phú, An Phụ): not guessed
    ("xã An Phu, tỉnh Hà Tĩnh", "xã An Phu, tỉnh Hà Tĩnh"),
    ("xã Nghia Đo, tỉnh Nghệ An", "xã Nghĩa Đô, tỉnh Nghệ An"),  # one known commune: proposed
])
def test_place_words_the_vocabulary_cannot_confirm_go_to_review(read: str, value: str) -> None:
    from classifiers.extract import apply_vocabulary
    from core.model import Field

    f = apply_vocabulary("place_of_residence", Field(read, 0.95))
    assert f.value == value and f.needs_review


@pytest.mark.parametrize("read", [
    "xã Trúc Bạch, tỉnh Lai Châu", "xã Ân Phú, tỉnh Hà Tĩnh", "Phường Tràng Tiền, Quận Hoàn Kiếm, Thành phố Hà Nội",
    "Thôn 3, xã Ea Kao, thành phố Buôn Ma Thuột, tỉnh Đắk Lắk",
])
def test_places_of_the_national_register_are_kept_as_printed(read: str) -> None:
    """Real units, old and new, printed with their marks: known, not reviewed, not rewritten."""
    from classifiers.extract import apply_vocabulary
    from core.model import Field

    f = apply_vocabulary("place_of_residence", Field(read, 0.95))
    assert f.value == read and not f.needs_review, f.reason


def test_a_province_wrapped_onto_its_own_row_is_not_a_label() -> None:
    # "Nam Định" folds to within one letter of the label "Năm sinh"
    text = ("TRÍCH LỤC KHAI TỬ\n1. Họ, chữ đệm và tên: NGUYỄN THU HUYỀN\n"
            "9. Nơi chết: Số 144/18, đường Nguyễn Chí Thanh, phường Bến Thành, quận Cái Nước, tỉnh\n"
            "Nam Định\n10. Nguyên nhân chết: Nhồi máu cơ tim\n")
    f = extract_fields(text_document("death_certificate", text)).fields["place_of_death"]
    assert f.value == "Số 144/18, đường Nguyễn Chí Thanh, phường Bến Thành, quận Cái Nước, tỉnh Nam Định"
