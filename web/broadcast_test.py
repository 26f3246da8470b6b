""" "Send to me first": one language's broadcast message, exactly as subscribers will get it
but under a TEST line in that language, to the staff member's own Telegram or WhatsApp, before
it goes to anyone. Staff and admins, audited; nothing enters the delivery ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast_plan import media_of, needs_template
from bot.channels import whatsapp
from bot.i18n import Renderer
from bot.messages import LANGUAGE_NAMES, N_
from bot.pseudonym import contact_id
from storage import broadcasts, casework
from storage import repository as repo
from storage.broadcast_models import Broadcast, BroadcastVariant
from storage.db import Database
from storage.models import Contact, utcnow
from web.broadcast_pages import Broadcaster, find_broadcast, page
from web.request_page import deliver_soon

# Registered before the broadcast pages' /broadcasts/{id}/{command} (web/app.py).
router = APIRouter(include_in_schema=False)


@router.post("/broadcasts/{broadcast_id}/test")
async def send_to_me_first(
    request: Request,
    staff: Broadcaster,
    broadcast_id: int,
    language: Annotated[str, Form(max_length=8)],
    channel: Annotated[str, Form(max_length=16)],
    address: Annotated[str, Form(max_length=40)],
) -> Response:
    """One language's message, exactly as subscribers will get it (under a TEST line), to
    the staff member's own Telegram or WhatsApp, before it goes to anyone else. That account
    must have written to the bot: the platforms let a bot write only to people who did. A
    mistyped number most likely finds no one; one that finds someone else shows them the TEST
    line, not an alert."""
    settings = request.app.state.settings
    platform_id = test_address(channel, address)
    if platform_id is None:
        return await page(request, staff, broadcast_id, TEST_PROBLEMS["address"], 422)
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await find_broadcast(session, broadcast_id)
        written = {v.language: v for v in await broadcasts.variants(session, found.id)}
        variant = written.get(language)
        contact = await session.get(Contact, contact_id(settings.secret_key, channel, platform_id))
        problem = test_problem(found, variant, contact, utcnow())
        if problem is None and variant is not None and contact is not None:
            await _queue_test(request, session, found, variant, contact)
            await casework.audit(
                session,
                staff.user,
                "test",
                "broadcast",
                found.id,
                language=language,
                channel=channel,
            )
    if problem is not None or contact is None:
        return await page(request, staff, broadcast_id, TEST_PROBLEMS[problem or ""], 422)
    deliver_soon(request, contact.id)
    notice = N_("Test sent to your %(channel)s in %(language)s. Check your phone.")
    return await page(
        request,
        staff,
        broadcast_id,
        notice=notice % {"channel": channel.title(), "language": LANGUAGE_NAMES[language]},
    )


async def _queue_test(
    request: Request,
    session: AsyncSession,
    found: Broadcast,
    variant: BroadcastVariant,
    contact: Contact,
) -> None:
    """The variant as plan_row would send it (template outside WhatsApp's window, media),
    under the TEST line, as a reply: it goes before any broadcast."""
    renderer: Renderer = request.app.state.pipeline.renderer
    outside = needs_template(contact.channel, contact.last_inbound_at, utcnow())
    await repo.add_outbound(
        session,
        contact_id=contact.id,
        channel=contact.channel,
        in_reply_to=None,
        message_key="broadcast.test",
        language=variant.language,
        text=f"{renderer.text('broadcast.test', variant.language)}\n{variant.text}",
        buttons=[],
        template=dict(found.whatsapp_template) if outside and found.whatsapp_template else None,
        media=media_of(variant),
    )


TEST_PROBLEMS = {
    "address": N_("Give a Telegram chat id or a WhatsApp number with its country code."),
    "language": N_("There is no text in that language yet."),
    "unknown": N_(
        "Sahay has no chat with that account yet. Write to the bot from it first (on "
        "Telegram, press Start), then send the test again."
    ),
    "window": N_(
        "That WhatsApp number has not written to the bot in the last 24 hours and this "
        "broadcast has no approved template. Write to the bot from it, then try again."
    ),
    "": N_("The test could not be sent."),
}


def test_address(channel: str, address: str) -> str | None:
    """The platform id typed in: a Telegram chat id, or a WhatsApp number as digits."""
    if channel == "telegram":
        typed = address.strip()
        return typed if typed.lstrip("-").isdigit() else None
    if channel == whatsapp.CHANNEL:
        digits = "".join(c for c in address if c.isdigit())
        return digits if 8 <= len(digits) <= 15 else None
    return None


def test_problem(
    found: Broadcast,
    variant: BroadcastVariant | None,
    contact: Contact | None,
    now: datetime,
) -> str | None:
    if variant is None:
        return "language"
    if contact is None or not contact.reachable:
        return "unknown"
    if needs_template(contact.channel, contact.last_inbound_at, now) and not (
        found.whatsapp_template
    ):
        return "window"
    return None
