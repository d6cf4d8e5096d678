"""The scripted clerk of ``sohoa bench review``, on one made-up document (the bench itself OCRs)."""

from __future__ import annotations

from bench.review import Run, operate
from core.model import Document, Field


def test_clerk_counts_keystrokes_errors_and_learns() -> None:
    fields = {
        "full_name": Field("NGUYỄN THỊ TUÂN", 0.9, needs_review=True, reason="name word(s) not recognised: TUÂN"),
        "personal_id": Field("001190012845", 0.8, needs_review=True, reason="a second reading gives '001190012345'"),
        "sex": Field("Nữ", 0.99),
        "nationality": Field("Lào", 0.99),  # wrong and not routed: a silent error
        "date_of_birth": Field("1990-05-01", 0.99),
    }
    truth = {"full_name": "NGUYỄN THỊ TUÂN", "personal_id": "001190012345", "sex": "Nữ", "date_of_birth": "1990-05-01",
             "nationality": "Việt Nam"}
    run = Run()
    operate(run, "cccd", Document(pages=(), doc_type="cccd", fields=fields), truth)
    figures = run.figures()
    assert figures["routed"] == 2 and figures["silent_errors"] == 1 and figures["errors_after_review"] == 0
    assert run.keystrokes == 1 + 2  # Enter; then 1 and Enter for the second reading
    assert figures["keystrokes_per_right_reviewed_field"] == 1.0
    assert [(item.kind, item.text) for item in run.learned] == [("name", "NGUYỄN THỊ TUÂN")]
