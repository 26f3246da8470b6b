from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings
from nlu.language import LanguageGuesser
from nlu.training_data import examples_by_language
from storage.db import Database
from storage.models import StaffRole
from storage.staff import create_user
from tests.conftest import TEST_BOX, migrated_database, sqlite_url, unused_port
from tests.fakes import FakeGoogleTranslate, fake_google_translate
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


PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class StaffApp:
    """The app with a fake Google Translate, a browser (cookie jar) per signed-in person."""

    client: httpx.AsyncClient  # anonymous
    translate: FakeGoogleTranslate
    settings: Settings
    users: dict[str, int] = field(default_factory=dict)  # role -> user id

    def database(self) -> Database:
        return Database(self.settings.database_url, self.settings.box())

    async def browser(self, role: str | None) -> httpx.AsyncClient:
        """A new cookie jar; signed in as the user of `role` (None: not signed in)."""
        if role is None:
            return httpx.AsyncClient(
                transport=self.client._transport, base_url=str(self.client.base_url)
            )
        return await sign_in(self.client, f"{role}@sahay.test")


async def sign_in(client: httpx.AsyncClient, email: str) -> httpx.AsyncClient:
    """A new browser (cookie jar) on the same app, signed in through the sign-in form."""
    browser = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    token = csrf_of((await browser.get("/login")).text)
    response = await browser.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return browser


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture
async def staff_app(db_url: str) -> AsyncIterator[StaffApp]:
    database = Database(db_url, TEST_BOX)
    users = {}
    async with database.session() as session:
        for role in StaffRole:
            user = await create_user(session, f"{role.value}@sahay.test", PASSWORD, role)
            users[role.value] = user.id
    await database.dispose()
    with fake_google_translate() as fake:
        settings = offline_settings(db_url, translate_url=fake.url, translate_person_messages=True)
        async for client in app_client(settings):
            yield StaffApp(client, fake, settings, users)
