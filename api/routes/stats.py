"""The digitization figures of Decision 766/QĐ-TTg over HTTP, and the page that draws them.

Admins and auditors read them (they describe the whole province, not one dossier); the page is
public like the auditor page and asks for the key, which stays in the browser tab.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.app import state_of
from api.auth import Principal, Role, require
from api.routes.stations import ERRORS
from storage.stats import StatsQuery, compute_stats

router = APIRouter(prefix="/v1", tags=["auditors"])
page = APIRouter(include_in_schema=False)

StatsKey = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]
PAGE = FsPath(__file__).resolve().parent.parent / "static" / "stats.html"


@router.get("/stats", summary="Digitization figures (Decision 766/QĐ-TTg)",
            responses={**ERRORS, 422: {"description": "a period or filter not understood"}})
def get_stats(
    request: Request,
    _principal: StatsKey,
    from_: Annotated[date, Query(alias="from", description="first day of the period (ISO 8601)")],
    to: Annotated[date, Query(description="last day of the period, inclusive")],
    agency: Annotated[str | None, Query(max_length=255)] = None,
    procedure: Annotated[str | None, Query(max_length=64, description="MaTTHC")] = None,
    commune: Annotated[str | None, Query(max_length=16, description="post-2025 commune code")] = None,
) -> dict[str, Any]:
    """Each rate is a share of the dossiers received in the period: ``digitized`` (every component
    digitized), ``reuse`` (at least one component reused), ``electronic_result`` (the result issued
    electronically), ``linked`` (linked to the owner's data store); with the points each earns
    (22 of 100 for dossier digitization, full marks at 80%), per month and per agency."""
    query = StatsQuery(start=from_, end=to, agency=agency, procedure=procedure, commune=commune)
    return compute_stats(state_of(request).records, query).as_json()


@page.get("/stats", response_class=HTMLResponse)
def stats_page() -> HTMLResponse:
    """The figures for people: charts drawn in the page itself (inline SVG), nothing from a CDN."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={
        "Content-Security-Policy": "default-src 'none'; script-src 'self' 'unsafe-inline'; "
        "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'none'; "
        "frame-ancestors 'none'",
        "Cache-Control": "no-store",
    })
