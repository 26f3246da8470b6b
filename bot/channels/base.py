"""The neutral message types every channel speaks, and fallbacks for what a channel lacks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_TEXT_LENGTH = 4096  # Telegram's limit; the tightest of Sahay's channels.
# How many options a channel shows as buttons (WhatsApp: a list of up to 10 rows); more than
# that become a numbered list. Channels not named here draw their own (the terminal).
MAX_BUTTONS = {"webchat": 100, "telegram": 100, "whatsapp": 10}
# Channels that reply to a platform address, kept encrypted (web chat answers in the response).
ADDRESSED = frozenset({"telegram", "whatsapp"})


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class InboundMessage:
    """A message from a person, normalised. `platform_message_id` is its idempotency key."""

    channel: str
    sender: str  # the platform's id for the person (chat id, phone, web-chat sender)
    platform_message_id: str
    text: str
    # What kind of non-text content came with it (voice, audio, photo, video, document,
    # sticker, contact): Sahay reads text only, and answers such a message politely.
    media: str | None = None
    # What the platform said about the media (mime type, size, duration); never the file.
    media_meta: dict[str, Any] | None = None
    # A shared location (latitude, longitude): matched to the nearest directory location.
    location: tuple[float, float] | None = None


class MessageIgnored(Exception):
    """An update Sahay deliberately does not answer (a group chat, a reaction, a bot's own
    status change): acknowledged to the platform, nothing stored."""


@dataclass(frozen=True)
class OutboundMessage:
    """A message for a person, already rendered in their language."""

    text: str
    key: str
    language: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    id: int | None = None  # the stored outbound message, once stored


class Channel(Protocol):
    """What the pipeline needs to know about a channel."""

    name: str
    supports_buttons: bool


def as_numbered_text(message: OutboundMessage, hint: str) -> str:
    """For a channel without buttons: the options as a numbered list after the text."""
    if not message.buttons:
        return message.text
    options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(message.buttons, start=1))
    return f"{message.text}\n\n{options}\n{hint}"


_NUMBER = re.compile(r"\s*(\d{1,2})\s*[.)]?\s*")


def pick_numbered_option(text: str, offered: Sequence[Button]) -> str:
    """A typed number picks the matching option offered last; anything else passes through."""
    match = _NUMBER.fullmatch(text)
    if match and offered:
        index = int(match.group(1)) - 1
        if 0 <= index < len(offered):
            return offered[index].payload
    return text
