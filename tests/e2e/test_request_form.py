"""Asking for help in the chat, through the real Rasa server and action server: the request
form filled in English with one answer corrected, a request saved with a readable code and
its status asked; the form in Bengali cancelled with a typed word, nothing saved."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.i18n import Renderer, load_catalogues
from bot.pseudonym import contact_id
from storage.broadcast_models import Subscription
from storage.models import HelpRequest
from tests.e2e.conftest import Stack
from tests.e2e.test_conversation import say, sender

pytestmark = pytest.mark.e2e
RENDERER = Renderer(load_catalogues())


def last(reply: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = reply["messages"][-1]
    return message


async def requests_of(stack: Stack, person: str) -> list[HelpRequest]:
    database = stack.database()
    try:
        async with database.session() as session:
            cid = contact_id(stack.settings.secret_key, "webchat", person)
            rows = await session.scalars(select(HelpRequest).where(HelpRequest.contact_id == cid))
            return list(rows.all())
    finally:
        await database.dispose()


async def test_a_request_in_english_with_a_corrected_answer(stack: Stack) -> None:
    person = sender()
    await say(stack, person, "sahay:lang:en")
    ask = last(await say(stack, person, "i need help please note my case"))
    assert ask["text"] == RENDERER.text("request.ask_category", "en")
    assert [b["payload"] for b in ask["buttons"]][:2] == ["food_relief", "health_services"]
    steps = [
        ("food_relief", "request.ask_description"),
        ("no salary 2 month, no food at home", "request.ask_location"),
        ("Male", "request.ask_household_size"),
        ("four", "request.invalid_household_size"),  # makes no sense: asked again, helpfully
        ("4", "request.ask_gender"),
        ("skipped", "request.ask_age_group"),
        ("18_59", "request.ask_nationality"),
        ("Bangladesh", "request.invalid_choice"),  # typed, not tapped: the buttons again
        ("BD", "request.ask_contact_method"),
    ]
    for text, key in steps:
        reply = await say(stack, person, text)
        assert reply["messages"][0]["text"] == RENDERER.text(key, "en"), (text, reply)
        if key == "request.ask_nationality":  # the deployment's countries, then skip
            payloads = [b["payload"] for b in reply["messages"][0]["buttons"]]
            assert payloads == [
                "BD",
                "IN",
                "LK",
                "NP",
                "MV",
                "other",
                "skipped",
                "/cancel_request",
            ]
    summary = last(await say(stack, person, "chat"))
    assert summary["text"].startswith("Please check your request:\nNeed: Food and hygiene")
    assert "Where: Male" in summary["text"]
    # Change where: asked again, then the summary again.
    change = '/correct_request{"request_field":"request_location"}'
    assert last(await say(stack, person, change))["text"] == RENDERER.text(
        "request.ask_location", "en"
    )
    summary = last(await say(stack, person, "hulhumale"))
    assert "Where: Hulhumale" in summary["text"]
    saved = last(await say(stack, person, "/affirm"))
    code = re.search(r"[A-Z]{2}-[2-9A-Z]{4}", saved["text"])
    assert code, saved
    assert saved["text"] == RENDERER.text("request.submitted", "en", {"reference": code.group()})
    [request] = await requests_of(stack, person)
    assert (request.reference, request.location, request.household_size) == (
        code.group(),
        "Hulhumale",
        4,
    )
    assert (request.gender, request.age_group, request.nationality) == (None, "18_59", "BD")
    status = last(await say(stack, person, "status"))
    assert status["text"] == RENDERER.text(
        "status.found",
        "en",
        {
            "reference": code.group(),
            "category": {"key": "category.food_relief"},
            "status": {"key": "status.new"},
        },
    )


async def test_a_request_in_bengali_cancelled_with_a_typed_word(stack: Stack) -> None:
    person = sender()
    await say(stack, person, "sahay:lang:bn")
    ask = last(await say(stack, person, "খাবারের জন্য আমার নাম রেজিস্টার করেন"))
    assert ask["text"] == RENDERER.text("request.ask_category", "bn")
    description = await say(stack, person, "food_relief")
    assert description["messages"][0]["text"] == RENDERER.text("request.ask_description", "bn")
    cancelled = await say(stack, person, "বাতিল")
    assert cancelled["messages"][0]["text"] == RENDERER.text("request.cancelled", "bn")
    assert await requests_of(stack, person) == []
    # The form is really gone: a greeting is a greeting again.
    hello = await say(stack, person, "hello")
    assert not hello["messages"][0]["text"].startswith(
        RENDERER.text("request.ask_description", "bn")
    )


async def test_an_emergency_gets_the_numbers_at_once_then_an_urgent_request(
    stack: Stack,
) -> None:
    person = sender()
    await say(stack, person, "sahay:lang:en")
    reply = await say(stack, person, "my boss beat me")
    numbers, offer = reply["messages"]
    assert numbers["text"].startswith(RENDERER.text("answer.report_emergency", "en"))
    assert "119 police" in numbers["text"]  # from the service directory
    assert offer["text"] == RENDERER.text("emergency.offer_request", "en")
    assert offer["buttons"][0]["payload"] == "/urgent_request"
    # The urgent request skips household size, gender and age group.
    steps = [
        ("/urgent_request", "request.ask_category"),
        ("shelter", "request.ask_description"),
        ("boss beat me, need safe place", "request.ask_location"),
        ("Male", "request.ask_contact_method"),
        ("phone", "request.ask_phone"),
    ]
    for text, key in steps:
        assert last(await say(stack, person, text))["text"] == RENDERER.text(key, "en"), text
    summary = last(await say(stack, person, "777 1234"))
    assert summary["text"].startswith("Please check your request:\nNeed: Shelter")
    await say(stack, person, "/affirm")
    [request] = await requests_of(stack, person)
    assert (request.urgency.value, request.safeguarding, request.contact_method) == (
        "urgent",
        True,
        "phone",
    )
    assert request.phone
    assert "7771234" not in request.phone  # encrypted


async def test_safeguarding_words_in_the_middle_of_the_form_make_the_request_urgent(
    stack: Stack,
) -> None:
    person = sender()
    await say(stack, person, "sahay:lang:en")
    await say(stack, person, "register me for food help")
    for text in (
        "food_relief",
        "no salary and my employer threatened me",
        "Addu",
        "3",
        "skipped",
        "skipped",
        "skipped",
        "chat",
    ):
        await say(stack, person, text)
    await say(stack, person, "/affirm")
    [request] = await requests_of(stack, person)
    assert (request.urgency.value, request.safeguarding) == ("urgent", True)


async def test_alerts_are_subscribed_and_stopped_in_the_conversation(stack: Stack) -> None:
    """Through the real Rasa server and action server: asked for in words, in two languages."""
    person = sender()
    await say(stack, person, "sahay:lang:en")
    on = last(await say(stack, person, "pls send me cyclone warnings"))
    assert on["text"] == RENDERER.text("alerts.subscribed", "en")
    await say(stack, person, "sahay:lang:hi")
    off = last(await say(stack, person, "ab alert mat bhejo"))
    assert off["text"] == RENDERER.text("alerts.unsubscribed", "hi")
    database = stack.database()
    try:
        async with database.session() as session:
            cid = contact_id(stack.settings.secret_key, "webchat", person)
            mine = select(Subscription).where(Subscription.contact_id == cid)
            rows = await session.scalars(mine)
            assert [(s.topic, s.active) for s in rows.all()] == [("all", False)]
    finally:
        await database.dispose()
