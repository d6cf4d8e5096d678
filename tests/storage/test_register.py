"""The certification register under concurrency: numbers 1..N, no gap, no duplicate, on SQLite and
PostgreSQL; a failed certification voids its number instead of leaving a gap."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from storage.models import RegisterEntry
from storage.register import EntryState, mark_used, reserve_number, void_number

AGENCY = "UBND phường Bến Nghé"


def test_twenty_concurrent_reservations_are_one_to_twenty(db) -> None:
    def reserve(i: int) -> int:
        return reserve_number(db, agency=AGENCY, year=2026, actor=f"officer-{i}").number

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(reserve, range(20)))
    assert sorted(numbers) == list(range(1, 21))


def test_books_restart_each_year_and_per_agency(db) -> None:
    assert reserve_number(db, agency=AGENCY, year=2026, actor="a").number == 1
    assert reserve_number(db, agency=AGENCY, year=2026, actor="a").number == 2
    assert reserve_number(db, agency=AGENCY, year=2027, actor="a").number == 1
    assert reserve_number(db, agency="UBND xã Khác", year=2026, actor="a").number == 1


def test_a_voided_number_stays_in_the_book(db) -> None:
    first = reserve_number(db, agency=AGENCY, year=2026, actor="a")
    void_number(db, first.entry_id, reason="the token went away", actor="a")
    second = reserve_number(db, agency=AGENCY, year=2026, actor="a")
    mark_used(db, second.entry_id, certified_copy_id=None, note="a file", actor="a")
    assert second.number == 2  # the failed one is not reused: the book shows what happened to it
    with db.session() as session:
        states = {e.number: (e.state, e.note) for e in session.scalars(select(RegisterEntry))}
    assert states[1][0] == EntryState.VOIDED and "token" in states[1][1]
    assert states[2][0] == EntryState.USED
