"""Between a caseworker and the person a request is about: the caseworker's replies and status
news go out through the person's channel in their language; what the person writes back
while a caseworker is talking with them goes into the request's timeline.

A conversation with a caseworker is "open" for THREAD_DAYS after their last reply, while the
request is open. In it, an answer the bot can only shrug at (it did not understand, or it
heard a bare yes or no) becomes "passed on to your caseworker" instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Renderer
from bot.rasa_client import RasaReply
from storage import repository as repo
from storage.models import (
    HelpRequest,
    OutboundRecord,
    RequestEvent,
    RequestStatus,
    utcnow,
)
from storage.requests import OPEN

THREAD_DAYS = 14
# Channels a message can be sent on; a phone request has nobody to message.
MESSAGING = frozenset({"telegram", "whatsapp", "webchat"})
# Bot answers that mean "I could not help with that": inside a caseworker conversation the
# person was most likely answering the caseworker.
SHRUGS = frozenset({"fallback", "out_of_scope", "affirm", "deny"})
# Status changes the person hears about (in_progress would only be noise).
ANNOUNCED = frozenset(
    {
        RequestStatus.ASSIGNED,
        RequestStatus.REFERRED,
        RequestStatus.RESOLVED,
        RequestStatus.CLOSED,
        RequestStatus.REJECTED,
    }
)


def reachable(request: HelpRequest) -> bool:
    return request.contact_id is not None and request.channel in MESSAGING


async def _queue(
    session: AsyncSession,
    request: HelpRequest,
    key: str,
    text: str,
    language: str,
) -> OutboundRecord:
    assert request.contact_id is not None  # noqa: S101 - callers check reachable()
    return await repo.add_outbound(
        session,
        contact_id=request.contact_id,
        channel=request.channel,
        in_reply_to=None,
        message_key=key,
        language=language,
        text=text,
        buttons=[],
    )


async def send_reply(
    session: AsyncSession, renderer: Renderer, request: HelpRequest, text: str
) -> OutboundRecord:
    """The caseworker's confirmed words, under a line that says who writes and about what."""
    language = request.language
    heading = renderer.text("casework.reply", language, {"reference": request.reference})
    return await _queue(session, request, "casework.reply", f"{heading}\n{text}", language)


async def announce_status(
    session: AsyncSession, renderer: Renderer, request: HelpRequest
) -> OutboundRecord | None:
    """Tell the person their request's new status, when it is news to them."""
    if request.status not in ANNOUNCED or not reachable(request):
        return None
    variables: dict[str, Any] = {
        "reference": request.reference,
        "category": {"key": f"category.{request.category}"},
        "status": {"key": f"status.{request.status.value}"},
    }
    message = renderer.render("status.found", request.language, variables, [])
    return await _queue(session, request, "status.found", message.text, request.language)


async def open_thread(session: AsyncSession, contact_id: str) -> HelpRequest | None:
    """The open request whose caseworker wrote to this person most recently, if within
    THREAD_DAYS."""
    since = utcnow() - timedelta(days=THREAD_DAYS)
    query = (
        select(HelpRequest)
        .join(RequestEvent, RequestEvent.request_id == HelpRequest.id)
        .where(
            HelpRequest.contact_id == contact_id,
            HelpRequest.status.in_(OPEN),
            RequestEvent.kind == "reply",
            RequestEvent.at >= since,
        )
        .order_by(RequestEvent.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def attach(session: AsyncSession, contact_id: str, inbound_id: int) -> HelpRequest | None:
    """Inside a caseworker conversation, put the person's message in the request's timeline
    (once, however often the message is retried) and return that request."""
    request = await open_thread(session, contact_id)
    if request is None:
        return None
    already = await session.scalar(
        select(RequestEvent.id).where(
            RequestEvent.request_id == request.id,
            RequestEvent.kind == "person_message",
            RequestEvent.data["inbound"].as_integer() == inbound_id,
        )
    )
    if already is None:
        session.add(
            RequestEvent(
                request_id=request.id, kind="person_message", data={"inbound": inbound_id}
            )
        )
        request.updated_at = utcnow()
    return request


def instead_of_shrug(request: HelpRequest, replies: list[RasaReply]) -> list[RasaReply]:
    """A bot answer that can only shrug becomes "passed on to your caseworker"."""
    if replies and all(reply.key in SHRUGS for reply in replies):
        return [RasaReply(key="casework.forwarded", variables={"reference": request.reference})]
    return replies
