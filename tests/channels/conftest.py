"""A `sahay web` app (in process) with Telegram and WhatsApp configured against the local fake
platforms, over a migrated database with the Maldives sample directory. Rasa sits on a closed
port: these tests cover the channels; tests/e2e covers them with the real Rasa."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.settings import PROJECT_ROOT, Settings
from storage import directory
from storage.db import Database
from tests.fakes import (
    PHONE_NUMBER_ID,
    WHATSAPP_TOKEN,
    FakeTelegram,
    FakeWhatsApp,
    fake_telegram,
    fake_whatsapp,
)
from tests.web.conftest import app_client, offline_settings

APP_SECRET = "whatsapp-app-secret-for-tests"
VERIFY_TOKEN = "verify-me-123"


@dataclass
class Channels:
    client: httpx.AsyncClient
    settings: Settings
    database: Database
    telegram: FakeTelegram
    whatsapp: FakeWhatsApp

    async def settled(self) -> None:
        """Wait until every person whose webhook came in has been answered."""
        await self.client._transport.app.state.gateway.drain()  # type: ignore[attr-defined]


@pytest.fixture
def telegram_fake() -> Iterator[FakeTelegram]:
    with fake_telegram() as fake:
        yield fake


@pytest.fixture
def whatsapp_fake() -> Iterator[FakeWhatsApp]:
    with fake_whatsapp() as fake:
        yield fake


def channel_settings(url: str, telegram: FakeTelegram, whatsapp: FakeWhatsApp) -> Settings:
    return offline_settings(
        url,
        telegram_bot_token=telegram.token,
        telegram_api_base_url=telegram.base_url,
        telegram_webhook_url="https://sahay.example.org/webhooks/telegram",
        whatsapp_token=WHATSAPP_TOKEN,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
        whatsapp_api_base_url=whatsapp.url,
    )


@pytest.fixture
async def channels(
    database: Database, telegram_fake: FakeTelegram, whatsapp_fake: FakeWhatsApp
) -> AsyncIterator[Channels]:
    async with database.session() as session:
        maldives = directory.read_directory(PROJECT_ROOT / "directory" / "maldives.yml")
        await directory.load(session, maldives)
    settings = channel_settings(database.url, telegram_fake, whatsapp_fake)
    async for client in app_client(settings):
        yield Channels(client, settings, database, telegram_fake, whatsapp_fake)
