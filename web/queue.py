"""The request queue (/requests), phone intake for helpline callers, and the admin's CSV export.
Every route checks the role on the server; every view is written to the audit log."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Renderer
from bot.messages import N_
from storage import casework, requests
from storage.crypto import AddressBox
from storage.db import Database
from storage.models import RequestStatus, ServiceLocation, StaffUser, Urgency, utcnow
from web.auth import ADMIN, CASEWORK, Caseworker, Staff, require
from web.templating import render

Admin = Annotated[Staff, Depends(require(*ADMIN))]
router = APIRouter(include_in_schema=False)
LANGUAGES = ("en", "es", "bn", "hi", "ta", "si", "ne", "dv")


def labels(renderer: Renderer, language: str) -> dict[str, Any]:
    """The words the staff pages show for stored values (categories, answers, statuses)."""
    return {
        "categories": {c: renderer.text(f"category.{c}", language) for c in requests.CATEGORIES},
        "genders": {g: renderer.text(f"gender.{g}", language) for g in requests.GENDERS},
        "age_groups": {a: renderer.text(f"age.{a}", language) for a in requests.AGE_GROUPS},
        "nationalities": {
            code: renderer.text(f"country.{code}", language)
            for codes in (*requests.NATIONALITIES.values(), (requests.OTHER_COUNTRY,))
            for code in codes
        },
        "statuses": [s.value for s in RequestStatus],
        "languages": LANGUAGES,
    }


def filter_options(
    words: dict[str, Any], places: list[str], team: list[StaffUser]
) -> list[tuple[str, str, list[tuple[str, str]], str]]:
    """(field, label, [(value, text)], what "no filter" is called) for the queue's filters."""
    everyone = [(str(u.id), u.email) for u in sorted(team, key=lambda u: u.email)]
    return [
        (
            "status",
            N_("Status"),
            [(s, s.replace("_", " ")) for s in words["statuses"]],
            N_("All open"),
        ),
        ("category", N_("Category"), list(words["categories"].items()), N_("All")),
        (
            "urgency",
            N_("Urgency"),
            [("urgent", N_("Urgent")), ("normal", N_("Normal"))],
            N_("All"),
        ),
        ("language", N_("Language"), [(code, code) for code in LANGUAGES], N_("All")),
        ("location", N_("Location"), [(p, p) for p in places], N_("All")),
        (
            "assignee",
            N_("Assignee"),
            [("me", N_("Me")), ("none", N_("Nobody yet")), *everyone],
            N_("Anyone"),
        ),
        (
            "age",
            N_("Age"),
            [
                ("overdue", N_("Past target")),
                ("1d", N_("Older than a day")),
                ("7d", N_("Older than a week")),
            ],
            N_("Any"),
        ),
    ]


async def locations(session: AsyncSession, deployment: str) -> list[str]:
    query = select(ServiceLocation.name).where(ServiceLocation.deployment == deployment)
    return sorted(set((await session.scalars(query)).all()))


def _enum_or_none(kind: type[RequestStatus] | type[Urgency], value: str | None) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def queue_filter(staff: Staff, params: dict[str, str | None]) -> casework.QueueFilter:
    """The queue's query string as a filter; values that mean nothing are ignored."""
    assignee = params.get("assignee") or ""
    age = params.get("age")
    return casework.QueueFilter(
        status=_enum_or_none(RequestStatus, params.get("status")),
        category=params.get("category") if params.get("category") in requests.CATEGORIES else None,
        urgency=_enum_or_none(Urgency, params.get("urgency")),
        language=params.get("language") or None,
        location=params.get("location") or None,
        assignee=staff.user.id
        if assignee == "me"
        else (int(assignee) if assignee.isdigit() else None),
        unassigned=assignee == "none",
        age=casework.Age(age) if age in {a.value for a in casework.Age} else None,
    )


@router.get("/requests", response_class=HTMLResponse)
async def request_queue(
    request: Request,
    staff: Caseworker,
    status: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    urgency: Annotated[str | None, Query(max_length=16)] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    location: Annotated[str | None, Query(max_length=64)] = None,
    assignee: Annotated[str | None, Query(max_length=12)] = None,
    age: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    params = {
        "status": status,
        "category": category,
        "urgency": urgency,
        "language": language,
        "location": location,
        "assignee": assignee,
        "age": age,
    }
    wanted = queue_filter(staff, params)
    database: Database = request.app.state.database
    now = utcnow()
    async with database.session() as session:
        found = await casework.queue(session, wanted, now)
        people = await casework.staff_by_id(session)
        places = await locations(session, request.app.state.settings.deployment)
        shown = {k: v for k, v in params.items() if v}
        await casework.audit(session, staff.user, "view", "requests", "queue", filters=shown)
    words = labels(request.app.state.pipeline.renderer, staff.user.language)
    team = [u for u in people.values() if u.role in CASEWORK and u.active]
    context = {
        "filter_options": filter_options(words, places, team),
        "requests": found,
        "overdue": {r.id for r in found if casework.is_overdue(r, now)},
        "people": people,
        "now": now,
        "params": params,
        "locations": places,
        **words,
    }
    if request.headers.get("hx-request") == "true":
        return render(request, "staff/queue_rows.html", context)
    return render(request, "staff/queue.html", context)


@router.get("/requests/export.csv")
async def export(request: Request, staff: Admin) -> Response:
    """Every request, for reporting: no channel address, phone number or free text."""
    database: Database = request.app.state.database
    async with database.session() as session:
        rows = await casework.export_rows(session)
        await casework.audit(session, staff.user, "export", "requests", "csv", rows=len(rows))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(casework.EXPORT_COLUMNS)
    writer.writerows(rows)
    stamp = datetime.now().astimezone().strftime("%Y%m%d-%H%M")
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sahay-requests-{stamp}.csv"'},
    )


@router.get("/requests/new", response_class=HTMLResponse)
async def phone_intake_form(request: Request, staff: Caseworker) -> Response:
    return await _intake_page(request, staff, {}, None)


async def _intake_page(
    request: Request, staff: Staff, values: dict[str, Any], error: str | None
) -> Response:
    database: Database = request.app.state.database
    async with database.session() as session:
        places = await locations(session, request.app.state.settings.deployment)
    context = {
        "values": values,
        "error": error,
        "form_id": values.get("form_id") or uuid.uuid4().hex,
        "locations": places,
        "nationality_choices": requests.nationalities(request.app.state.settings.deployment),
        **labels(request.app.state.pipeline.renderer, staff.user.language),
    }
    return render(request, "staff/intake.html", context, 422 if error else 200)


@router.post("/requests/new", response_class=HTMLResponse)
async def phone_intake(
    request: Request,
    staff: Caseworker,
    form_id: Annotated[str, Form(pattern=r"^[0-9a-f]{32}$")],
    category: Annotated[str, Form(max_length=32)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    location: Annotated[str, Form(max_length=64)] = "",
    language: Annotated[str, Form(max_length=8)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    household_size: Annotated[str, Form(max_length=3)] = "",
    gender: Annotated[str, Form(max_length=16)] = "",
    age_group: Annotated[str, Form(max_length=16)] = "",
    nationality: Annotated[str, Form(max_length=16)] = "",
    urgent: Annotated[bool, Form()] = False,
    consent_share: Annotated[bool, Form()] = False,
) -> Response:
    """A helpline caller's request: channel "phone", no chat contact. Sent twice (a double
    click, a retried post), the same form makes one request."""
    values = dict(await request.form())
    problem = _intake_problem(category, description, language, phone, household_size)
    if problem:
        return await _intake_page(request, staff, values, problem)
    settings = request.app.state.settings
    box: AddressBox = request.app.state.pipeline.box
    new = requests.NewRequest(
        idempotency_key=f"phone:{form_id}",
        contact_id=None,
        channel="phone",
        language=language,
        category=category,
        description=box.seal(description.strip()),
        location=location.strip() or None,
        household_size=int(household_size) if household_size else None,
        gender=gender if gender in requests.GENDERS else None,
        age_group=age_group if age_group in requests.AGE_GROUPS else None,
        nationality=nationality
        if nationality in requests.nationalities(settings.deployment)
        else None,
        contact_method="phone",
        phone=box.seal(phone.strip()),
        consent_share=consent_share,
        urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
    )
    database: Database = request.app.state.database
    async with database.session() as session:
        created, fresh = await requests.open_request(session, settings.deployment, new)
        if fresh:
            await casework.add_event(session, created, "phone_intake", staff.user.id)
            await casework.audit(session, staff.user, "create", "request", created.id)
    return RedirectResponse(f"/requests/{created.id}", status_code=303)


def _intake_problem(
    category: str, description: str, language: str, phone: str, household_size: str
) -> str | None:
    if category not in requests.CATEGORIES:
        return N_("Choose what the caller needs help with.")
    if len(description.strip()) < 3:
        return N_("Write a few words about what the caller needs.")
    if language not in LANGUAGES:
        return N_("Choose the caller's language.")
    digits = [ch for ch in phone if ch.isdigit()]
    if not 6 <= len(digits) <= 15 or any(not (ch.isdigit() or ch in "+ -()") for ch in phone):
        return N_("Write the number to call back (digits, spaces, + and - only).")
    if household_size and (not household_size.isdigit() or not 1 <= int(household_size) <= 50):
        return N_("The household size is a number from 1 to 50, or leave it empty.")
    return None
