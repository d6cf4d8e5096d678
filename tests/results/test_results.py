"""Results of procedures, reuse as an act, validity, the owner's store, the figures and the portal
export, on the records themselves (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from core import model
from core.errors import InputError
from core.result_code import result_code_valid
from core.settings import Settings
from storage.archive import archive_document
from storage.audit import verify_chain
from storage.components import (
    Place,
    components_of,
    declare_paper,
    owner_documents,
    record_reuse,
    set_reception,
)
from storage.db import Database
from storage.export import export_dossier
from storage.objects import ObjectStore
from storage.result_codes import result_code_of
from storage.results import CodeIssuer, ResultFile, TextSource, dossier_results, record_result
from storage.reuse import VIETNAM_TIME, find_reusable, today_in_vietnam
from storage.stats import StatsQuery, compute_stats, dossier_flags, points
from storage.trail import audit_events
from tests.storage.builders import make_document, make_dossier
from tests.support.hybrid_pdf import hybrid_pdf

PID = "001090012345"
TODAY = today_in_vietnam()  # the figures' days are Vietnam's


def _archive(db, store, seed, *, code, fields=None, **kw):
    doc = make_document(seed, **kw)
    if fields:
        extra = {k: model.Field(v, 0.95, page=0) for k, v in fields.items()}
        doc = dataclasses.replace(doc, fields={**doc.fields, **extra})
    return archive_document(db, store, dossier=make_dossier(code), document=doc, batch_id=None, source_keys=[],
                            certified=None, actor="station:t")


def _result(code: str, *, owner: str = PID, result_type: str = "birth_certificate", valid_until=None,
            text: str = "TRICH LUC KHAI SINH") -> ResultFile:
    data = hybrid_pdf([text, code])
    return ResultFile(dossier_code=code, owner_id=owner, result_type=result_type, name="trích lục.pdf", data=data,
                      page_count=1, text=text, text_source=TextSource.TEXT_LAYER, fields={},
                      signatures=None, valid_until=valid_until)


def test_a_result_is_kept_as_is_coded_and_offered_to_its_owner(db: Database, local_store: ObjectStore) -> None:
    result = _result("HS-KQ-1")
    codes = CodeIssuer(agency_code="000.00.19.H99", fmt=Settings().result_code_format, day=date(2026, 12, 7))
    recorded = record_result(db, local_store, result, actor="workflow:w", codes=codes)
    assert recorded.result_code.startswith("000.00.19.H99-261207-000001-") and not recorded.existed
    assert result_code_valid(recorded.result_code) and result_code_of(db, recorded.document_id) == recorded.result_code
    assert dossier_results(db, "HS-KQ-1")[0].result_code == recorded.result_code
    assert local_store.get_bytes(f"sha256/{recorded.sha256[:2]}/{recorded.sha256[2:4]}/{recorded.sha256}") == result.data
    (offered,) = find_reusable(db, PID, "birth_certificate")
    assert offered.document_id == recorded.document_id and offered.dossier_code == "HS-KQ-1"
    again = record_result(db, local_store, result, actor="workflow:w", codes=codes)
    assert again.existed and again.id == recorded.id  # a retry is not a second result
    assert again.result_code == recorded.result_code
    [event] = [e for e in audit_events(db) if e.action == "result.recorded"]
    assert event.subject == f"document:{recorded.document_id}" and event.details["sha256"] == recorded.sha256
    [issued] = [e for e in audit_events(db) if e.action == "result_code.issued"]
    assert issued.subject == event.subject and issued.details["code"] == recorded.result_code
    assert verify_chain(db).ok
    with pytest.raises(InputError, match="owner_id"):
        record_result(db, local_store, dataclasses.replace(result, owner_id="12345"), actor="workflow:w")
    with pytest.raises(InputError, match="valid_until"):
        record_result(db, local_store, dataclasses.replace(result, valid_from=TODAY, valid_until=TODAY - timedelta(1)),
                      actor="workflow:w")


def test_papers_past_their_validity_are_not_offered_nor_reused(db: Database, local_store: ObjectStore) -> None:
    expired = _archive(db, local_store, 1, code="HS-V1", fields={"date_of_expiry": "2020-01-01"})
    lapsed = _archive(db, local_store, 2, code="HS-V2", doc_type="residence_confirmation",
                      fields={"issue_date": (TODAY - timedelta(days=400)).isoformat()})
    record_result(db, local_store, _result("HS-V3", result_type="land_use_certificate",
                                           valid_until=TODAY - timedelta(days=1)), actor="workflow:w")
    assert find_reusable(db, PID) == []
    with pytest.raises(InputError, match="valid until 01/01/2020"):
        record_reuse(db, "HS-V9", expired.document_id, actor="workflow:w")
    with pytest.raises(InputError, match="cannot be reused"):
        record_reuse(db, "HS-V9", lapsed.document_id, actor="workflow:w")
    # An older card still valid is offered when the newest has expired.
    valid = _archive(db, local_store, 3, code="HS-V4", fields={"date_of_expiry": "2040-01-01"})
    newest_expired = _archive(db, local_store, 4, code="HS-V5", fields={"date_of_expiry": "2021-01-01"})
    (card,) = find_reusable(db, PID, "cccd")
    assert card.document_id == valid.document_id != newest_expired.document_id
    assert card.valid_until == date(2040, 1, 1)
    recent = _archive(db, local_store, 5, code="HS-V6", doc_type="residence_confirmation",
                      fields={"issue_date": (TODAY - timedelta(days=20)).isoformat()})
    assert find_reusable(db, PID, "residence_confirmation")[0].document_id == recent.document_id


def test_reuse_is_an_act_counted_in_the_figures_and_the_export(db: Database, local_store: ObjectStore) -> None:
    birth = _archive(db, local_store, 10, code="HS-A", doc_type="birth_certificate")
    set_reception(db, "HS-A", actor="workflow:w", agency="UBND phường Hải Châu",
                  place=Place(commune_code="20242", province_code="48"))
    set_reception(db, "HS-B", actor="workflow:w", procedure_code="1.001193", agency="UBND phường Hòa Cường",
                  place=Place(commune_code="20305", province_code="48"))
    record_result(db, local_store, _result("HS-A", result_type="residence_confirmation"), actor="workflow:w")
    component = record_reuse(db, "HS-B", birth.document_id, actor="station:b", note="giấy khai sinh đã số hóa")
    assert component.reused_from_dossier == "HS-A" and component.state == "reused"
    assert record_reuse(db, "HS-B", birth.document_id, actor="station:b").existed
    with pytest.raises(InputError, match="already belongs"):
        record_reuse(db, "HS-A", birth.document_id, actor="station:b")
    declare_paper(db, "HS-C", "land_use_certificate", actor="station:c")
    [event] = [e for e in audit_events(db) if e.action == "document.reused"]
    assert event.actor == "station:b" and event.subject == "dossier:HS-B"
    assert event.details["document"] == birth.document_id and event.details["from_dossier"] == "HS-A"
    assert [c.reused_document_id for c in components_of(db, "HS-B")] == [birth.document_id]

    report = compute_stats(db, StatsQuery(TODAY - timedelta(days=1), TODAY + timedelta(days=1))).as_json()
    assert report["dossiers"] == 3
    assert report["counts"] == {"digitized": 2, "reuse": 1, "electronic_result": 1, "linked": 2}
    assert report["rates"]["reuse"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["points"]["earned"]["digitized"] == points(2 / 3, 5.5) == 4.58
    assert [m["month"] for m in report["by_month"]] == [datetime.now(VIETNAM_TIME).strftime("%Y-%m")]
    by_agency = {a["agency"]: a for a in report["by_agency"]}
    assert by_agency["UBND phường Hòa Cường"]["counts"]["reuse"] == 1
    only_b = compute_stats(db, StatsQuery(TODAY, TODAY, commune="20305")).as_json()
    assert only_b["dossiers"] == 1 and only_b["counts"]["reuse"] == 1 and only_b["counts"]["digitized"] == 1
    for only in (StatsQuery(TODAY, TODAY, procedure="1.001193"), StatsQuery(TODAY, TODAY, agency="UBND phường Hòa Cường")):
        narrowed = compute_stats(db, only).as_json()
        assert narrowed["dossiers"] == 1 and narrowed["counts"] == only_b["counts"]
    assert compute_stats(db, StatsQuery(TODAY - timedelta(days=40), TODAY - timedelta(days=30))).total.dossiers == 0
    with pytest.raises(InputError):
        StatsQuery(TODAY, TODAY - timedelta(days=1))

    export_b = export_dossier(db, local_store, "HS-B", public_base_url="https://sohoa.example.gov.vn/")
    assert export_b["DuocTaiSuDung"] == 1 and export_b["DuocSoHoa"] == 1 and export_b["MaXa"] == "20305"
    [paper] = export_b["DanhSachGiayToKetQua"]
    assert paper["MaHoSoGoc"] == "HS-A" and paper["DuocTaiSuDung"] == 1
    assert paper["DuongDanTepTinKetQua"] == f"https://sohoa.example.gov.vn/v1/documents/{birth.document_id}/file"
    assert export_b["TrangThaiHoSo"] == "Đã tiếp nhận"
    export_a = export_dossier(db, local_store, "HS-A")
    assert export_a["CoKetQuaDienTu"] == 1 and export_a["TrangThaiHoSo"] == "Đã có kết quả"
    assert [p["LaKetQuaGiaiQuyet"] for p in export_a["DanhSachGiayToKetQua"]] == [0, 1]
    assert export_a["DanhSachGiayToKetQua"][1]["MaGiayToKetQua"].startswith("KQ-HS-A-")
    for code in ("HS-A", "HS-B", "HS-C"):
        flags = dossier_flags(db, code)
        exported = export_dossier(db, local_store, code)
        assert (exported["DuocSoHoa"], exported["DuocTaiSuDung"]) == (flags["digitized"], flags["reuse"])

    store_view = owner_documents(db, PID)
    assert {d["dossier_code"] for d in store_view} == {"HS-A"}
    kinds = {d["doc_type"]: d for d in store_view}
    assert kinds["birth_certificate"]["reused_in"] == ["HS-B"] and kinds["birth_certificate"]["commune_code"] == "20242"
    assert kinds["residence_confirmation"]["kind"] == "result" and kinds["residence_confirmation"]["valid"]
    assert verify_chain(db).ok


def _recount(db: Database) -> dict[int, tuple[int, ...]]:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT s.id,
                   (SELECT count(*) FROM documents d WHERE d.dossier_id = s.id),
                   (SELECT count(d.personal_id) FROM documents d WHERE d.dossier_id = s.id),
                   (SELECT count(d.reused_from_id) FROM documents d WHERE d.dossier_id = s.id),
                   (SELECT count(*) FROM dossier_components c WHERE c.dossier_id = s.id AND c.state = 'reused'),
                   (SELECT count(*) FROM dossier_components c WHERE c.dossier_id = s.id AND c.state = 'paper'),
                   (SELECT count(*) FROM procedure_results r WHERE r.dossier_id = s.id)
            FROM dossiers s""")).all()
        kept = conn.execute(text("SELECT dossier_id, documents, owned, copies, reused, paper, results "
                                 "FROM dossier_figures")).all()
    counted = {r[0]: tuple(r[1:]) for r in rows}
    held = {r[0]: tuple(r[1:]) for r in kept}
    return {k: v for k, v in counted.items() if any(v) or k in held}, held


def test_the_counters_follow_every_write(db: Database, local_store: ObjectStore) -> None:
    """The per-dossier counters the figures read are kept by the database on insert, update and
    delete, whoever writes."""
    from sqlalchemy import text

    first = _archive(db, local_store, 20, code="HS-F1")
    _archive(db, local_store, 20, code="HS-F2")  # the same paper again: a copy the store held
    record_reuse(db, "HS-F3", first.document_id, actor="station:t")
    declare_paper(db, "HS-F3", "land_use_certificate", actor="station:t")
    record_result(db, local_store, _result("HS-F3"), actor="workflow:w")
    counted, held = _recount(db)
    assert counted == held and len(held) == 3
    with db.engine.begin() as conn:  # a reviewer clears a wrong ID, a component is withdrawn
        conn.execute(text("UPDATE documents SET personal_id = NULL WHERE id = :i"), {"i": first.document_id})
        conn.execute(text("DELETE FROM dossier_components WHERE state = 'paper'"))
    counted, held = _recount(db)
    assert counted == held
    assert dossier_flags(db, "HS-F3")["digitized"] and not dossier_flags(db, "HS-F1")["linked"]


def test_the_command_line(sqlite_db: Database, local_store: ObjectStore, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture) -> None:
    from cli.main import main

    monkeypatch.setenv("SOHOA_DATABASE_URL", sqlite_db.url)
    monkeypatch.setenv("SOHOA_STORE_URL", local_store.url)
    birth = _archive(sqlite_db, local_store, 30, code="HS-CLI-A", doc_type="birth_certificate")
    assert main(["components", "reuse", "HS-CLI-B", "--document", str(birth.document_id), "--actor", "cán bộ A"]) == 0
    assert "reused from dossier HS-CLI-A" in capsys.readouterr().out
    assert main(["components", "paper", "HS-CLI-C", "--type", "land_use_certificate"]) == 0
    assert main(["components", "list", "HS-CLI-B", "--json"]) == 0
    capsys.readouterr()
    day = TODAY.strftime("%d/%m/%Y")
    assert main(["stats", "--from", day, "--to", TODAY.isoformat(), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dossiers"] == 3 and report["counts"]["reuse"] == 1 and report["counts"]["digitized"] == 2
    assert main(["stats", "--from", day, "--to", day]) == 0
    out = capsys.readouterr().out
    assert "3 dossiers received" in out and "reuse" in out and "/ 22" in out
    assert main(["stats", "--from", "31/02/2026", "--to", day]) == 2
    assert main(["components", "reuse", "HS-CLI-B", "--document", "999999"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2  # one line each


def test_days_and_months_are_vietnams(db: Database) -> None:
    """A dossier received at 03:00 on 1 April in Vietnam (20:00 on 31 March UTC) is April's."""
    set_reception(db, "HS-T1", actor="workflow:w", agency="UBND xã A",
                  received=datetime(2026, 3, 31, 20, 0, tzinfo=UTC))
    set_reception(db, "HS-T2", actor="workflow:w", agency="UBND xã A",
                  received=datetime(2026, 3, 31, 16, 59, tzinfo=UTC))  # 23:59 on 31 March in Vietnam
    april = compute_stats(db, StatsQuery(date(2026, 4, 1), date(2026, 4, 30))).as_json()
    march = compute_stats(db, StatsQuery(date(2026, 3, 1), date(2026, 3, 31))).as_json()
    assert april["dossiers"] == 1 and [m["month"] for m in april["by_month"]] == ["2026-04"]
    assert march["dossiers"] == 1 and [m["month"] for m in march["by_month"]] == ["2026-03"]
