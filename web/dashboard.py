"""The dashboard for staff and admins (/dashboard): the programme's figures at a glance, for a
period and a location, and the monthly report to download (XLSX or printable HTML). Counts
only, small cells hidden: nothing here shows or points at a person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from storage import casework
from storage.db import Database
from storage.figures import Period
from storage.models import StaffRole
from web.auth import Staff, require
from web.queue import labels, locations
from web.report import BREAKDOWNS, DIMENSION_TITLES, Words, gather, month_period, monthly
from web.report_files import file_stem, render_html, workbook
from web.templating import render

router = APIRouter(include_in_schema=False)
Manager = Annotated[Staff, Depends(require(StaffRole.ADMIN, StaffRole.STAFF))]
DEFAULT_WEEKS = 12
LONGEST = timedelta(days=731)  # two years of weeks is as much as one chart can show
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _words(request: Request) -> Words:
    return Words(labels(request.app.state.pipeline.renderer, "en"))


def _period(start: str | None, end: str | None, today: date) -> tuple[date, date, str | None]:
    """The dates asked for, or (if none, or with what was wrong) the last 12 weeks: from the
    Monday 11 weeks before this week's to today."""
    default = (today - timedelta(weeks=DEFAULT_WEEKS - 1, days=today.weekday()), today)
    if not start and not end:
        return (*default, None)
    try:
        first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        return (*default, "Dates are written YYYY-MM-DD: showing the last 12 weeks.")
    if last < first:
        return (*default, "The period ends before it starts: showing the last 12 weeks.")
    if last - first > LONGEST:
        return (*default, "At most two years at once: showing the last 12 weeks.")
    return first, last, None


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    staff: Manager,
    start: str | None = None,
    end: str | None = None,
    location: str | None = None,
    by: str = "category",
) -> Response:
    database: Database = request.app.state.database
    today = datetime.now(UTC).date()
    first, last, error = _period(start, end, today)
    if by not in BREAKDOWNS:
        by = "category"
    async with database.session() as session:
        places = await locations(session, request.app.state.settings.deployment)
        place = location if location in places else None
        period = Period(_utc(first), _utc(last + timedelta(days=1)), place)
        report = await gather(session, period, _words(request), by)
    last_month = today.replace(day=1) - timedelta(days=1)
    return render(
        request,
        "staff/dashboard.html",
        {
            "report": report,
            "start": first.isoformat(),
            "end": last.isoformat(),
            "location": place,
            "places": places,
            "by": by,
            "breakdowns": [(b, DIMENSION_TITLES[b]) for b in BREAKDOWNS],
            "month": f"{last_month:%Y-%m}",
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/dashboard/report")
async def download_report(
    request: Request,
    staff: Manager,
    month: str = "",
    format: str = "xlsx",
    location: str | None = None,
) -> Response:
    """The monthly report, as the workbook or the printable page; the download is audited."""
    database: Database = request.app.state.database
    try:
        period = month_period(month)
    except ValueError as exc:
        return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
    if format not in ("xlsx", "html"):
        return Response(
            "format is xlsx or html", status_code=400, media_type="text/plain; charset=utf-8"
        )
    async with database.session() as session:
        places = await locations(session, request.app.state.settings.deployment)
        period = Period(period.start, period.end, location if location in places else None)
        report = await monthly(session, period, _words(request))
        await casework.audit(
            session, staff.user, "export", "report", month, format=format, location=period.location
        )
    name = f"{file_stem(report)}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "html":
        return Response(
            render_html(report), media_type="text/html; charset=utf-8", headers=disposition
        )
    return Response(workbook(report), media_type=XLSX, headers=disposition)
