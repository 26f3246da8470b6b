"""The real thing: a Rasa server (model trained in this run when the data changed), the action
server and `sahay web`, as processes on free ports, over a fresh SQLite database."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.rasa_model import ensure_model
from bot.settings import PROJECT_ROOT, Settings
from bot.supervisor import Supervisor, services
from storage import directory
from storage.db import Database
from tests.conftest import migrated_database, sqlite_url, unused_port
from tests.fakes import FakeGoogleTranslate, FakeTelegram, fake_google_translate, fake_telegram

STARTUP_TIMEOUT = 240.0
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


MALDIVES = PROJECT_ROOT / "directory" / "maldives.yml"


@dataclass
class Stack:
    settings: Settings
    web_url: str
    log_dir: Path

    def database(self) -> Database:
        return Database(self.settings.database_url, self.settings.box())


def _wait_ready(url: str, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        if supervisor.exited():
            break
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(1)
    logs = {p.name: p.read_text()[-2000:] for p in supervisor.log_dir.glob("*.log")}
    supervisor.stop_all()
    pytest.fail(f"stack not ready: exited={supervisor.exited()} last={last} logs={logs}")


@pytest.fixture(scope="session")
def model() -> Path:
    path, _trained = ensure_model(PROJECT_ROOT / "var" / "models")
    return path


@pytest.fixture(scope="session")
def translate() -> Iterator[FakeGoogleTranslate]:
    """Google Translate as googletrans calls it, on loopback, for every process of the stack."""
    with fake_google_translate() as fake:
        yield fake


@pytest.fixture(scope="session")
def telegram_platform() -> Iterator[FakeTelegram]:
    """The Bot API for the stack's web and worker processes (webhook mode: no polling)."""
    with fake_telegram() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(
    model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    translate: FakeGoogleTranslate,
    telegram_platform: FakeTelegram,
) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("stack")
    url = sqlite_url(var)
    asyncio.run(_migrate(url))
    port = unused_port()
    settings = Settings(
        database_url=url,
        rasa_url=f"http://127.0.0.1:{unused_port()}",
        action_server_url=f"http://127.0.0.1:{unused_port()}",
        rasa_token=secrets.token_urlsafe(16),
        port=port,
        var_dir=var,
        worker_poll_seconds=0.5,
    )
    supervisor = Supervisor(var / "log")
    wanted = {"rasa", "actions", "web", "worker"}
    env = {
        "PORT": str(port),
        "RASA_URL": settings.rasa_url,
        "ACTION_SERVER_URL": settings.action_server_url,
        "TRANSLATE_URL": translate.url,
        "TRANSLATE_PERSON_MESSAGES": "true",
        "TELEGRAM_BOT_TOKEN": telegram_platform.token,
        "TELEGRAM_API_BASE_URL": telegram_platform.base_url,
        "TELEGRAM_WEBHOOK_URL": "https://sahay.example.org/webhooks/telegram",
    }
    for service in services(settings, model, settings.rasa_token):
        if service.name in wanted:
            service.env.update(env)
            supervisor.start(service)
    web_url = f"http://127.0.0.1:{port}"
    _wait_ready(f"{web_url}/healthz", supervisor)
    try:
        yield Stack(settings, web_url, supervisor.log_dir)
    finally:
        supervisor.stop_all()


async def _migrate(url: str) -> None:
    database = await migrated_database(url)
    async with database.session() as session:
        await directory.load(session, directory.read_directory(MALDIVES))
    await database.dispose()
