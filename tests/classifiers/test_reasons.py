"""Every reason a stage gives reaches the clerk in Vietnamese, with its code and English kept."""

import random
import re

from classifiers.extract import extract_fields
from classifiers.reasons import explain, in_vietnamese
from core.model import Document, Page

# One English reason of each kind the stages write, as they write it.
STAGE_REASONS = (
    "not found", "no rule", "empty value", "low OCR confidence 0.41 for a personal_id",
    "low OCR confidence 0.50", "a guess from a damaged read", "guessed Nữ from 'Nw'",
    "repaired O→0", "restored Nguyen→Nguyễn", "name word(s) not recognised: QUẦN (not QUÂN)",
    "name word(s) not recognised: TRẦN (a surname, not a given name)",
    "place marks restored from the vocabulary, not confirmed: Nghỉ Lộc→Nghi Lộc",
    "a long number inside a place: another field ran into it", "ends with an administrative word: cut short",
    "not a known land use purpose", "not a calendar date", "implausible year", "date is in the future",
    "date before 1900", "date_of_birth after registration_date", "expiry before birth", "sex must be Nam or Nữ",
    "enterprise code must be 10 digits", "name has characters a name cannot have",
    "name has fewer than two words", "area must be a decimal number", "personal ID must be 12 digits",
    "province code 099 was never issued", "sex/century digit 7 is not 0–5",
    "sex/century digit 1 contradicts sex Nam", "sex/century digit 0 contradicts birth year 2003",
    "year digits 85 contradict birth year 1988", "a second reading differs: 'ĐẶNG MINH QUÂN'",
    "a second reading gives '553.3'", "marks from a second reading: Lưu",
    "from the card's QR code (print read as 'NGUYEN VAN A')", "from the machine-readable zone",
    "the machine-readable zone's check digit for the personal id does not match: compare the card itself",
    "the machine-readable zone gives the birth date as 880512 (YYMMDD)",
    "personal ID differs from another paper of this dossier: '001088012345' on the birth certificate",
    "confirmed: read alike on the birth certificate", "no expiry (không thời hạn)", "guessed D/Đ: OCR confuses them",
    "the QR code's birth and issue dates give this expiry by law, and it is printed on the card",
    "computed from the QR code's birth and issue dates by law, not read on the card", "not read on the card",
)


def test_every_stage_reason_has_a_vietnamese_sentence() -> None:
    for english in STAGE_REASONS:
        (reason,) = explain(english)
        assert reason.code != "other", english
        assert reason.en == english
        assert re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", reason.vi), reason.vi
        assert not re.search(r"\b(not|found|reading|field|digit|check)\b", reason.vi), reason.vi


def test_several_reasons_in_order_and_unknown_kept() -> None:
    reasons = explain("not found; a new stage's reason; not found")
    assert [r.code for r in reasons] == ["not_found", "other"]
    assert "a new stage's reason" in reasons[1].vi  # nothing dropped
    assert explain("") == [] and in_vietnamese(None) == ""


def test_values_inside_a_reason_are_kept() -> None:
    (reason,) = explain("year digits 85 contradict birth year 1988")
    assert "85" in reason.vi and "1988" in reason.vi
    (reason,) = explain("date_of_death after registration_date")
    assert reason.vi.startswith("Ngày chết lại sau ngày đăng ký")


def test_flags_of_a_real_extraction_are_explained() -> None:
    """A broken card: the reasons the extractor gives there are all in the table."""
    import numpy as np

    from samples.generator import generate_text

    sample = generate_text("cccd", random.Random(12), layout=1)
    text = sample.text.replace(sample.fields["personal_id"], sample.fields["personal_id"][:-1] + "X")
    page = Page("t", "", 0, np.zeros((4, 4), np.uint8), 300.0, text=text)
    document = extract_fields(Document((page,), doc_type="cccd"))
    flagged = [f for f in document.fields.values() if f.needs_review]
    assert flagged
    for f in flagged:
        assert all(r.code != "other" for r in explain(f.reason)), f.reason
