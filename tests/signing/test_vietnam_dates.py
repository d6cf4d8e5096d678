"""Dates people read in the auditor's report are Vietnam's (UTC+7), dd/mm/yyyy, the way the stamp
writes them; the JSON report keeps ISO 8601 instants. The policy's cut-off is midnight in Vietnam,
so a proof of time that Vietnam's calendar puts on the cut-off day is not said to be "before" it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.vietnam_time import vietnam_date, vietnam_datetime
from signing.policy import ValidationPolicy
from signing.verify import PASSED, verify_pdf
from tests.signing.test_algorithm_policy import signed_at

EVENING = datetime(2013, 12, 31, 20, 0, tzinfo=UTC)  # already 01/01/2014 03:00 in Vietnam


def test_instants_are_read_on_vietnams_calendar() -> None:
    assert vietnam_date(EVENING) == "01/01/2014"
    assert vietnam_date(EVENING.replace(tzinfo=None)) == "01/01/2014"  # naive: UTC, as records keep it
    assert vietnam_date(date(2013, 12, 31)) == "31/12/2013"  # a calendar day stays the day
    assert vietnam_datetime(EVENING) == "01/01/2014 03:00:00 (UTC+7)"


def test_the_cut_off_is_midnight_in_vietnam() -> None:
    policy = ValidationPolicy(sha1_until=date(2014, 1, 1)).algorithm_policy()
    (late,) = policy.findings("sha1", 2048, True, EVENING)
    assert not late.accepted
    assert "only proven to exist on 01/01/2014" in late.sentence(EVENING)
    before = datetime(2013, 12, 31, 16, 30, tzinfo=UTC)  # 23:30 on 31/12 in Vietnam
    (early,) = policy.findings("sha1", 2048, True, before)
    assert early.accepted and "made on 31/12/2013, before 01/01/2014" in early.sentence(before)


def test_a_revocation_after_the_proven_signing_is_dated_in_vietnam(live_pki, source_pdf) -> None:
    """The test signer is revoked since 01/01/2024 00:00 UTC; a signature timestamped in 2023
    still stands, and the report says when the revocation came in Vietnam time; JSON keeps ISO."""
    signed = signed_at(source_pdf, live_pki, "signer-revoked", datetime(2023, 6, 1, 9, 0, tzinfo=UTC))
    report = verify_pdf(signed, roots=[live_pki.root])
    sig = report.signatures[0]
    assert sig.revocation == "revoked" and "REVOKED" not in sig.reasons, report.to_dict()
    assert "certificate revoked on 01/01/2024 07:00:00 (UTC+7), after the timestamped signing time" in sig.messages
    data = report.to_dict()["signatures"][0]
    assert data["revocation_date"].startswith("2024-01-01T00:00:00")
    assert data["timestamp_time"].startswith("2023-06-01T09:00:00")
    assert report.status == PASSED, report.to_dict()  # revoked after the proven time: it stands
