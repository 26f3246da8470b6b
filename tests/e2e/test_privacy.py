"""People's data, proven on the running stack (real Rasa, action server, `sahay web` and
`sahay worker`, Telegram through python-telegram-bot against a local Bot API):

- a person who talked, opened a request with a phone number and then wrote "delete my data"
  and pressed "Yes, delete" is told it is done and, within a minute, nothing of them remains
  in any table of the gateway's database or in Rasa's tracker store;
- no log line of any process holds a person's chat id, phone number, name or words, after
  conversations, a request and a broadcast.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from bot.channels import telegram
from bot.i18n import Renderer, load_catalogues
from bot.pseudonym import contact_id
from storage import broadcasts
from storage.broadcast_models import Broadcast
from storage.models import Contact, StaffRole
from storage.staff import create_user
from storage.tracker import TrackerStore
from tests.e2e.conftest import Stack
from tests.fakes import FakeTelegram, telegram_callback, telegram_update
from tests.leaks import where_found

pytestmark = pytest.mark.e2e
RENDERER = Renderer(load_catalogues())
ERASED_CHAT = 8_555_123_987
ERASED_NAME = "Zuleikha Marzouq"
ERASED_PHONE = "+960 7319 2846"
ERASED_WORDS = "landlord took my passport, I stay in room 4471"
SUBSCRIBER_CHAT = 8_555_000_222
SUBSCRIBER_NAME = "Farhana Begumova"
ALERT = "Cyclone warning for Male tonight: stay indoors, shelters are open."
_updates = iter(range(88_000_000, 89_000_000))


async def tg(
    stack: Stack, platform: FakeTelegram, chat: int, update: dict[str, Any], wait: float = 60.0
) -> list[str]:
    """Post one update to the stack's webhook; the replies the chat got for it."""
    before = len(platform.texts(chat))
    headers = {telegram.SECRET_HEADER: stack.settings.telegram_secret}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{stack.web_url}/webhooks/telegram", json=update, headers=headers, timeout=30
        )
    assert response.status_code == 200
    deadline = time.monotonic() + wait
    while len(platform.texts(chat)) == before:
        assert time.monotonic() < deadline, f"no reply to {update}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the rest of the turn's replies
    return platform.texts(chat)[before:]


async def say(
    stack: Stack, platform: FakeTelegram, chat: int, text: str, name: str = "Test"
) -> list[str]:
    update = telegram_update(next(_updates), chat_id=chat, text=text)
    update["message"]["from"]["first_name"] = update["message"]["chat"]["first_name"] = name
    return await tg(stack, platform, chat, update)


async def open_request_by_phone(stack: Stack, platform: FakeTelegram) -> None:
    chat, name = ERASED_CHAT, ERASED_NAME
    assert (await say(stack, platform, chat, "sahay:lang:en", name))[0] == RENDERER.text(
        "language_set", "en"
    )
    steps = [
        ("i need help please note my case", "request.ask_category"),
        ("shelter", "request.ask_description"),
        (ERASED_WORDS, "request.ask_location"),
        ("Male", "request.ask_household_size"),
        ("3", "request.ask_gender"),
        ("skipped", "request.ask_age_group"),
        ("18_59", "request.ask_nationality"),
        ("skipped", "request.ask_contact_method"),
        ("phone", "request.ask_phone"),
    ]
    for text, key in steps:
        replies = await say(stack, platform, chat, text, name)
        assert replies[-1] == RENDERER.text(key, "en"), (text, replies)
    summary = await say(stack, platform, chat, ERASED_PHONE, name)
    assert summary[-1].startswith("Please check your request:")
    saved = await say(stack, platform, chat, "/affirm", name)
    assert "request" in saved[-1].lower()


async def test_delete_my_data_erases_the_person_everywhere_within_a_minute(
    stack: Stack, telegram_platform: FakeTelegram
) -> None:
    await open_request_by_phone(stack, telegram_platform)
    cid = contact_id(stack.settings.secret_key, "telegram", str(ERASED_CHAT))
    box = stack.settings.box()
    database = stack.database()
    tracker = TrackerStore(stack.settings.tracker_store_url)
    needles = [str(ERASED_CHAT), ERASED_PHONE, "7319 2846", ERASED_WORDS, ERASED_NAME, cid]
    try:
        before = await where_found(database.engine, needles, box)
        assert {table for table, _, _ in before} >= {"contacts", "inbound_messages", "requests"}
        assert await tracker.count(cid) > 0

        confirm = await say(stack, telegram_platform, ERASED_CHAT, "please delete my data")
        assert confirm[-1] == RENDERER.text("erase.confirm", "en")
        asked = telegram_platform.sent[-1]["reply_markup"]
        assert "sahay:erase:yes" in str(asked)
        started = time.monotonic()
        done = await tg(
            stack,
            telegram_platform,
            ERASED_CHAT,
            telegram_callback(next(_updates), "sahay:erase:yes", chat_id=ERASED_CHAT),
        )
        assert done == [RENDERER.text("erase.done", "en")]
        while True:
            async with database.session() as session:
                if await session.get(Contact, cid) is None:
                    break
            assert time.monotonic() - started < 60, "not erased within a minute"
            await asyncio.sleep(0.5)
        assert await where_found(database.engine, needles, box) == []
        assert await where_found(tracker.engine, needles, box) == []
    finally:
        await tracker.dispose()
        await database.dispose()


async def _broadcast(stack: Stack) -> None:
    database = stack.database()
    try:
        async with database.session() as session:
            author = await create_user(
                session, "logs-author@sahay.test", "x" * 12, StaffRole.STAFF
            )
            checker = await create_user(
                session, "logs-check@sahay.test", "y" * 12, StaffRole.STAFF
            )
            broadcast = Broadcast(title="Cyclone", topic="weather", author_id=author.id)
            session.add(broadcast)
            await session.flush()
            variant = await broadcasts.write_variant(session, broadcast, "en", ALERT, author)
            await broadcasts.review(session, variant, checker)
            await broadcasts.approve(session, broadcast, checker)
            await broadcasts.start(session, broadcast)
    finally:
        await database.dispose()


async def test_no_log_line_of_any_process_holds_personal_data(
    stack: Stack, telegram_platform: FakeTelegram
) -> None:
    chat, name = SUBSCRIBER_CHAT, SUBSCRIBER_NAME
    await say(stack, telegram_platform, chat, "sahay:lang:en", name)
    await say(stack, telegram_platform, chat, "my boss keeps my salary 2 month", name)
    subscribed = await say(stack, telegram_platform, chat, "subscribe", name)
    assert subscribed[-1] == RENDERER.text("alerts.subscribed", "en")
    await _broadcast(stack)
    deadline = time.monotonic() + 60
    while ALERT not in telegram_platform.texts(chat):
        assert time.monotonic() < deadline, "the broadcast did not arrive"
        await asyncio.sleep(0.2)
    if not (telegram_platform.texts(ERASED_CHAT)):  # run alone: the request's words too
        await open_request_by_phone(stack, telegram_platform)
    logs = {path.name: path.read_text(errors="replace") for path in stack.log_dir.glob("*.log")}
    assert {"rasa.log", "actions.log", "web.log", "worker.log"} <= set(logs)
    assert all(logs.values())  # every process did write
    personal = [
        str(ERASED_CHAT), ERASED_PHONE, "7319 2846", "73192846", ERASED_NAME, "Zuleikha",
        ERASED_WORDS, "room 4471", str(SUBSCRIBER_CHAT), SUBSCRIBER_NAME, "Farhana",
        "keeps my salary",
    ]  # fmt: skip
    found = [(log, word) for log, text in logs.items() for word in personal if word in text]
    assert found == []
