"""Broadcasts in the staff app (real app, SQLite, googletrans against the local fake): written
in two languages, one of them a machine draft; checked by someone else; approved by someone
else (the author cannot); the preview counts who gets what; sent; progress reported."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from storage import repository as repo
from storage import subscriptions
from storage.broadcast_models import BroadcastDelivery
from tests.web.conftest import StaffApp, csrf_of


async def post(
    browser: httpx.AsyncClient, page: str, action: str, **data: object
) -> httpx.Response:
    token = csrf_of((await browser.get(page)).text)
    return await browser.post(action, data={"csrf_token": token, **data})


async def subscribers(app: StaffApp, languages: dict[str, int]) -> None:
    database = app.database()
    async with database.session() as session:
        for language, n in languages.items():
            for i in range(n):
                cid = f"sub-{language}-{i}"
                await repo.touch_contact(session, cid, "telegram", "sealed")
                await repo.set_language(session, cid, language)
                await subscriptions.subscribe(session, cid)
    await database.dispose()


async def test_compose_review_approve_and_send_with_four_eyes(staff_app: StaffApp) -> None:
    await subscribers(staff_app, {"en": 3, "ne": 2, "ta": 1})
    author = await staff_app.browser("staff")
    checker = await staff_app.browser("admin")
    created = await post(
        author, "/broadcasts", "/broadcasts", title="Measles drive, Male", topic="vaccination"
    )
    assert created.status_code == 303
    page = created.headers["location"]
    english = "Free measles shots on Friday at the Male clinic, 9 to 4."
    await post(author, page, f"{page}/variants", language="en", text=english)
    drafted = await post(author, page, f"{page}/draft", language="ne")
    assert drafted.status_code == 303
    shown = (await author.get(page)).text
    assert staff_app.translate.translated(english, "ne") in shown
    assert "machine draft — needs review" in shown
    # The author cannot check their own texts, nor approve.
    own = await post(author, page, f"{page}/review", language="en")
    assert own.status_code == 409
    assert "other than its author" in own.text
    for language in ("en", "ne"):
        assert (await post(checker, page, f"{page}/review", language=language)).status_code == 303
    assert "machine draft — needs review" not in (await author.get(page)).text
    refused = await post(author, page, f"{page}/approve")
    assert refused.status_code == 409
    # Tamil speakers get English; the preview says so before anything is sent.
    await post(author, page, f"{page}/audience", fallback_language="en")
    preview = (await checker.get(page)).text
    assert re.search(r"Preview: 6 people", preview)
    assert "2 get the fallback language" in preview or "1 get the fallback language" in preview
    assert (await post(checker, page, f"{page}/approve")).status_code == 303
    sent = await post(checker, page, f"{page}/send")
    assert sent.status_code == 303
    database = staff_app.database()
    async with database.session() as session:
        rows = (await session.scalars(select(BroadcastDelivery))).all()
    await database.dispose()
    assert sorted(r.language for r in rows) == ["en", "en", "en", "en", "ne", "ne"]
    progress = await checker.get(f"{page}/progress")
    assert progress.status_code == 200  # sending: htmx keeps polling
    assert 'id="progress-percent">0%' in progress.text
    cancelled = await post(checker, page, f"{page}/cancel")
    assert cancelled.status_code == 303
    done = await checker.get(f"{page}/progress")
    assert done.status_code == 286  # nothing will change: htmx stops polling
    assert 'id="progress-percent">100%' in done.text


async def test_caseworkers_do_not_send_broadcasts(staff_app: StaffApp) -> None:
    caseworker = await staff_app.browser("caseworker")
    assert (await caseworker.get("/broadcasts")).status_code == 403
