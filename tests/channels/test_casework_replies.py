"""A caseworker's reply goes out through the person's own channel: Telegram by
python-telegram-bot to the fake Bot API; WhatsApp through the Cloud API, where a person who
has not written for a day cannot get free text: the page says so and the timeline shows why."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.i18n import Renderer, load_catalogues
from storage import requests
from storage.models import Contact, StaffRole, utcnow
from storage.staff import create_user
from tests.channels.conftest import Channels
from tests.channels.test_telegram import post as post_telegram
from tests.channels.test_whatsapp import start_in_english
from tests.fakes import eventually, telegram_update
from tests.web.conftest import PASSWORD, csrf_of, sign_in

RENDERER = Renderer(load_catalogues())
CHAT = 7_000_001


async def request_of_the_only_contact(channels: Channels, language: str) -> tuple[int, str]:
    async with channels.database.session() as session:
        await create_user(session, "cw@sahay.test", PASSWORD, StaffRole.CASEWORKER)
        contact = (await session.scalars(select(Contact))).one()
        made, _ = await requests.open_request(
            session,
            "maldives",
            requests.NewRequest(
                idempotency_key=f"form:{contact.id}",
                contact_id=contact.id,
                channel=contact.channel,
                language=language,
                category="legal_aid",
            ),
        )
    return made.id, made.reference


async def reply(channels: Channels, request_id: int, text: str) -> str:
    browser = await sign_in(channels.client, "cw@sahay.test")
    page = f"/requests/{request_id}"
    token = csrf_of((await browser.get(page)).text)
    sent = await browser.post(f"{page}/reply", data={"csrf_token": token, "text": text})
    assert sent.status_code == 303
    timeline = (await browser.get(page)).text
    await browser.aclose()
    return timeline


async def test_a_reply_to_a_telegram_user_reaches_their_chat(channels: Channels) -> None:
    await post_telegram(channels, telegram_update(1, chat_id=CHAT, text="sahay:lang:en"))
    request_id, reference = await request_of_the_only_contact(channels, "en")
    await reply(channels, request_id, "Your employer agreed to pay on Thursday.")
    heading = RENDERER.text("casework.reply", "en", {"reference": reference})
    expected = f"{heading}\nYour employer agreed to pay on Thursday."
    await eventually(lambda: expected in channels.telegram.texts(CHAT))


async def test_a_whatsapp_reply_after_the_24_hours_is_flagged_and_its_failure_shown(
    channels: Channels,
) -> None:
    await start_in_english(channels, "wamid.CW1")
    request_id, _reference = await request_of_the_only_contact(channels, "en")
    async with channels.database.session() as session:
        await session.execute(update(Contact).values(last_inbound_at=utcnow() - timedelta(days=2)))
    browser = await sign_in(channels.client, "cw@sahay.test")
    page = (await browser.get(f"/requests/{request_id}")).text
    assert 'id="window-closed"' in page
    await reply(channels, request_id, "Please call the helpline.")
    engine = channels.client._transport.app.state.gateway.engine  # type: ignore[attr-defined]
    await engine.run_once()
    timeline = (await browser.get(f"/requests/{request_id}")).text
    assert "failed: outside WhatsApp&#39;s 24-hour window" in timeline
    assert len(channels.whatsapp.sent) == 1  # only the language confirmation went out
