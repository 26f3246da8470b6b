"""A programme manager's dashboard in a real browser (Debian's Chromium via Playwright) on the
running `sahay web`: twelve weeks of requests, messages and a broadcast, seeded in a quarter
no other test writes to, so the headline numbers are known; the location filter, the table
view and the report download work, and the page loads nothing from elsewhere.

The screenshot goes to docs/screenshots/dashboard.png with SAHAY_SCREENSHOTS set
(`make screenshots`), and to the test's own folder otherwise."""

from __future__ import annotations

import os
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from storage import repository as repo
from storage.broadcast_models import Broadcast, BroadcastDelivery, LedgerState
from storage.models import (
    Contact,
    HelpRequest,
    InboundRecord,
    RequestEvent,
    RequestStatus,
    StaffRole,
    Urgency,
)
from storage.staff import create_user
from tests.e2e.conftest import CHROMIUM_ARGS, Stack

pytestmark = pytest.mark.e2e
PASSWORD = "a long programme manager passphrase"
START = datetime(2025, 9, 1, tzinfo=UTC)  # a Monday; twelve weeks to 23 November 2025
WEEKS = 12
PLACES = ("Male", "Addu", "Hulhumale", "Kulhudhuffushi")
CATEGORIES = ("food_relief", "health_services", "legal_aid", "documents", "shelter", "employment")
LANGUAGES = ("bn", "hi", "ne", "ta", "si", "en")
GENDERS = ("woman", "man", None)
AGES = ("18_59", "18_59", "60_plus", "under_18", None)
SAID = ("salary nai 3 mash", "visa problem hai", "passport lost", "khabar chai", "doctor?")


async def seed(stack: Stack, email: str) -> int:
    """Twelve weeks of a helpline's work; returns how many requests were opened in Male."""
    rng = random.Random(8)  # noqa: S311 (the same made-up quarter every run)
    database = stack.database()
    in_male = 0
    async with database.session() as session:
        worker = await create_user(session, email, PASSWORD, StaffRole.STAFF)
        for n in range(240):
            at = START + timedelta(hours=rng.randrange(WEEKS * 7 * 24))
            place = rng.choice(PLACES)
            in_male += place == "Male"
            cid = f"dash-{email}-{n}"
            session.add(Contact(id=cid, channel="telegram", created_at=at, location=place))
            request = HelpRequest(
                reference=f"MV-D{n:03d}", idempotency_key=f"{email}-{n}", contact_id=cid,
                channel="telegram", language=rng.choice(LANGUAGES),
                category=rng.choice(CATEGORIES), location=place, gender=rng.choice(GENDERS),
                age_group=rng.choice(AGES),
                urgency=Urgency.URGENT if rng.random() < 0.15 else Urgency.NORMAL,
                status=RequestStatus.RESOLVED, created_at=at, updated_at=at,
            )  # fmt: skip
            session.add(request)
            await session.flush()
            session.add_all(
                [
                    RequestEvent(request_id=request.id, kind="assigned", actor_id=worker.id,
                                 at=at + timedelta(hours=rng.uniform(0.5, 30)), data={}),
                    RequestEvent(request_id=request.id, kind="status", actor_id=worker.id,
                                 at=at + timedelta(hours=rng.uniform(30, 200)),
                                 data={"from": "in_progress", "to": "resolved"}),
                ]
            )  # fmt: skip
            for m in range(rng.randrange(1, 4)):
                message_id, _ = await repo.store_inbound(
                    session, channel="telegram", platform_message_id=f"dash-{email}-{n}-{m}",
                    contact_id=cid, text=rng.choice(SAID),
                )  # fmt: skip
                message = await session.get(InboundRecord, message_id)
                assert message is not None
                message.received_at = at + timedelta(minutes=m)
                key = "fallback" if rng.random() < 0.25 else "menu"
                await repo.add_outbound(
                    session, contact_id=cid, channel="telegram", in_reply_to=message_id,
                    message_key=key, language=request.language, text="...", buttons=[],
                )  # fmt: skip
        alert = Broadcast(title="Heat: drink water, rest in shade", topic="health",
                          started_at=START + timedelta(weeks=5))  # fmt: skip
        session.add(alert)
        await session.flush()
        for n in range(0, 240, 2):
            state = LedgerState.FAILED if n % 14 == 0 else LedgerState.SENT
            session.add(
                BroadcastDelivery(
                    broadcast_id=alert.id, contact_id=f"dash-{email}-{n}", channel="telegram",
                    language="en", state=state, sent_at=alert.started_at,
                )
            )  # fmt: skip
    await database.dispose()
    return in_male


async def test_a_programme_manager_reads_the_dashboard(
    stack: Stack, chromium: str, tmp_path: Path
) -> None:
    email = f"manager.{os.getpid()}@helpline.example"
    in_male = await seed(stack, email)
    period = "start=2025-09-01&end=2025-11-23"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if m.type == "error" else None)
        elsewhere: list[str] = []
        page.on(
            "request",
            lambda r: None if r.url.startswith(stack.web_url) else elsewhere.append(r.url),
        )
        await page.goto(f"{stack.web_url}/login")
        await page.fill("#email", email)
        await page.fill("#password", PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="Dashboard").click()
        await expect(page.locator("h1")).to_have_text("Dashboard")
        await page.goto(f"{stack.web_url}/dashboard?{period}")
        opened = page.locator(".headline div").filter(has_text="Requests opened")
        await expect(opened.locator(".number")).to_have_text("240")
        for chart in ("weekly", "over-time", "by-value", "fallback", "reach", "topics"):
            await expect(page.locator(f"#{chart} svg")).to_be_visible()
        await expect(page.locator("#weekly svg title").first).to_have_text(
            "Requests opened and resolved, week by week"
        )
        # The table view: hidden until asked for, then every week is a row.
        weekly = page.locator("#weekly")
        await expect(weekly.locator("table")).to_be_hidden()
        await weekly.get_by_text("Show the figures as a table").click()
        await expect(weekly.locator("tbody tr")).to_have_count(WEEKS)
        await expect(page.locator("#topics")).to_contain_text("salary")
        folder = os.environ.get("SAHAY_SCREENSHOTS")
        await page.screenshot(
            path=str(Path(folder) / "dashboard.png" if folder else tmp_path / "dashboard.png"),
            full_page=True,
        )
        # The location filter narrows every figure.
        await page.locator('select[name="location"]').select_option("Male")
        await page.get_by_role("button", name="Show").click()
        await expect(page).to_have_url(re.compile(r"location=Male"))
        await expect(opened.locator(".number")).to_have_text(str(in_male))
        # The monthly report downloads as a workbook.
        await page.locator('input[name="month"]').fill("2025-10")
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download workbook (XLSX)").click()
        download = await download_info.value
        assert download.suggested_filename == "sahay-report-2025-10-Male.xlsx"
        assert (await download.path()).stat().st_size > 5000
        await browser.close()
    assert elsewhere == []  # no CDN, no font, nothing fetched from anywhere else
    assert not [m for m in blocked if "Content Security Policy" in m], blocked
