"""The hash-chained audit log: intact chains verify, and a changed, removed or truncated event is
named; the database refuses updates and deletes; concurrent writers never fork the chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cli.main import main
from storage.audit import record_event, verify_chain
from storage.db import Database, open_database


def _events(db: Database, n: int) -> None:
    for i in range(n):
        record_event(
            db,
            actor="cán bộ tiếp nhận",
            action="test.event",
            subject=f"dossier:HS-{i}",
            details={"i": i, "ghi chú": "Nguyễn Thị Hoà", "score": 0.5},
        )


def _drop_guard(db: Database) -> None:
    """What an attacker with database rights would do first."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER audit_events_no_update ON audit_events"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))


def test_intact_chain_verifies(db: Database) -> None:
    _events(db, 5)
    report = verify_chain(db)
    assert report.ok and report.events == 5


def test_database_refuses_to_change_events(db: Database) -> None:
    _events(db, 2)
    for statement in (
        "UPDATE audit_events SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert verify_chain(db).ok


def test_altered_event_is_named(db: Database) -> None:
    _events(db, 6)
    _drop_guard(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'kẻ giả mạo' WHERE seq = 4"))
    report = verify_chain(db)
    assert not report.ok and report.first_broken_seq == 4 and "altered" in report.reason


def test_removed_and_truncated_events_are_named(db: Database) -> None:
    _events(db, 6)
    _drop_guard(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 6"))
    report = verify_chain(db)
    assert not report.ok and report.first_broken_seq == 6 and "removed" in report.reason
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    report = verify_chain(db)
    assert not report.ok and report.first_broken_seq == 3 and "missing" in report.reason


def test_concurrent_writers_do_not_fork_the_chain(db: Database) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        own = open_database(db.url)
        try:
            _events(own, 10)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_chain(db)
    assert report.ok and report.events == 40


def test_cli_audit_verify(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("SOHOA_DATABASE_URL", db.url)
    _events(db, 3)
    assert main(["audit", "verify"]) == 0
    assert "3 events" in capsys.readouterr().out
    _drop_guard(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET details = '{}' WHERE seq = 2"))
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "broken at event 2" in err and len(err.strip().splitlines()) == 1
