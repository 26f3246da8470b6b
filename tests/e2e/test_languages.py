"""Languages end to end: pre-selection from the first message, the picker, answers from the
service directory in the person's language."""

from __future__ import annotations

import uuid

import pytest

from bot.i18n import Renderer, load_catalogues
from tests.e2e.conftest import Stack
from tests.e2e.test_conversation import say

pytestmark = pytest.mark.e2e
RENDERER = Renderer(load_catalogues())


def person() -> str:
    return f"web-{uuid.uuid4().hex}"


@pytest.mark.parametrize(
    ("first_message", "language"),
    [("আমি খাবার পাচ্ছি না", "bn"), ("மருத்துவமனை எங்கே", "ta"), ("necesito comida porfa", "es")],
)
async def test_first_message_preselects_the_language(
    stack: Stack, first_message: str, language: str
) -> None:
    reply = await say(stack, person(), first_message)
    assert reply["language"] == language
    picker = reply["messages"][-1]
    assert picker["text"] == RENDERER.text("language_picker_first", language)
    assert picker["buttons"][0]["payload"] == f"sahay:lang:{language}"


async def test_choosing_a_language_changes_every_reply(stack: Stack) -> None:
    someone = person()
    await say(stack, someone, "hello")
    chosen = await say(stack, someone, "sahay:lang:ne")
    assert chosen["language"] == "ne"
    assert chosen["messages"][0]["text"] == RENDERER.text("language_set", "ne")
    menu = await say(stack, someone, "/ask_menu")
    assert menu["messages"][0]["text"] == RENDERER.text("menu", "ne")


async def test_change_language_at_any_point_shows_the_picker(stack: Stack) -> None:
    someone = person()
    await say(stack, someone, "hello")
    reply = await say(stack, someone, "/change_language")
    assert len(reply["messages"][0]["buttons"]) == 8


async def test_service_answer_lists_places_near_the_person(stack: Stack) -> None:
    someone = person()
    await say(stack, someone, "sahay:lang:en")
    reply = await say(stack, someone, '/ask_food_relief{"location": "Addu"}')
    text = reply["messages"][0]["text"]
    assert text.startswith(RENDERER.text("answer.ask_food_relief", "en"))
    assert "Near Addu:" in text
    assert "Addu relief point" in text
    assert "Helpline: 1400 (sample)" in text
    # Later questions remember the place.
    later = await say(stack, someone, "/ask_shelter")
    assert "Near Addu:" in later["messages"][0]["text"]


@pytest.mark.parametrize(
    ("question", "near"),
    [
        ("any food distribution in hithadhoo?", "Near Addu:"),
        ("food distribution in seenu atoll", "Near Seenu:"),
    ],
)
async def test_a_place_named_in_free_text_is_understood_and_remembered(
    stack: Stack, question: str, near: str
) -> None:
    someone = person()
    await say(stack, someone, "sahay:lang:en")
    reply = await say(stack, someone, question)
    text = reply["messages"][0]["text"]
    assert text.startswith(RENDERER.text("answer.ask_food_relief", "en"))
    assert near in text
    assert "Addu relief point" in text  # nearest first, whether island or atoll was named


async def test_emergency_numbers_come_at_once(stack: Stack) -> None:
    someone = person()
    await say(stack, someone, "sahay:lang:en")
    reply = await say(stack, someone, "/report_emergency")
    assert "Emergency: 119 police" in reply["messages"][0]["text"]


@pytest.mark.parametrize(
    "text", ["🙏🙏🙏", "x" * 4000, "hello ආයුබෝවන් नमस्ते", "Guten Tag, wie geht's?"]
)
async def test_odd_input_gets_a_sensible_reply(stack: Stack, text: str) -> None:
    reply = await say(stack, person(), text)
    assert reply["messages"]
    assert all(m["text"].strip() for m in reply["messages"])
