"""One request's page: its details, timeline and what a caseworker does with it — claim,
assign, move through the workflow, write notes, and reply to the person in their language
(from a machine draft the caseworker checks). Views and changes go to the audit log."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot import casework as outreach
from bot.channels import whatsapp
from bot.i18n import Renderer
from bot.messages import N_
from storage import casework, requests
from storage.crypto import AddressBox
from storage.db import Database
from storage.models import (
    Contact,
    HelpRequest,
    RequestStatus,
    StaffUser,
    utcnow,
)
from web.auth import CASEWORK, Caseworker, Staff
from web.queue import labels
from web.templating import render
from web.timeline import readable, timeline_view
from web.translation import TranslationUnavailable, Translator

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
MAX_REPLY = 3000
MAX_NOTE = 2000


class Missing(Exception):
    """No request with this id."""


def _box(request: Request) -> AddressBox:
    """The box the app was built with (bot's pipeline): made once, at start-up."""
    box: AddressBox = request.app.state.pipeline.box
    return box


async def _locked(session: AsyncSession, request_id: int) -> HelpRequest:
    found = await session.get(HelpRequest, request_id, with_for_update=True)
    if found is None:
        raise Missing
    return found


async def page(
    request: Request,
    staff: Staff,
    request_id: int,
    *,
    draft: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    database: Database = request.app.state.database
    translator: Translator = request.app.state.translator
    box = _box(request)
    async with database.session() as session:
        found = await session.get(HelpRequest, request_id)
        if found is None:
            raise Missing
        contact = await session.get(Contact, found.contact_id) if found.contact_id else None
        people = await casework.staff_by_id(session)
        events = await timeline_view(
            session,
            found,
            box,
            translator,
            people,
            request.app.state.settings,
            staff.user.language,
        )
        await casework.audit(session, staff.user, "view", "request", found.id)
        if contact is not None or found.phone:
            await casework.audit(
                session, staff.user, "view", "contact", found.contact_id or f"phone:{found.id}"
            )
        assignable = await casework.caseworkers(session)
    now = utcnow()
    context = {
        "item": found,
        "contact": contact,
        "description": readable(box, found.description),
        "phone": readable(box, found.phone),
        "events": events,
        "people": people,
        "caseworkers": assignable,
        # In workflow order, so the usual next step is the one already chosen.
        "next_statuses": [
            s.value for s in RequestStatus if s in requests.TRANSITIONS[found.status]
        ],
        "overdue": casework.is_overdue(found, now),
        "now": now,
        "reachable": outreach.reachable(found),
        # WhatsApp delivers free text only within 24 hours of the person's last message.
        "window_closed": contact is not None
        and contact.channel == whatsapp.CHANNEL
        and not whatsapp.within_window(contact.last_inbound_at, now),
        "draft": draft,
        "error": error,
        **labels(request.app.state.pipeline.renderer, staff.user.language),
    }
    return render(request, "staff/request.html", context, status_code)


def _back(request_id: int) -> Response:
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def _done(request: Request, request_id: int, deliver_to: str | None) -> Response:
    """Back to the request page; a message for the person is sent on the way."""
    deliver_soon(request, deliver_to)
    return _back(request_id)


def deliver_soon(request: Request, contact_id: str | None) -> None:
    """Send now rather than at the worker's next pass; the worker sends it if this fails."""
    if contact_id is None:
        return
    engine = request.app.state.gateway.engine
    tasks: set[asyncio.Task[int]] = request.app.state.background
    task = asyncio.create_task(engine.deliver_to(contact_id))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def show(request: Request, staff: Caseworker, request_id: int) -> Response:
    return await page(request, staff, request_id)


@router.post("/requests/{request_id}/claim")
async def claim(request: Request, staff: Caseworker, request_id: int) -> Response:
    return await _assign(request, staff, request_id, staff.user.id)


@router.post("/requests/{request_id}/assign")
async def assign(
    request: Request, staff: Caseworker, request_id: int, assignee: Annotated[int, Form()]
) -> Response:
    return await _assign(request, staff, request_id, assignee)


async def _assign(request: Request, staff: Staff, request_id: int, assignee_id: int) -> Response:
    renderer: Renderer = request.app.state.pipeline.renderer
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await _locked(session, request_id)
        assignee = await session.get(StaffUser, assignee_id)
        if found.status not in requests.OPEN:
            problem = N_("This request is no longer open.")
        elif assignee is None or not assignee.active or assignee.role not in CASEWORK:
            problem = N_("Choose an active caseworker.")
        else:
            problem = None
            was = found.status
            await casework.assign(session, found, assignee, staff.user)
            await casework.audit(
                session, staff.user, "assign", "request", found.id, to=assignee.id
            )
            announced = found.status is not was and await outreach.announce_status(
                session, renderer, found
            )
    if problem:
        return await page(request, staff, request_id, error=problem, status_code=409)
    return _done(request, request_id, found.contact_id if announced else None)


@router.post("/requests/{request_id}/status")
async def change_status(
    request: Request,
    staff: Caseworker,
    request_id: int,
    status: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    renderer: Renderer = request.app.state.pipeline.renderer
    database: Database = request.app.state.database
    try:
        target = RequestStatus(status)
    except ValueError:
        return await page(request, staff, request_id, error=N_("Unknown status."), status_code=422)
    try:
        async with database.session() as session:
            found = await _locked(session, request_id)
            await requests.change_status(session, found, target, staff.user.id, reason)
            await casework.audit(session, staff.user, "status", "request", found.id, to=status)
            announced = await outreach.announce_status(session, renderer, found)
    except requests.InvalidTransition as exc:
        return await page(
            request, staff, request_id, error=f"Not changed: {exc}.", status_code=409
        )
    return _done(request, request_id, found.contact_id if announced else None)


@router.post("/requests/{request_id}/notes")
async def add_note(
    request: Request,
    staff: Caseworker,
    request_id: int,
    text: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    if not text.strip():
        return await page(
            request, staff, request_id, error=N_("The note is empty."), status_code=422
        )
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await _locked(session, request_id)
        sealed = _box(request).seal(text.strip())
        await casework.add_event(session, found, "note", staff.user.id, text=sealed)
        await casework.audit(session, staff.user, "note", "request", found.id)
    return _back(request_id)


@router.post("/requests/{request_id}/draft", response_class=HTMLResponse)
async def draft_reply(
    request: Request,
    staff: Caseworker,
    request_id: int,
    original: Annotated[str, Form(max_length=MAX_REPLY)] = "",
) -> Response:
    """The caseworker's words, machine-translated into the person's language, to check and
    edit before sending. Without a draft (the translator is down) they write it themselves."""
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await session.get(HelpRequest, request_id)
    if found is None:
        raise Missing
    draft: dict[str, Any] = {"original": original, "text": "", "machine": False, "problem": None}
    if not original.strip():
        draft["problem"] = N_("Write your message first.")
    elif found.language == staff.user.language:
        draft["text"] = original
    else:
        translator: Translator = request.app.state.translator
        try:
            draft["text"] = await translator.translate(
                original, staff.user.language, found.language
            )
            draft["machine"] = True
        except TranslationUnavailable:
            draft["problem"] = N_(
                "No machine draft right now. Write the message in the person's language, "
                "or ask a colleague who speaks it."
            )
    if request.headers.get("hx-request") == "true":
        context = {
            "item": found,
            "draft": draft,
            **labels(request.app.state.pipeline.renderer, "en"),
        }
        return render(request, "staff/draft.html", context)
    return await page(request, staff, request_id, draft=draft)


@router.post("/requests/{request_id}/reply")
async def send_reply(
    request: Request,
    staff: Caseworker,
    request_id: int,
    text: Annotated[str, Form(max_length=MAX_REPLY)] = "",
    original: Annotated[str, Form(max_length=MAX_REPLY)] = "",
    machine_text: Annotated[str, Form(max_length=MAX_REPLY * 2)] = "",
) -> Response:
    """The confirmed reply goes out through the person's channel; the timeline keeps what the
    caseworker wrote, what was sent, and whether it came from a machine draft."""
    if not text.strip():
        draft = {"original": original, "text": "", "machine": False, "problem": None}
        return await page(
            request,
            staff,
            request_id,
            draft=draft,
            error=N_("The reply is empty."),
            status_code=422,
        )
    renderer: Renderer = request.app.state.pipeline.renderer
    database: Database = request.app.state.database
    box = _box(request)
    async with database.session() as session:
        found = await _locked(session, request_id)
        if not outreach.reachable(found):
            problem: str | None = N_("This person has no chat to reply to: call them back.")
        else:
            problem = None
            sent = await outreach.send_reply(session, renderer, found, text.strip())
            await casework.add_event(
                session,
                found,
                "reply",
                staff.user.id,
                outbound=sent.id,
                original=box.seal(original.strip()) if original.strip() else None,
                source=staff.user.language,
                machine=bool(machine_text),
                edited=bool(machine_text) and text.strip() != machine_text.strip(),
            )
            await casework.audit(session, staff.user, "reply", "request", found.id)
    if problem:
        return await page(request, staff, request_id, error=problem, status_code=409)
    return _done(request, request_id, found.contact_id)
