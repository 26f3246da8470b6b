"""Shared fixtures: databases (SQLite and PostgreSQL, migrated by Alembic) and a network guard."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.settings import DEV_SECRET
from storage.crypto import AddressBox
from storage.db import Database
from storage.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
IN_CI = os.environ.get("CI") == "true"
# The key a development deployment derives (no ENCRYPTION_KEYS, the default SECRET_KEY).
TEST_BOX = AddressBox.from_settings("", DEV_SECRET)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the PostgreSQL and Redis tests must run: fail at once if they cannot."""
    if not IN_CI:
        return
    missing = [n for n in ("TEST_DATABASE_URL", "TEST_REDIS_URL") if not os.environ.get(n)]
    if missing:
        pytest.exit(f"CI=true but {', '.join(missing)} not set", returncode=3)
    problems = asyncio.run(_unreachable())
    if problems:
        pytest.exit("CI=true but unreachable: " + "; ".join(problems), returncode=3)


async def _unreachable() -> list[str]:
    import redis.asyncio as redis

    problems = []
    database = Database(TEST_DATABASE_URL, TEST_BOX)
    try:
        await database.ping()
    except Exception as exc:  # noqa: BLE001 - reported, and the run stops
        problems.append(f"TEST_DATABASE_URL ({type(exc).__name__})")
    finally:
        await database.dispose()
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"TEST_REDIS_URL ({type(exc).__name__})")
    finally:
        await client.aclose()
    return problems


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests reach only this machine: any other address fails loudly."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise ConnectionRefusedError(f"tests may not reach {host}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def redis_url_or_skip() -> str:
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL not set")
    return TEST_REDIS_URL


def postgres_url_or_skip() -> str:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set")
    return TEST_DATABASE_URL


async def reset_postgres(url: str) -> None:
    database = Database(url, TEST_BOX)
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await database.dispose()


async def migrated_database(url: str) -> Database:
    await asyncio.to_thread(upgrade, url)
    return Database(url, TEST_BOX)


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'sahay.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, migrated database: the same tests run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
    else:
        url = postgres_url_or_skip()
        await reset_postgres(url)
    db = await migrated_database(url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def free_port() -> int:
    return unused_port()


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
