"""Property tests for the webhook parsers: whatever arrives, a body is either a message,
something Sahay deliberately ignores, or a clear refusal; and a WhatsApp body changed in any
one byte never passes the signature check."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from typing import Any

import pytest
from fastapi import HTTPException
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from telegram import Bot, Update

from bot.channels import telegram, whatsapp
from bot.channels.base import InboundMessage, MessageIgnored

PROPERTY = settings(max_examples=200, deadline=None)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
BOT = Bot("123456:TEST-token")


def telegram_like() -> st.SearchStrategy[dict[str, Any]]:
    """Updates near the real shape, with any field missing, mistyped or strange."""
    chat = st.fixed_dictionaries(
        {"id": st.integers(), "type": st.sampled_from(["private", "group", "channel", "x"])}
    )
    user = st.fixed_dictionaries(
        {"id": st.integers(), "is_bot": st.booleans(), "first_name": st.text(max_size=10)}
    )
    message = st.fixed_dictionaries(
        {"message_id": st.integers(), "date": st.integers(0, 2**31), "chat": chat},
        optional={
            "text": st.text(max_size=6000),
            "caption": st.text(max_size=20),
            "from": user,
            "location": st.fixed_dictionaries(
                {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}
            ),
            "voice": JSON,
            "sticker": JSON,
        },
    )
    callback = st.fixed_dictionaries(
        {"id": st.text(max_size=8), "from": user, "chat_instance": st.text(max_size=8)},
        optional={"data": st.text(max_size=80), "message": message},
    )
    return st.fixed_dictionaries(
        {"update_id": st.integers()},
        optional={"message": message, "edited_message": message, "callback_query": callback},
    )


@PROPERTY
@given(st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_telegram_body_is_an_update_or_a_clear_400(body: bytes) -> None:
    update = _parsed(body)
    if update is not None:
        _normalised_or_ignored(lambda: telegram.normalise(update))


@PROPERTY
@given(telegram_like())
def test_telegram_updates_become_bounded_messages_or_are_ignored(data: dict[str, Any]) -> None:
    update = _parsed(json.dumps(data).encode())
    if update is None:
        return
    message = _normalised_or_ignored(lambda: telegram.normalise(update))
    if message is not None and update.callback_query is None and update.message is not None:
        assert message.sender == str(update.message.chat.id)


def whatsapp_like() -> st.SearchStrategy[dict[str, Any]]:
    kinds = [
        "text",
        "interactive",
        "button",
        "location",
        "audio",
        "image",
        "video",
        "document",
        "sticker",
        "contacts",
        "reaction",
        "unsupported",
        "order",
    ]
    return st.fixed_dictionaries(
        {"type": st.sampled_from(kinds)},
        optional={
            "from": st.text(max_size=16),
            "id": st.text(max_size=20),
            "timestamp": st.text(max_size=12),
            "text": st.dictionaries(st.sampled_from(["body", "x"]), st.text(max_size=6000) | JSON),
            "interactive": JSON,
            "button": JSON,
            "location": JSON,
            "audio": JSON,
            "image": JSON,
            "group_id": st.text(max_size=4),
        },
    )


@PROPERTY
@given(whatsapp_like() | st.dictionaries(st.text(max_size=10), JSON, max_size=6))
def test_whatsapp_messages_become_bounded_messages_ignored_or_invalid(raw: dict[str, Any]) -> None:
    with contextlib.suppress(ValidationError):  # counted as invalid, the rest of the batch kept
        _normalised_or_ignored(lambda: whatsapp.normalise(raw))


def _parsed(body: bytes) -> Update | None:
    """The update, or None after checking the refusal is a 400 (never a 500)."""
    try:
        return telegram.parse_update(body, BOT)
    except HTTPException as exc:
        status = exc.status_code
    assert status == 400
    return None


def _normalised_or_ignored(make: Any) -> InboundMessage | None:
    try:
        message = make()
    except MessageIgnored:
        return None
    assert isinstance(message, InboundMessage)
    assert len(message.text) <= 4096
    assert message.text == message.text.strip() or message.channel == "telegram"
    return message


SECRET = "app-secret-for-properties"


@PROPERTY
@given(st.binary(min_size=1, max_size=2000), st.data())
def test_a_whatsapp_body_changed_in_any_one_byte_fails_the_signature(
    body: bytes, data: st.DataObject
) -> None:
    header = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert whatsapp.signature_ok(SECRET, body, header)
    at = data.draw(st.integers(0, len(body) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[at]))
    changed = body[:at] + bytes([byte]) + body[at + 1 :]
    assert not whatsapp.signature_ok(SECRET, changed, header)
    assert not whatsapp.signature_ok("another-secret", body, header)


@pytest.mark.parametrize("header", ["", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "ü"])
def test_a_missing_or_malformed_signature_header_fails(header: str) -> None:
    assert not whatsapp.signature_ok(SECRET, b'{"object":"whatsapp_business_account"}', header)
