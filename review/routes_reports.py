"""The reports on cases after dispatch (admins and dispatchers): a page with the cases-per-day chart and the tables
per unit, per rule and of repeat spots, the same as JSON, and a CSV of days x units x rules."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from review.accounts import Session
from review.reports import CSV_COLUMNS, DayRange, Group, Reports, chart_bars, duration
from review.web import NotAllowed, SignedIn, render, services


def reporting(session: SignedIn) -> Session:
    """Admins and dispatchers read the reports."""
    if session.user.role not in ("admin", "dispatcher"):
        raise NotAllowed("Only an admin or a dispatcher may read the reports.")
    return session


router = APIRouter(dependencies=[Depends(reporting)])
From = Annotated[str, Query(alias="from")]  # any length: a bad one is a 400 with a sentence (DayRange.parse)
To = Annotated[str, Query(alias="to")]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


def _reports(request: Request) -> Reports:
    app = services(request)
    return Reports(app.db, app.clock)


@router.get("/admin/reports", response_class=HTMLResponse)
def reports_page(request: Request, first: From = "", last: To = "") -> Response:
    reports = _reports(request)
    span = DayRange.parse(first, last, reports.today())
    report = reports.report(span)
    return render(request, "reports.html", report=report, chart=chart_bars(report.per_day), duration=duration,
                  csv_query=f"from={span.first}&to={span.last}")


@router.get("/api/admin/reports")
def reports_json(request: Request, first: From = "", last: To = "") -> dict[str, Any]:
    reports = _reports(request)
    report = reports.report(DayRange.parse(first, last, reports.today()))
    return {"from": report.span.first.isoformat(), "to": report.span.last.isoformat(),
            "total": _group_json(report.total), "per_day": [[d.isoformat(), n] for d, n in report.per_day],
            "by_unit": [_group_json(g) for g in report.by_unit], "by_rule": [_group_json(g) for g in report.by_rule],
            "repeat_spots": [vars(spot) for spot in report.repeat_spots]}


@router.get("/admin/reports.csv")
def reports_csv(request: Request, first: From = "", last: To = "") -> Response:
    reports = _reports(request)
    span = DayRange.parse(first, last, reports.today())
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_cell(value) for value in row] for row in reports.csv_rows(span))
    name = f"streetorder-cases-{span.first}-{span.last}.csv"
    return Response(text.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _group_json(group: Group) -> dict[str, Any]:
    return {"key": group.key, "cases": group.cases, "per_day": group.per_day, "closed": group.closed,
            "overdue": group.overdue, "overdue_share": group.overdue_share,
            "median_to_dispatch_s": group.median_to_dispatch_s, "median_to_close_s": group.median_to_close_s}


def _cell(value: Any) -> Any:
    """A unit's name is typed by people: one that starts like a formula is written as text."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
