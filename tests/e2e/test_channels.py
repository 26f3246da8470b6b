"""Exactly one reply, proven with the real Rasa: the same Telegram update and the same WhatsApp
message delivered 100 times — concurrently, across two `sahay web` processes, and again after
one of them restarts — make one Rasa turn (counted in Rasa's own tracker) and one reply."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.channels import telegram, whatsapp
from bot.pseudonym import contact_id
from bot.settings import PROJECT_ROOT, Settings
from bot.supervisor import Service, Supervisor
from storage.models import InboundRecord, OutboundRecord
from tests.conftest import unused_port
from tests.e2e.conftest import Stack
from tests.fakes import (
    PHONE_NUMBER_ID,
    WHATSAPP_TOKEN,
    FakeTelegram,
    FakeWhatsApp,
    fake_whatsapp,
    telegram_update,
    whatsapp_payload,
    whatsapp_text,
)

pytestmark = pytest.mark.e2e
APP_SECRET = "e2e-app-secret"


@dataclass
class Webs:
    urls: dict[str, str]
    supervisor: Supervisor
    env: dict[str, str]
    settings: Settings
    telegram: FakeTelegram
    whatsapp: FakeWhatsApp

    def start(self, name: str) -> None:
        env = {**self.env, "PORT": self.urls[name].rsplit(":", 1)[1]}
        python = str(PROJECT_ROOT / ".venv" / "bin" / "python")
        self.supervisor.start(Service(name, [python, "-m", "bot.cli", "web"], env))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.urls[name]}/livez", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        logs = (self.supervisor.log_dir / f"{name}.log").read_text()[-2000:]
        raise AssertionError(f"{name} did not start: {logs}")


@pytest.fixture(scope="module")
def webs(stack: Stack, telegram_platform: FakeTelegram) -> Iterator[Webs]:
    """Two `sahay web` processes beside the stack, on its database and Rasa, with Telegram
    (webhook mode) and WhatsApp pointed at local fake platforms. Telegram is the stack's own
    fake: a reply the stack's worker sends (after a race between the two processes left it
    to the worker) reaches the same chat, as it would on the real platform."""
    tg = telegram_platform
    with fake_whatsapp() as wa:
        env = {
            "DATABASE_URL": stack.settings.database_url,
            "RASA_URL": stack.settings.rasa_url,
            "RASA_TOKEN": stack.settings.rasa_token,
            "ACTION_SERVER_URL": stack.settings.action_server_url,
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "TELEGRAM_WEBHOOK_URL": "https://sahay.example.org/webhooks/telegram",
            "WHATSAPP_TOKEN": WHATSAPP_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "e2e-verify",
            "WHATSAPP_API_BASE_URL": wa.url,
        }
        settings = Settings(**{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
        urls = {n: f"http://127.0.0.1:{unused_port()}" for n in ("web-a", "web-b")}
        webs = Webs(urls, Supervisor(stack.log_dir / "channels"), env, settings, tg, wa)
        try:
            for name in urls:
                webs.start(name)
            yield webs
        finally:
            webs.supervisor.stop_all()


async def rasa_user_turns(stack: Stack, sender: str) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{stack.settings.rasa_url}/conversations/{sender}/tracker",
            params={"token": stack.settings.rasa_token},
        )
    response.raise_for_status()
    return sum(1 for e in response.json()["events"] if e["event"] == "user")


async def stored(stack: Stack, channel: str, key: str) -> tuple[int, int]:
    """(inbound rows with this platform id, replies stored for it)."""
    database = stack.database()
    try:
        async with database.session() as session:
            rows = (
                await session.scalars(
                    select(InboundRecord.id).where(
                        InboundRecord.channel == channel, InboundRecord.platform_message_id == key
                    )
                )
            ).all()
            replies = await session.scalar(
                select(func.count()).where(OutboundRecord.in_reply_to.in_(rows))
            )
    finally:
        await database.dispose()
    return len(rows), int(replies or 0)


async def settle(check: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "no reply in time"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)  # long enough for a duplicate to show up, were there one


async def test_one_telegram_update_100_times_across_processes_and_a_restart(
    stack: Stack, webs: Webs
) -> None:
    chat = 7_100_001
    update = telegram_update(9_000_001, chat_id=chat, text="hello")
    headers = {telegram.SECRET_HEADER: webs.settings.telegram_secret}
    urls = list(webs.urls.values())

    async def deliver(client: httpx.AsyncClient, i: int) -> int:
        url = f"{urls[i % 2]}/webhooks/telegram"
        return (await client.post(url, json=update, headers=headers, timeout=30)).status_code

    async with httpx.AsyncClient() as client:
        codes = await asyncio.gather(*(deliver(client, i) for i in range(100)))
    assert set(codes) == {200}
    await settle(lambda: webs.telegram.texts(chat))
    sender = contact_id(webs.settings.secret_key, "telegram", str(chat))
    assert await rasa_user_turns(stack, sender) == 1
    inbound, replies = await stored(stack, "telegram", "9000001")
    assert inbound == 1
    # Every stored reply reaches the chat (the last may follow the first by seconds on a
    # loaded machine), then nothing more: no reply twice.
    await settle(lambda: len(webs.telegram.texts(chat)) >= replies)
    sent = webs.telegram.texts(chat)
    assert len(sent) == replies
    assert sent[0].startswith("Hello, I am Sahay")

    # One process restarts; Telegram redelivers the same update, one post after another.
    webs.supervisor.stop("web-a")
    webs.start("web-a")
    async with httpx.AsyncClient() as client:
        for i in range(100):
            assert await deliver(client, i) == 200
    await asyncio.sleep(2.0)
    assert await rasa_user_turns(stack, sender) == 1
    assert webs.telegram.texts(chat) == sent


async def test_one_whatsapp_message_100_times_across_processes(stack: Stack, webs: Webs) -> None:
    number = "9607100002"
    body = json.dumps(
        whatsapp_payload([whatsapp_text("wamid.E2E1", "hello", sender=number)])
    ).encode()
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {whatsapp.SIGNATURE_HEADER: f"sha256={digest}", "content-type": "application/json"}
    urls = list(webs.urls.values())
    async with httpx.AsyncClient() as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{urls[i % 2]}/webhooks/whatsapp", content=body, headers=headers, timeout=30
                )
                for i in range(100)
            )
        )
    assert {r.status_code for r in responses} == {200}
    assert sum(r.json()["messages"] for r in responses) == 1
    await settle(lambda: [m for m in webs.whatsapp.sent if m["to"] == number])
    sender = contact_id(webs.settings.secret_key, "whatsapp", number)
    assert await rasa_user_turns(stack, sender) == 1
    inbound, replies = await stored(stack, "whatsapp", "wamid.E2E1")
    assert inbound == 1
    assert len([m for m in webs.whatsapp.sent if m["to"] == number]) == replies
