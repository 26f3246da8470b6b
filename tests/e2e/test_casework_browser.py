"""A caseworker's day in a real browser (Debian's Chromium via Playwright) against the real
stack: a person asks for help in Bengali through the bot (real Rasa and action server), the
caseworker signs in, finds the request in the queue, claims it, replies in English from a
machine draft in Bengali, moves it on; the person's open web chat shows the reply and the
status news, and the person's answer appears in the caseworker's timeline, translated.

With SAHAY_SCREENSHOTS=<dir> (`make screenshots`) the queue and the request page are saved
there for the README."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from bot.i18n import Renderer, load_catalogues
from bot.pseudonym import contact_id
from storage import repository as repo
from storage import requests
from storage.crypto import AddressBox
from storage.models import StaffRole, Urgency, utcnow
from storage.staff import create_user
from tests.e2e.conftest import CHROMIUM_ARGS, Stack
from tests.e2e.test_conversation import say, sender
from tests.fakes import FakeGoogleTranslate

pytestmark = pytest.mark.e2e
RENDERER = Renderer(load_catalogues())
PASSWORD = "a long caseworker passphrase"
# Other people's requests, so that the queue looks like a working day.
BACKGROUND = [
    ("ne", "shelter", "Hulhumale", Urgency.URGENT, timedelta(hours=3)),
    ("ta", "legal_aid", "Male", Urgency.NORMAL, timedelta(days=5)),
    ("si", "health_services", "Addu", Urgency.NORMAL, timedelta(hours=20)),
    ("hi", "documents", "Male", Urgency.NORMAL, timedelta(days=1, hours=2)),
    ("dv", "cash_assistance", "Kulhudhuffushi", Urgency.NORMAL, timedelta(minutes=40)),
]


async def seed(stack: Stack, email: str) -> None:
    database = stack.database()
    box = AddressBox.from_settings(stack.settings.encryption_keys, stack.settings.secret_key)
    async with database.session() as session:
        await create_user(session, email, PASSWORD, StaffRole.CASEWORKER)
        for n, (language, category, place, urgency, age) in enumerate(BACKGROUND):
            cid = contact_id(stack.settings.secret_key, "webchat", f"{email}-{n}")
            await repo.touch_contact(session, cid, "webchat", None)
            made, _ = await requests.open_request(
                session,
                stack.settings.deployment,
                requests.NewRequest(
                    idempotency_key=f"{email}-{n}",
                    contact_id=cid,
                    channel="webchat",
                    language=language,
                    category=category,
                    description=box.seal("seeded for the screenshot"),
                    location=place,
                    urgency=urgency,
                ),
            )
            made.created_at = utcnow() - age
    await database.dispose()


async def ask_for_help_in_bengali(stack: Stack, person: str) -> str:
    """The request form through the real Rasa server; returns the reference code."""
    await say(stack, person, "sahay:lang:bn")
    asked = await say(stack, person, "khabar er jonno amar nam register koren plz")
    assert asked["messages"][-1]["text"] == RENDERER.text("request.ask_category", "bn")
    for text in (
        "food_relief",
        "2 mash beton pai nai, ghore khabar nai",
        "Male",
        "3",
        "skipped",
        "skipped",
        "BD",
        "chat",
    ):
        await say(stack, person, text)
    saved = (await say(stack, person, "/affirm"))["messages"][-1]["text"]
    code = re.search(r"[A-Z]{2}-[2-9A-Z]{4}", saved)
    assert code, saved
    return code.group()


async def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("SAHAY_SCREENSHOTS")
    if folder:  # Playwright makes the folder
        await page.screenshot(path=str(Path(folder) / name), full_page=True)


async def test_a_caseworker_claims_replies_and_the_person_reads_it_in_web_chat(
    stack: Stack, chromium: str, translate: FakeGoogleTranslate
) -> None:
    email = f"amina.{sender()[-4:]}@helpline.example"
    await seed(stack, email)
    person = sender()
    reference = await ask_for_help_in_bengali(stack, person)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        # The person's phone: the web chat stays open, as it would.
        phone = await browser.new_page(viewport={"width": 360, "height": 740}, locale="bn-BD")
        await phone.add_init_script(f"localStorage.setItem('sahay.sender', '{person}')")
        await phone.goto(f"{stack.web_url}/chat?lang=bn")

        desk = await browser.new_page(viewport={"width": 1280, "height": 860})
        await desk.goto(f"{stack.web_url}/requests")
        await expect(desk).to_have_url(re.compile(r"/login$"))  # signed out: sign in first
        await desk.fill("#email", email)
        await desk.fill("#password", PASSWORD)
        await desk.get_by_role("button", name="Sign in").click()
        await expect(desk).to_have_url(re.compile(r"/requests$"))
        row = desk.locator(f'tr[data-reference="{reference}"]')
        await expect(row).to_contain_text("Food and hygiene")
        await expect(row).to_contain_text("bn")
        # Urgent first: the urgent shelter request tops the queue, highlighted as late.
        await expect(desk.locator("tbody tr").first).to_contain_text("Urgent")
        await expect(desk.locator("tbody tr.overdue").first).to_contain_text("past target")
        # Filtering (htmx swaps the rows in place).
        await desk.get_by_label("Language").select_option("bn")
        await expect(desk.locator("tbody tr")).to_have_count(1)
        await expect(desk).to_have_url(re.compile(r"language=bn"))
        await desk.get_by_label("Language").select_option("")
        await expect(desk.locator("tbody tr")).to_have_count(len(BACKGROUND) + 1)
        await shoot(desk, "queue.png")

        await row.get_by_role("link", name=reference).click()
        await expect(desk.locator("h1")).to_contain_text(reference)
        await expect(desk.locator(".facts")).to_contain_text("2 mash beton pai nai")
        await desk.get_by_role("button", name="Claim: I will handle it").click()
        await expect(desk.locator("#status")).to_have_text("assigned")
        await expect(desk.locator("#assignee")).to_have_text(email)

        mine = "We have a food pack for you. Come to the Male office on Sunday at 10."
        await desk.fill("#original", mine)
        await desk.get_by_role("button", name="Prepare the reply").click()
        draft = desk.locator("#reply-text")
        await expect(draft).to_have_value(translate.translated(mine, "bn"))
        await expect(desk.locator(".machine-draft")).to_contain_text("needs review")
        final = translate.translated(mine, "bn") + " (রবিবার ১০টা)"
        await draft.fill(final)
        await shoot(desk, "reply-draft.png")
        await desk.get_by_role("button", name="Send to the person").click()
        await expect(desk.locator(".event.reply blockquote")).to_contain_text(final)

        # The usual next step is already chosen.
        await expect(desk.get_by_label("Move to")).to_have_value("in_progress")
        await desk.get_by_role("button", name="Change status").click()
        await expect(desk.locator("#status")).to_have_text("in progress")

        # The person's open chat receives the reply and the news (it polls for them).
        heading = RENDERER.text("casework.reply", "bn", {"reference": reference})
        bot = phone.locator(".msg.bot")
        await expect(bot.filter(has_text=heading)).to_contain_text(final, timeout=30_000)
        assigned = RENDERER.text(
            "status.found",
            "bn",
            {
                "reference": reference,
                "category": {"key": "category.food_relief"},
                "status": {"key": "status.assigned"},
            },
        )
        await expect(bot.filter(has_text=assigned)).to_have_count(1)

        # ...and answers; the caseworker sees it in the timeline, with a translation.
        before = await bot.count()
        await phone.fill("#text", "thik ache, robibar asbo")
        await phone.keyboard.press("Enter")
        # The bot has answered it (so the gateway has stored and attached it).
        await expect(phone.locator(".msg.bot").nth(before)).to_be_visible(timeout=30_000)
        await desk.reload()
        answer = desk.locator(".event.person_message")
        await expect(answer).to_contain_text("thik ache, robibar asbo")
        await expect(answer).to_contain_text(translate.translated("thik ache, robibar asbo", "en"))
        await shoot(desk, "request.png")
        await browser.close()
