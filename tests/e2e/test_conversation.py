"""Conversations through `sahay web`, the real Rasa server and the real action server."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from bot.pseudonym import contact_id
from storage.models import Contact, InboundRecord, InboundStatus, OutboundRecord
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


async def say(stack: Stack, sender: str, text: str, message_id: str | None = None) -> dict:
    body = {"sender": sender, "text": text}
    if message_id:
        body["id"] = message_id
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=30) as client:
        response = await client.post("/api/chat/messages", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def sender() -> str:
    return f"web-{uuid.uuid4().hex}"


async def test_health_reports_every_component_ready(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.web_url) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    components = response.json()["components"]
    assert {name: c["ready"] for name, c in components.items()} == {
        "database": True,
        "rasa": True,
        "action_server": True,
    }


async def test_hello_is_greeted_then_welcomed_back(stack: Stack) -> None:
    person = sender()
    first = await say(stack, person, "hello")
    assert first["language"] == "en"
    greeting, picker = first["messages"]  # first contact: the language picker follows
    assert greeting["text"].startswith("Hello, I am Sahay")
    assert greeting["buttons"] == [{"title": "Menu", "payload": "/ask_menu"}]
    assert picker["buttons"][0] == {"title": "English", "payload": "sahay:lang:en"}
    assert len(picker["buttons"]) == 8

    # action_greet (in the action server) recorded the greeting in storage...
    database = stack.database()
    async with database.session() as s:
        contact = await s.get(Contact, contact_id(stack.settings.secret_key, "webchat", person))
        assert contact is not None
        assert contact.greeted_at is not None
    await database.dispose()
    # ...so the next greeting is a welcome back.
    second = await say(stack, person, "hii")
    assert second["messages"][0]["text"].startswith("Welcome back")


async def test_a_button_payload_posted_back_as_text_shows_the_menu(stack: Stack) -> None:
    person = sender()
    greeting = await say(stack, person, "hi")
    payload = greeting["messages"][0]["buttons"][0]["payload"]
    menu = await say(stack, person, payload)
    assert menu["messages"][0]["text"].startswith("I can help you with")


@pytest.mark.parametrize(
    ("text", "expected_start"),
    [
        ("wat can u do", "I can help you with"),
        ("ok bye", "Take care"),
        ("tell me a joke pls", "Sorry, I cannot help with that"),
        ("ᎣᏏᏲ ᏍᎩ", "Sorry, I did not understand"),  # nothing like the training data
    ],
)
async def test_intents_and_the_low_confidence_fallback(
    stack: Stack, text: str, expected_start: str
) -> None:
    reply = await say(stack, sender(), text)
    assert reply["messages"][0]["text"].startswith(expected_start)


async def test_one_message_delivered_many_times_is_answered_once(stack: Stack) -> None:
    person, message_id = sender(), uuid.uuid4().hex
    replies = await asyncio.gather(*(say(stack, person, "hello", message_id) for _ in range(8)))
    again = await say(stack, person, "hello", message_id)
    assert again["messages"][0]["text"].startswith("Hello, I am Sahay")
    cid = contact_id(stack.settings.secret_key, "webchat", person)
    database = stack.database()
    async with database.session() as s:
        inbound = (
            await s.scalars(select(InboundRecord).where(InboundRecord.contact_id == cid))
        ).all()
        outbound = await s.scalar(
            select(func.count())
            .select_from(OutboundRecord)
            .where(OutboundRecord.contact_id == cid)
        )
    await database.dispose()
    assert len(inbound) == 1
    assert inbound[0].status is InboundStatus.DONE
    assert inbound[0].attempts == 1  # one Rasa turn
    assert outbound == len(again["messages"]) == 2  # the greeting and the language picker
    assert sum(len(r["messages"]) for r in replies) >= 1
