"""Risk-communication broadcasts in the staff app: compose per language (with machine drafts
marked for review), review by another person, approval, audience and its preview, send now or
at a time, and live progress with pause, resume and cancel. Staff and admins only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import LANGUAGE_NAMES, N_
from bot.rates import channel_plans
from storage import broadcasts, casework, ledger, media
from storage.broadcast_models import Broadcast, BroadcastStatus, BroadcastVariant
from storage.db import Database
from storage.models import StaffRole
from web.auth import Staff, require
from web.queue import locations
from web.templating import render
from web.translation import TranslationUnavailable, Translator

BROADCASTERS = (StaffRole.ADMIN, StaffRole.STAFF)
Broadcaster = Annotated[Staff, Depends(require(*BROADCASTERS))]
router = APIRouter(include_in_schema=False)
LANGUAGES = tuple(LANGUAGE_NAMES)
CHANNELS = ("telegram", "whatsapp")
MAX_TEXT = 4000


class NoSuchBroadcast(Exception):
    """No broadcast with this id."""


async def find_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast:
    found = await session.get(Broadcast, broadcast_id)
    if found is None:
        raise NoSuchBroadcast
    return found


def _back(broadcast_id: int) -> Response:
    return RedirectResponse(f"/broadcasts/{broadcast_id}", status_code=303)


@router.get("/broadcasts", response_class=HTMLResponse)
async def broadcast_list(request: Request, staff: Broadcaster) -> Response:
    database: Database = request.app.state.database
    async with database.session() as session:
        found = (await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()))).all()
        people = await casework.staff_by_id(session)
    context = {"broadcasts": found, "people": people, "topics": broadcasts.TOPICS}
    return render(request, "staff/broadcasts.html", context)


@router.post("/broadcasts")
async def create_broadcast(
    request: Request,
    staff: Broadcaster,
    title: Annotated[str, Form(max_length=200)] = "",
    topic: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    if not title.strip() or topic not in broadcasts.TOPICS:
        return await _problem(request, N_("Give the broadcast a title and a topic."))
    database: Database = request.app.state.database
    async with database.session() as session:
        made = Broadcast(title=title.strip(), topic=topic, author_id=staff.user.id)
        session.add(made)
        await session.flush()
        await casework.audit(session, staff.user, "create", "broadcast", made.id)
    return _back(made.id)


async def _problem(request: Request, message: str) -> Response:
    return render(request, "staff/forbidden.html", {"message": message}, 422)


async def page(
    request: Request,
    staff: Staff,
    broadcast_id: int,
    error: str | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await find_broadcast(session, broadcast_id)
        written = {v.language: v for v in await broadcasts.variants(session, found.id)}
        preview = await broadcasts.preview(session, found) if written else None
        people = await casework.staff_by_id(session)
        places = await locations(session, request.app.state.settings.deployment)
        rules = await broadcasts.rules(session)
        counts = await broadcasts.count_by_state(session, found.id)
    context = {
        "item": found,
        "variants": written,
        "languages": LANGUAGES,
        "language_names": LANGUAGE_NAMES,
        "channels": CHANNELS,
        "preview": preview,
        "people": people,
        "locations": places,
        "rules": rules,
        "summary": ledger.summarise(counts),
        "error": error,
        "notice": notice,
    }
    return render(request, "staff/broadcast.html", context, status)


@router.get("/broadcasts/{broadcast_id}", response_class=HTMLResponse)
async def show(request: Request, staff: Broadcaster, broadcast_id: int) -> Response:
    return await page(request, staff, broadcast_id)


async def _change(request: Request, staff: Staff, broadcast_id: int, action: Any) -> Response:
    """Run `action(session, broadcast)`; a rule it breaks is shown on the page (409)."""
    database: Database = request.app.state.database
    try:
        async with database.session() as session:
            found = await find_broadcast(session, broadcast_id)
            await action(session, found)
    except broadcasts.BroadcastError as exc:
        return await page(request, staff, broadcast_id, f"Not done: {exc}.", 409)
    return _back(broadcast_id)


@router.post("/broadcasts/{broadcast_id}/variants")
async def write_variant(
    request: Request,
    staff: Broadcaster,
    broadcast_id: int,
    language: Annotated[str, Form(max_length=8)],
    text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    media_kind: Annotated[str, Form(max_length=16)] = "",
    media_url: Annotated[str, Form(max_length=500)] = "",
    media_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A language's text, and a recording or an image: uploaded, or a link to one."""
    if language not in LANGUAGES:
        return await page(request, staff, broadcast_id, "Unknown language.", 422)
    upload = b""
    if media_file is not None and media_file.filename:
        # One byte past the limit is enough to know it is too large.
        upload = await media_file.read(max(media.MAX_BYTES.values()) + 1)
        try:
            media.check(media_kind, upload)
        except media.MediaRefused as exc:
            return await page(request, staff, broadcast_id, f"Not kept: {exc}.", 422)
    elif media_url and (
        media_kind not in ("image", "audio") or not media_url.startswith("https://")
    ):
        return await page(
            request, staff, broadcast_id, "A recording or image is an https:// link.", 422
        )

    async def save(session: Any, found: Broadcast) -> None:
        nonlocal media_url
        if upload:
            stored = await media.store(session, media_kind, upload, staff.user.id)
            base = request.app.state.settings.public_url or str(request.base_url)
            media_url = f"{base.rstrip('/')}/media/{media.public_name(stored)}"
            await casework.audit(
                session, staff.user, "upload", "broadcast", found.id, language=language
            )
        await broadcasts.write_variant(
            session,
            found,
            language,
            text,
            staff.user,
            media_kind=media_kind or None,
            media_url=media_url or None,
        )

    return await _change(request, staff, broadcast_id, save)


@router.post("/broadcasts/{broadcast_id}/draft")
async def machine_draft(
    request: Request,
    staff: Broadcaster,
    broadcast_id: int,
    language: Annotated[str, Form(max_length=8)],
) -> Response:
    """A language with no text gets a machine translation of the source text (English, or
    the first written language), marked as a machine draft until someone reviews it."""
    database: Database = request.app.state.database
    async with database.session() as session:
        written = {v.language: v for v in await broadcasts.variants(session, broadcast_id)}
    source: BroadcastVariant | None = written.get("en") or next(iter(written.values()), None)
    if language not in LANGUAGES or source is None:
        return await page(request, staff, broadcast_id, "Write one language first.", 409)
    translator: Translator = request.app.state.translator
    try:
        text = await translator.translate(source.text, source.language, language)
    except TranslationUnavailable:
        message = "No machine draft right now: write this language yourself."
        return await page(request, staff, broadcast_id, message, 503)

    async def save(session: Any, found: Broadcast) -> None:
        await broadcasts.write_variant(
            session, found, language, text, staff.user, machine_drafted=True
        )

    return await _change(request, staff, broadcast_id, save)


@router.post("/broadcasts/{broadcast_id}/review")
async def review(
    request: Request,
    staff: Broadcaster,
    broadcast_id: int,
    language: Annotated[str, Form(max_length=8)],
) -> Response:
    async def mark(session: Any, found: Broadcast) -> None:
        variant = next(
            (v for v in await broadcasts.variants(session, found.id) if v.language == language),
            None,
        )
        if variant is None:
            raise broadcasts.BroadcastError("there is no text in that language")
        await broadcasts.review(session, variant, staff.user)
        await casework.audit(
            session, staff.user, "review", "broadcast", found.id, language=language
        )

    return await _change(request, staff, broadcast_id, mark)


@router.post("/broadcasts/{broadcast_id}/audience")
async def audience(request: Request, staff: Broadcaster, broadcast_id: int) -> Response:
    form = await request.form()
    chosen: dict[str, Any] = {
        "languages": [v for v in form.getlist("languages") if v in LANGUAGES],
        "locations": [str(v) for v in form.getlist("locations")][:50],
        "channels": [v for v in form.getlist("channels") if v in CHANNELS],
    }
    days = str(form.get("seen_within_days") or "")
    if days.isdigit() and 0 < int(days) <= 365:
        chosen["seen_within_days"] = int(days)
    fallback = str(form.get("fallback_language") or "")
    template = str(form.get("whatsapp_template") or "").strip()

    async def save(session: Any, found: Broadcast) -> None:
        if found.status is not BroadcastStatus.DRAFT:
            raise broadcasts.BroadcastError("the audience is fixed once approved")
        found.audience = {k: v for k, v in chosen.items() if v}
        found.fallback_language = fallback if fallback in LANGUAGES else None
        found.whatsapp_template = (
            {"name": template[:100], "language": fallback or "en"} if template else None
        )

    return await _change(request, staff, broadcast_id, save)


@router.post("/broadcasts/{broadcast_id}/approve")
async def approve(request: Request, staff: Broadcaster, broadcast_id: int) -> Response:
    async def act(session: Any, found: Broadcast) -> None:
        await broadcasts.approve(session, found, staff.user)
        await casework.audit(session, staff.user, "approve", "broadcast", found.id)

    return await _change(request, staff, broadcast_id, act)


@router.post("/broadcasts/{broadcast_id}/send")
async def send(
    request: Request,
    staff: Broadcaster,
    broadcast_id: int,
    at: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Now, or at a time (the browser's local time, sent with its offset)."""
    when: datetime | None = None
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            return await page(request, staff, broadcast_id, "That is not a date and time.", 422)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)

    async def act(session: Any, found: Broadcast) -> None:
        if when is None:
            rows = await broadcasts.start(session, found)
            await casework.audit(session, staff.user, "send", "broadcast", found.id, rows=rows)
        else:
            await broadcasts.schedule(session, found, when)
            await casework.audit(
                session, staff.user, "schedule", "broadcast", found.id, at=when.isoformat()
            )

    return await _change(request, staff, broadcast_id, act)


@router.post("/broadcasts/{broadcast_id}/{command}")
async def control(
    request: Request, staff: Broadcaster, broadcast_id: int, command: str
) -> Response:
    """pause, resume or cancel."""
    actions = {"pause": broadcasts.pause, "resume": broadcasts.resume, "cancel": broadcasts.cancel}
    if command not in actions:
        raise NoSuchBroadcast

    async def act(session: Any, found: Broadcast) -> None:
        await actions[command](session, found)
        await casework.audit(session, staff.user, command, "broadcast", found.id)

    return await _change(request, staff, broadcast_id, act)


@router.get("/broadcasts/{broadcast_id}/progress", response_class=HTMLResponse)
async def progress(request: Request, staff: Broadcaster, broadcast_id: int) -> Response:
    """The live part of the page (htmx polls it every two seconds while sending)."""
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await find_broadcast(session, broadcast_id)
        detail = await ledger.progress(session, found.id)
        counts = await broadcasts.count_by_state(session, found.id)
        reached = await ledger.delivered(session, found.id)
    summary = ledger.summarise(counts)
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for (language, channel, state), n in sorted(detail.items()):
        groups.setdefault((language, channel), {})[state] = n
    rates = {c: plan.limit for c, plan in channel_plans(request.app.state.settings).items()}
    context = {
        "item": found,
        "summary": summary,
        "groups": groups,
        "delivered": reached,
        "delivered_total": sum(reached.values()),
        "eta": summary.eta_seconds(sum(rates[c] for c in {c for _l, c in groups} if c in rates)),
    }
    # 286 tells htmx to stop polling: nothing will change any more.
    live = found.status in (
        BroadcastStatus.SENDING,
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.PAUSED,
    )
    return render(request, "staff/broadcast_progress.html", context, 200 if live else 286)
