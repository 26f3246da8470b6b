"""Broadcasts in the staff app (real app, SQLite, googletrans against the local fake): written
in two languages, one of them a machine draft; checked by someone else; approved by someone
else (the author cannot); the preview counts who gets what; sent; progress reported."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from bot.pseudonym import contact_id
from storage import repository as repo
from storage import subscriptions
from storage.broadcast_models import BroadcastDelivery, BroadcastVariant, MediaFile
from storage.models import AuditEvent, OutboundRecord, utcnow
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


async def test_send_to_me_first_goes_only_to_the_staff_members_own_chat(
    staff_app: StaffApp,
) -> None:
    await subscribers(staff_app, {"bn": 2})
    author = await staff_app.browser("staff")
    created = await post(author, "/broadcasts", "/broadcasts", title="Heat", topic="weather")
    page = created.headers["location"]
    bengali = "আজ দুপুরে রোদে কাজ করবেন না, পানি খান।"
    await post(author, page, f"{page}/variants", language="bn", text=bengali)
    secret = staff_app.settings.secret_key
    own = contact_id(secret, "telegram", "5550001")
    phone = contact_id(secret, "whatsapp", "9607001234")
    database = staff_app.database()
    async with database.session() as session:
        await repo.touch_contact(session, own, "telegram", "sealed")
        await repo.touch_contact(session, phone, "whatsapp", "sealed")
        await repo.update_contact(session, phone, last_inbound_at=utcnow() - timedelta(days=2))
    await database.dispose()

    def test(**form: str) -> Any:
        return post(author, page, f"{page}/test", **form)

    sent = await test(language="bn", channel="telegram", address=" 5550001 ")
    assert sent.status_code == 200
    assert "Test sent to your Telegram in" in sent.text
    # Nobody else: a number nobody wrote from, a language with no text, a WhatsApp number
    # outside its 24-hour window with no template.
    for form, problem in (
        ({"address": "5550002"}, "no chat with that account"),
        ({"language": "ta"}, "no text in that language"),
        ({"channel": "whatsapp", "address": "+960 700-1234"}, "24 hours"),
        ({"address": "my phone"}, "Give a Telegram chat id"),
    ):
        base = {"language": "bn", "channel": "telegram", "address": "5550001"}
        refused = await test(**(base | form))
        assert refused.status_code == 422, form
        assert problem in refused.text, form
    database = staff_app.database()
    async with database.session() as session:
        queued = (await session.scalars(select(OutboundRecord))).all()
        audited = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "test"))
        ).all()
        ledger_rows = (await session.scalars(select(BroadcastDelivery))).all()
    await database.dispose()
    assert [(r.contact_id, r.message_key) for r in queued] == [(own, "broadcast.test")]
    heading, body = queued[0].text.split("\n", 1)
    assert body == bengali
    assert heading.startswith("পরীক্ষা")
    assert len(audited) == 1
    assert ledger_rows == []


OGG = b"OggS\x00\x02" + bytes(200)  # the start of an Ogg recording
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


async def test_an_uploaded_recording_is_kept_checked_and_served_to_the_platforms(
    staff_app: StaffApp,
) -> None:
    author = await staff_app.browser("staff")
    created = await post(author, "/broadcasts", "/broadcasts", title="Listen", topic="health")
    page = created.headers["location"]

    async def upload(kind: str, name: str, data: bytes) -> httpx.Response:
        token = csrf_of((await author.get(page)).text)
        form = {"csrf_token": token, "language": "si", "text": "අහන්න", "media_kind": kind}
        return await author.post(
            f"{page}/variants", data=form, files={"media_file": (name, data, "audio/ogg")}
        )

    # Judged by its bytes, whatever the browser calls it: each refused, nothing kept.
    for kind, name, data, problem in (
        ("audio", "photo.ogg", PNG, "not a audio the platforms take"),
        ("audio", "notes.ogg", b"just some text", "not a audio"),
        ("image", "big.png", PNG + bytes(5 * 1024 * 1024), "larger than 5 MB"),
        ("", "voice.ogg", OGG, "recording (audio) or an image"),
    ):
        refused = await upload(kind, name, data)
        assert refused.status_code == 422, name
        assert problem in refused.text, name
    assert (await upload("audio", "voice.ogg", OGG)).status_code == 303
    database = staff_app.database()
    async with database.session() as session:
        kept = (await session.scalars(select(MediaFile))).all()
        [variant] = (await session.scalars(select(BroadcastVariant))).all()
    await database.dispose()
    assert [(m.kind, m.mime, m.size) for m in kept] == [("audio", "audio/ogg", len(OGG))]
    assert variant.media_kind == "audio"
    assert variant.media_url.endswith(f"/media/{kept[0].token}.ogg")
    # The platforms fetch it without signing in; a wrong name finds nothing.
    fetch = await staff_app.browser(None)
    served = await fetch.get(httpx.URL(variant.media_url).path)
    assert served.status_code == 200
    assert served.content == OGG
    assert served.headers["content-type"] == "audio/ogg"
    assert (await fetch.get(f"/media/{kept[0].token}.mp3")).status_code == 404
    assert (await fetch.get("/media/nothing-here.ogg")).status_code == 404
    assert "<audio" in (await author.get(page)).text
