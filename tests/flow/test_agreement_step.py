"""The closing step that compares one person's readings across the documents of a batch."""

from __future__ import annotations

from flow.context import DocumentOutcome, OutcomeState
from flow.steps import STEPS, Closing, Phase, agree

ID = "001090012345"


def _outcome(number: int, doc_type: str, fields: dict) -> DocumentOutcome:
    return DocumentOutcome(number=number, state=OutcomeState.DONE, doc_type=doc_type, fields=fields,
                           needs_review=tuple(n for n, f in fields.items() if f["needs_review"]))


def test_agree_runs_before_the_status_is_decided() -> None:
    names = [s.name for s in STEPS if s.phase is Phase.CLOSING]
    assert names.index("agree") < names.index("finish")


def test_agree_confirms_and_flags_across_documents() -> None:
    card = _outcome(1, "cccd", {
        "personal_id": {"value": ID, "confidence": 1.0, "needs_review": False},
        "full_name": {"value": "KHỔNG VĂN KHIÊM", "confidence": 0.7, "needs_review": True,
                      "reason": "name word(s) not recognised: KHIÊM"},
        "date_of_birth": {"value": "1990-03-04", "confidence": 1.0, "needs_review": False}})
    form = _outcome(2, "application_form", {
        "applicant_personal_id": {"value": ID, "confidence": 0.9, "needs_review": False},
        "applicant_name": {"value": "KHỔNG VĂN KHIÊM", "confidence": 0.9, "needs_review": False}})
    failed = DocumentOutcome(number=3, state=OutcomeState.FAILED, reason="unreadable")
    closing = Closing(ctx=None, documents=(card, form, failed), pages_done=2, pages_failed=0)  # type: ignore[arg-type]
    out = agree(closing, services=None)  # type: ignore[arg-type]
    first = out.documents[0]
    assert first.needs_review == ()
    assert first.fields["full_name"]["needs_review"] is False
    assert "confirmed" in first.fields["full_name"]["reason"]
    assert out.documents[2] is failed
