from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings
from nlu.language import LanguageGuesser
from nlu.training_data import examples_by_language
from tests.conftest import migrated_database, sqlite_url, unused_port
from web.app import create_app


def offline_settings(database_url: str, **overrides: object) -> Settings:
    """Settings whose Rasa and action server are on closed ports (nothing listens there)."""
    values: dict[str, object] = {
        "database_url": database_url,
        "rasa_url": f"http://127.0.0.1:{unused_port()}",
        "action_server_url": f"http://127.0.0.1:{unused_port()}",
        "rasa_timeout_seconds": 2,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@cache
def shared_guesser() -> LanguageGuesser:
    """Built once per test run: it reads all the training data."""
    return LanguageGuesser(examples_by_language())


async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, shared_guesser())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sahay.test") as client:
            yield client


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    database = await migrated_database(url)
    await database.dispose()
    return url


@pytest.fixture
async def offline_client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(offline_settings(db_url)):
        yield client
