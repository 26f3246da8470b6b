"""A broadcast from the staff app to people's phones, in a real browser (Debian's Chromium via
Playwright) against the real stack: written in English and, from a machine draft, in Nepali;
checked and approved by a second person; sent by the real `sahay worker` through
python-telegram-bot to the fake Bot API; progress watched until 100%. Each subscriber gets it
once, in their language; the one who wrote STOP gets nothing."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from playwright.async_api import Page, async_playwright, expect

from bot.pseudonym import contact_id
from storage import repository as repo
from storage import subscriptions
from storage.crypto import AddressBox
from storage.models import StaffRole
from storage.staff import create_user
from tests.e2e.conftest import CHROMIUM_ARGS, Stack
from tests.e2e.test_conversation import sender
from tests.fakes import FakeGoogleTranslate, FakeTelegram, eventually

pytestmark = pytest.mark.e2e
PASSWORD = "a long broadcast passphrase"
ENGLISH = "Cyclone warning for Addu tonight. Stay indoors and keep your phone charged."
PEOPLE = {"en": 6, "ne": 4}


async def seed(stack: Stack, tag: str) -> tuple[dict[int, str], int, int]:
    """Two staff accounts and subscribers on Telegram: (chat id → language, the chat of one
    who wrote STOP, the checker's own chat, which wrote to the bot once and subscribed to
    nothing)."""
    database = stack.database()
    box = AddressBox.from_settings(stack.settings.encryption_keys, stack.settings.secret_key)
    chats: dict[int, str] = {}
    async with database.session() as session:
        await create_user(session, f"writer.{tag}@sahay.test", PASSWORD, StaffRole.STAFF)
        await create_user(session, f"checker.{tag}@sahay.test", PASSWORD, StaffRole.ADMIN)
        base = 9_100_000 + int(tag, 16) % 10_000 * 100
        for language, n in PEOPLE.items():
            for _ in range(n):
                chat = base + len(chats)
                chats[chat] = language
                cid = f"tg-{tag}-{chat}"
                await repo.touch_contact(session, cid, "telegram", box.seal(str(chat)))
                await repo.set_language(session, cid, language)
                await subscriptions.subscribe(session, cid)
        stopped = f"tg-{tag}-stopped"
        await repo.touch_contact(session, stopped, "telegram", box.seal(str(base + 99)))
        await subscriptions.subscribe(session, stopped)
        await subscriptions.unsubscribe(session, stopped)
        own = base + 98
        own_id = contact_id(stack.settings.secret_key, "telegram", str(own))
        await repo.touch_contact(session, own_id, "telegram", box.seal(str(own)))
    await database.dispose()
    return chats, base + 99, own


async def sign_in(page: Page, stack: Stack, email: str) -> None:
    await page.goto(f"{stack.web_url}/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def test_a_broadcast_is_written_checked_approved_and_sent_once_to_each(
    stack: Stack,
    chromium: str,
    translate: FakeGoogleTranslate,
    telegram_platform: FakeTelegram,
) -> None:
    tag = sender()[-6:]
    chats, stopped, own = await seed(stack, tag)
    title = f"Cyclone warning {tag}"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        writer = await browser.new_page(viewport={"width": 1280, "height": 900})
        await sign_in(writer, stack, f"writer.{tag}@sahay.test")
        await writer.goto(f"{stack.web_url}/broadcasts")
        await writer.get_by_label("Title").fill(title)
        await writer.get_by_label("Topic").select_option("weather")
        await writer.get_by_role("button", name="New broadcast").click()
        await expect(writer.locator("h1")).to_contain_text(title)
        english = writer.locator("#variant-en")
        await english.locator("textarea").fill(ENGLISH)
        await english.get_by_role("button", name="Save").click()
        nepali = writer.locator("#variant-ne")
        await nepali.get_by_role("button", name="Machine draft").click()
        await expect(writer.locator("#variant-ne textarea")).to_have_value(
            translate.translated(ENGLISH, "ne")
        )
        await expect(writer.locator("#variant-ne")).to_contain_text("machine draft — needs review")
        broadcast_url = writer.url

        checker = await browser.new_page(viewport={"width": 1280, "height": 900})
        await sign_in(checker, stack, f"checker.{tag}@sahay.test")
        await checker.goto(broadcast_url)
        for language in ("en", "ne"):
            await (
                checker.locator(f"#variant-{language}")
                .get_by_role("button", name="I checked it: reviewed")
                .click()
            )
            await expect(checker.locator(f"#variant-{language}")).to_contain_text("reviewed by")
        await expect(checker.locator("#preview")).to_contain_text(f"{sum(PEOPLE.values())} people")
        # Send to me first: the Nepali text on the checker's own Telegram, under a TEST line.
        test = checker.locator("#test-form")
        await test.get_by_label("Language").select_option("ne")
        await test.get_by_label("Channel").select_option("telegram")
        await test.get_by_label("Your Telegram chat id or WhatsApp number").fill(str(own))
        await test.get_by_role("button", name="Send test").click()
        await expect(checker.get_by_role("status")).to_contain_text("Test sent to your Telegram")
        await eventually(lambda: len(telegram_platform.texts(own)) == 1)
        heading, body = telegram_platform.texts(own)[0].split("\n", 1)
        assert body == translate.translated(ENGLISH, "ne")
        assert heading.startswith("परीक्षण")  # the TEST line, in Nepali
        await checker.get_by_role("button", name="Approve").click()
        await expect(checker.locator("#broadcast-status")).to_have_text("approved")
        await checker.get_by_role("button", name="Send now").click()
        await expect(checker.locator("#progress-percent")).to_have_text("100%", timeout=60_000)
        folder = os.environ.get("SAHAY_SCREENSHOTS")
        if folder:
            await checker.screenshot(path=f"{folder}/broadcast-progress.png", full_page=True)
        await browser.close()

    received = Counter(
        int(m["chat_id"]) for m in telegram_platform.sent if int(m["chat_id"]) in chats
    )
    assert received == Counter(dict.fromkeys(chats, 1))
    for chat, language in chats.items():
        text = telegram_platform.texts(chat)[-1]
        expected = ENGLISH if language == "en" else translate.translated(ENGLISH, "ne")
        assert text == expected, (chat, language)
    assert telegram_platform.texts(stopped) == []
    assert len(telegram_platform.texts(own)) == 1  # the test only: not a subscriber
