"""Reads that must be answerable for land in the hash-chained trail: a certified copy downloaded, a
person's results looked up, a file verified — with who, and why when the caller says."""

from __future__ import annotations

from tests.api.conftest import Processed, Server


def test_downloads_lookups_and_verifications_are_in_the_trail(server: Server, processed: Processed) -> None:
    with server.client("workflow") as workflow:
        workflow.get(f"/v1/certified-copies/{processed.copy_id}",
                     params={"purpose": "hồ sơ 1.001612 cần bản sao"}).raise_for_status()
        workflow.get("/v1/reuse", params={"personal_id": "014098702690", "purpose": "đăng ký kết hôn"}
                     ).raise_for_status()
    with server.client("auditor") as auditor:
        auditor.post("/v1/verify", content=processed.copy_pdf,
                     headers={"Content-Type": "application/pdf"}).raise_for_status()
        trail = auditor.get("/v1/audit", params={"limit": 5000}).raise_for_status().json()
    assert trail["chain"]["ok"]
    events = {e["action"]: e for e in trail["events"]}
    download = events["certified_copy.downloaded"]
    assert download["actor"].startswith("workflow") and download["details"]["purpose"] == "hồ sơ 1.001612 cần bản sao"
    assert download["subject"] == f"certified_copy:{processed.copy_id}"
    lookup = events["reuse.looked_up"]
    assert lookup["subject"] == "person:014098702690" and lookup["details"]["purpose"] == "đăng ký kết hôn"
    verified = events["file.verified"]
    assert verified["actor"].startswith("auditor") and verified["details"]["verdict"]
