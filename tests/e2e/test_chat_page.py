"""The web chat page in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    return CHROMIUM


async def test_a_person_chats_in_the_browser(stack: Stack, chromium: str, tmp_path: Path) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 360, "height": 740})
        await page.goto(f"{stack.web_url}/chat")
        await page.fill("#text", "hello")
        await page.keyboard.press("Enter")
        bot = page.locator(".msg.bot")
        await expect(bot.first).to_contain_text("Hello, I am Sahay", timeout=30_000)
        await page.get_by_role("button", name="Menu").click()
        await expect(bot.nth(1)).to_contain_text("I can help you with", timeout=30_000)
        await expect(page.locator(".msg.user").nth(1)).to_have_text("Menu")
        await page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        await browser.close()
