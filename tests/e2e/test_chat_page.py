"""The web chat page in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from bot.i18n import Renderer, load_catalogues
from tests.e2e.conftest import CHROMIUM_ARGS, Stack

pytestmark = pytest.mark.e2e


async def test_a_person_chats_in_the_browser(stack: Stack, chromium: str, tmp_path: Path) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 360, "height": 740})
        await page.goto(f"{stack.web_url}/chat")
        await expect(page.locator("#send")).to_have_text("Send")  # the browser asks for English
        await page.fill("#text", "hello")
        await page.keyboard.press("Enter")
        bot = page.locator(".msg.bot")
        await expect(bot.first).to_contain_text("Hello, I am Sahay", timeout=30_000)
        await page.get_by_role("button", name="Menu").click()
        await expect(bot.nth(2)).to_contain_text("I can help you with", timeout=30_000)
        await expect(page.locator(".msg.user").nth(1)).to_have_text("Menu")
        # Dhivehi is written right to left: chosen from the picker, replies display RTL.
        await page.get_by_role("button", name="ދިވެހި").click()
        await expect(bot.nth(3)).to_have_attribute("dir", "rtl", timeout=30_000)
        await expect(bot.nth(3)).to_have_attribute("lang", "dv")
        # ...and the page's own words follow the person's language.
        dhivehi = Renderer(load_catalogues())
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(page.locator("#text")).to_have_attribute(
            "placeholder", dhivehi.text("web.placeholder", "dv")
        )
        await expect(page.locator("#send")).to_have_text(dhivehi.text("web.send", "dv"))
        await page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        await browser.close()
