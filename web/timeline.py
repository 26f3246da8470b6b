"""A request's timeline as the caseworker reads it: every event in order, with notes decrypted,
each reply's delivery state, and the person's own messages (translated when the deployment
allows their messages to go to the translator; the translation is kept)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from storage import requests
from storage.crypto import UNREADABLE, AddressBox, AddressUnreadable
from storage.models import HelpRequest, InboundRecord, OutboundRecord, StaffUser
from web.translation import TranslationUnavailable, Translator


def readable(box: AddressBox, sealed: Any) -> str | None:
    """A field encrypted at rest, as staff read it (or why it cannot be read)."""
    if not isinstance(sealed, str) or not sealed:
        return None
    try:
        return box.open(sealed)
    except AddressUnreadable:
        return UNREADABLE


async def timeline_view(
    session: AsyncSession,
    request: HelpRequest,
    box: AddressBox,
    translator: Translator,
    people: dict[int, StaffUser],
    settings: Settings,
    viewer_language: str,
) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    seen_inbound: set[int] = set()
    for event in await requests.timeline(session, request.id):
        actor = people.get(event.actor_id) if event.actor_id else None
        entry: dict[str, Any] = {
            "at": event.at,
            "kind": event.kind,
            "actor": actor.email if actor else None,
            "data": event.data,
        }
        if event.kind == "note":
            entry["text"] = readable(box, event.data.get("text"))
        elif event.kind == "assigned":
            assignee = people.get(event.data.get("to") or -1)
            entry["to"] = assignee.email if assignee else "?"
        elif event.kind == "reply":
            sent = await session.get(OutboundRecord, event.data.get("outbound") or -1)
            entry["original"] = readable(box, event.data.get("original"))
            entry["sent"] = sent.text if sent else None
            entry["delivery"] = (sent.delivery_status or sent.status) if sent else None
            entry["error"] = sent.error if sent else None
        elif event.kind == "person_message":
            inbound_id = int(event.data.get("inbound") or -1)
            if inbound_id in seen_inbound:  # a message answered twice after a crash
                continue
            seen_inbound.add(inbound_id)
            message = await session.get(InboundRecord, inbound_id)
            entry["text"] = message.text if message else None
            cached = dict(event.data.get("translations") or {})  # viewer's language -> sealed
            if viewer_language in cached:
                entry["translation"] = readable(box, cached[viewer_language])
            elif entry["text"] and settings.translate_person_messages:
                translated = await _translation(
                    entry["text"], request.language, viewer_language, translator
                )
                if translated:
                    entry["translation"] = translated
                    cached[viewer_language] = box.seal(translated)
                    event.data = {**event.data, "translations": cached}
        shown.append(entry)
    return shown


async def _translation(text: str, source: str, target: str, translator: Translator) -> str | None:
    if source == target:
        return None
    try:
        return await translator.translate(text, source, target)
    except TranslationUnavailable:
        return None
