"""The digitization figures provinces are scored on (Decision 766/QĐ-TTg), computed from records.

Each rate is a share of the dossiers received in the period (by reception time):

- ``digitized``: every component digitized — at least one digitized paper (scanned here or taken
  from an earlier digitization) and no component declared on paper only;
- ``reuse``: at least one component reused — recorded as an act, or a paper scanned again whose
  content the store already held (the earlier record served it);
- ``electronic_result``: a result of the procedure issued electronically (posted to sohoa);
- ``linked``: linked to the owner's data store — a paper of the dossier recorded under its owner's
  personal ID or enterprise code, or taken from that store.

The index gives dossier digitization 22 points of 100, full marks for a criterion at 80% and
proportionally less below it. How the 22 points are split between the four criteria is a table
(:data:`WEIGHTS`, equal shares unless a province is told otherwise). The agency of a dossier is the
one that received it (its reception record), else the one that digitized it.

Two queries: the period's run of dossier record numbers, then its dossiers through the
reception-time index, each joined by key to its place and to its counters (``dossier_figures``,
which the database keeps up to date by triggers on the tables it counts); only (month, agency)
groups come back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, and_, case, func, literal, not_, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from core.errors import InputError
from core.model import nfc
from core.vietnam_time import VIETNAM_TIME
from storage.components import DossierPlace
from storage.db import Database
from storage.models import Base, Dossier

RATES: tuple[str, ...] = ("digitized", "reuse", "electronic_result", "linked")
TOTAL_POINTS = 22.0
FULL_MARKS_AT = 0.80
WEIGHTS: dict[str, float] = {name: TOTAL_POINTS / len(RATES) for name in RATES}
LABELS: dict[str, str] = {
    "digitized": "Hồ sơ được số hóa toàn bộ thành phần",
    "reuse": "Hồ sơ có thành phần được tái sử dụng",
    "electronic_result": "Kết quả giải quyết cấp điện tử",
    "linked": "Hồ sơ gắn với kho dữ liệu của người dân, doanh nghiệp",
}


@dataclass(frozen=True)
class StatsQuery:
    """Dossiers received from ``start`` to ``end`` inclusive (days in Vietnam), optionally of one
    receiving agency, one procedure (MaTTHC) or one commune (post-2025 code)."""

    start: date
    end: date
    agency: str | None = None
    procedure: str | None = None
    commune: str | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InputError("the period ends before it starts (--to is before --from)")
        if (self.end - self.start).days > 366 * 5:
            raise InputError("a period of at most five years")
        if self.start.year < 1900 or self.end.year > 9998:
            raise InputError("a period between the years 1900 and 9998")


@dataclass
class Counts:
    dossiers: int = 0
    flagged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RATES, 0))

    def add(self, dossiers: int, flags: dict[str, int]) -> None:
        self.dossiers += dossiers
        for name in RATES:
            self.flagged[name] += flags[name]

    def rates(self) -> dict[str, float | None]:
        return {name: (self.flagged[name] / self.dossiers if self.dossiers else None) for name in RATES}

    def as_json(self) -> dict[str, Any]:
        return {"dossiers": self.dossiers, "counts": dict(self.flagged),
                "rates": {k: (round(v, 4) if v is not None else None) for k, v in self.rates().items()}}


def points(rate: float | None, weight: float) -> float:
    """The points a rate earns: full weight at 80% or more, proportionally less below."""
    if rate is None:
        return 0.0
    return round(weight * min(rate / FULL_MARKS_AT, 1.0), 2)


@dataclass(frozen=True)
class StatsReport:
    query: StatsQuery
    total: Counts
    by_month: dict[str, Counts]
    by_agency: dict[str, Counts]

    def as_json(self) -> dict[str, Any]:
        rates = self.total.rates()
        earned = {name: points(rates[name], WEIGHTS[name]) for name in RATES}
        return {
            "period": {"from": self.query.start.isoformat(), "to": self.query.end.isoformat()},
            "filters": {"agency": self.query.agency, "procedure": self.query.procedure, "commune": self.query.commune},
            **self.total.as_json(),
            "labels": LABELS,
            "points": {"earned": earned, "weights": WEIGHTS, "total": round(sum(earned.values()), 2),
                       "of": TOTAL_POINTS, "full_marks_at": FULL_MARKS_AT},
            "by_month": [{"month": m, **c.as_json()} for m, c in sorted(self.by_month.items())],
            "by_agency": [{"agency": a, **c.as_json()} for a, c in sorted(self.by_agency.items())],
        }


_S = Dossier.__table__
_P = DossierPlace.__table__


class DossierFigures(Base):
    """Per-dossier counters kept by triggers on the tables they count (migration 0012)."""

    __tablename__ = "dossier_figures"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)  # papers digitized for the dossier
    owned: Mapped[int] = mapped_column(Integer, default=0)  # of those, under their owner's ID
    copies: Mapped[int] = mapped_column(Integer, default=0)  # of those, content the store already held
    reused: Mapped[int] = mapped_column(Integer, default=0)  # components taken from earlier papers
    paper: Mapped[int] = mapped_column(Integer, default=0)  # components on paper only
    results: Mapped[int] = mapped_column(Integer, default=0)  # results issued electronically


_F = DossierFigures.__table__


def _flags():
    """Per-dossier flags from its counters (a dossier with no counters row has none of them)."""
    def n(column):
        return func.coalesce(column, 0) > 0

    return {
        "digitized": and_(or_(n(_F.c.documents), n(_F.c.reused)), not_(n(_F.c.paper))),
        "reuse": or_(n(_F.c.reused), n(_F.c.copies)),
        "electronic_result": n(_F.c.results),
        "linked": or_(n(_F.c.owned), n(_F.c.reused)),
    }


def _month(db: Database, column):
    """The month in Vietnam a reception time falls in (records keep UTC)."""
    if db.dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+7 hours")


def _bounds(q: StatsQuery) -> tuple[datetime, datetime]:
    """The period's days are Vietnam's: from 00:00 of the first to 24:00 of the last, UTC+7."""
    return (datetime.combine(q.start, time(0), tzinfo=VIETNAM_TIME),
            datetime.combine(q.end + timedelta(days=1), time(0), tzinfo=VIETNAM_TIME))


def _id_range(conn, q: StatsQuery) -> tuple[int, int] | None:
    """The first and last record number of the dossiers received in the period (one index range)."""
    start, end = _bounds(q)
    # ``id + 0``: min(id) and max(id) alone would walk the primary key from either end, past every
    # dossier outside the period, instead of reading the period through the reception-time index.
    lo, hi = conn.execute(select(func.min(_S.c.id + 0), func.max(_S.c.id + 0))
                          .where(_S.c.created >= start, _S.c.created < end)).one()
    return None if lo is None else (int(lo), int(hi))


def stats_statement(db: Database, q: StatsQuery, ids: tuple[int, int]):
    """The one query of :func:`compute_stats`: (month, agency, dossiers, one count per rate).

    The period's dossiers come through the reception-time index; their places and counters are
    read over the same run of record numbers (``ids``, from :func:`_id_range`) and joined by key.
    Dossiers are numbered as they are recorded, so that run is the period's (a dossier recorded
    long after its reception, an import, only widens it); without it the planner hashes the whole
    of both tables."""
    start, end = _bounds(q)
    lo, hi = ids
    flags = _flags()
    month = _month(db, _S.c.created).label("month")
    receiving = func.coalesce(_P.c.agency, _S.c.agency)
    agency = func.coalesce(receiving, literal("")).label("agency")
    source = (_S.outerjoin(_P, and_(_P.c.dossier_id == _S.c.id, _P.c.dossier_id.between(lo, hi)))
              .outerjoin(_F, and_(_F.c.dossier_id == _S.c.id, _F.c.dossier_id.between(lo, hi))))
    query = (
        select(month, agency, func.count().label("n"),
               *[func.sum(case((cond, 1), else_=0)).label(name) for name, cond in flags.items()])
        .select_from(source)
        .where(_S.c.created >= start, _S.c.created < end, _S.c.id.between(lo, hi))
        .group_by(month, agency)
    )
    if q.agency:
        query = query.where(receiving == nfc(q.agency))
    if q.procedure:
        query = query.where(_S.c.procedure_code == nfc(q.procedure))
    if q.commune:
        query = query.where(_P.c.commune_code == q.commune)
    return query


def compute_stats(db: Database, q: StatsQuery) -> StatsReport:
    """The figures of the period, in total, per month and per receiving agency."""
    total, by_month, by_agency = Counts(), defaultdict(Counts), defaultdict(Counts)
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            # Compiling this query to machine code costs ~0.1 s and saves nothing at this size.
            conn.exec_driver_sql("SET LOCAL jit = off")
        if db.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")  # group in memory, not on disk
        ids = _id_range(conn, q)
        for row in conn.execute(stats_statement(db, q, ids)) if ids else ():
            counts = {name: int(getattr(row, name) or 0) for name in RATES}
            total.add(row.n, counts)
            by_month[row.month].add(row.n, counts)
            by_agency[row.agency or "(không rõ)"].add(row.n, counts)
    return StatsReport(q, total, dict(by_month), dict(by_agency))


def dossier_flags(db: Database, code: str) -> dict[str, bool]:
    """The four flags of one dossier, as the figures count it (the portal export says the same)."""
    flags = _flags()
    query = (select(*[case((cond, True), else_=False).label(n) for n, cond in flags.items()])
             .select_from(_S.outerjoin(_F, _F.c.dossier_id == _S.c.id))
             .where(_S.c.code == nfc(code).strip()))
    with db.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise InputError(f"no dossier with code {code!r}")
    return {name: bool(getattr(row, name)) for name in RATES}
