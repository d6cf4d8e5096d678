"""Vietnam time (UTC+7 all year, no daylight saving) for the dates and times people read.

Records, JSON and the audit trail keep instants in UTC, ISO 8601. What a person reads — the stamp
on a copy, the auditor's report, the policy's sentences — gives the date as Vietnamese documents
write it, dd/mm/yyyy, on Vietnam's calendar: an instant at 20:00 UTC is already the next day there,
and a report saying one day beside a stamp saying the next would contradict itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")


def in_vietnam(moment: datetime) -> datetime:
    """``moment`` on Vietnam's clock; a naive datetime is taken as UTC (as the records keep it)."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(VIETNAM_TIME)


def vietnam_date(moment: date | datetime) -> str:
    """dd/mm/yyyy of Vietnam's calendar (a plain date is already a calendar day: as it is)."""
    day = in_vietnam(moment) if isinstance(moment, datetime) else moment
    return f"{day:%d/%m/%Y}"


def vietnam_datetime(moment: datetime) -> str:
    """dd/mm/yyyy hh:mm:ss in Vietnam, saying so: "01/06/2012 16:30:00 (UTC+7)"."""
    return f"{in_vietnam(moment):%d/%m/%Y %H:%M:%S} (UTC+7)"
