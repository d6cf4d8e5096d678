"""Structured logs: one JSON object a line when asked, and no personal data at INFO."""

from __future__ import annotations

import json
import logging
import unicodedata

from core.logs import REDACTED, JsonFormatter, PersonalDataFilter
from storage.backup import open_existing_database
from storage.reuse import find_reusable
from tests.operations.conftest import Deployment

# The marriage certificate's people, as printed on it (samples/dossier/ho-so-mau.gt.json).
PEOPLE = {"husband": ("NGÔ NGỌC HUY", "014098702690"), "wife": ("PHẠM NGỌC QUỲNH HÀ", "054185082963")}


def test_processing_a_dossier_logs_json_lines_without_personal_data(deployment: Deployment) -> None:
    lines = [line for line in deployment.log.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) >= 5
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["level"] == "INFO" and r["logger"].startswith("classifiers") for r in records)
    # The run did read the people: their IDs are in the records, so their absence from the log means something.
    db = open_existing_database(f"sqlite:///{deployment.data_dir / 'sohoa.db'}")
    try:
        found = find_reusable(db, PEOPLE["husband"][1], "marriage_certificate")
    finally:
        db.dispose()
    assert found and found[0].doc_type == "marriage_certificate"
    text = unicodedata.normalize("NFC", deployment.log)
    for name, personal_id in PEOPLE.values():
        assert personal_id not in text
        for part in (name, name.title(), name.split()[-2] + " " + name.split()[-1]):
            assert unicodedata.normalize("NFC", part) not in text, part


def test_personal_ids_are_masked_at_info_also_in_an_access_log_line() -> None:
    filt = PersonalDataFilter()
    # uvicorn's access log: the request line of a reuse look-up carries the ID in its query string.
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/v1/reuse?personal_id=014098702690", "1.1", 200), None)
    assert filt.filter(record)
    assert "014098702690" not in record.getMessage() and REDACTED in record.getMessage()
    # A longer number (a register or batch number) is not an ID; DEBUG is left whole.
    other = logging.LogRecord("x", logging.INFO, __file__, 1, "batch 1234567890123 of 001", None, None)
    filt.filter(other)
    assert other.getMessage() == "batch 1234567890123 of 001"
    debug = logging.LogRecord("x", logging.DEBUG, __file__, 1, "id %s", ("014098702690",), None)
    filt.filter(debug)
    assert "014098702690" in debug.getMessage()


def test_json_lines_carry_extras_and_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Hồ sơ đã xử lý")
    record = logging.LogRecord("sohoa.flow", logging.WARNING, __file__, 1, decomposed, None, None)
    record.batch = 42
    record.data = {"return_value": {"full_name": "NGÔ NGỌC HUY"}}  # Celery's extra: a task's result
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == unicodedata.normalize("NFC", "Hồ sơ đã xử lý") and data["batch"] == 42
    assert "data" not in data and "NGÔ" not in line
    assert data["level"] == "WARNING" and data["time"].endswith("+00:00")
