"""Staff accounts: Argon2id hashes, clear refusals, and `sahay users create`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.settings import PROJECT_ROOT
from storage import staff
from storage.db import Database
from storage.models import StaffRole, StaffUser
from tests.conftest import TEST_BOX, migrated_database, sqlite_url

PASSWORD = "correct horse battery"


async def test_passwords_are_stored_as_argon2id_and_checked(database: Database) -> None:
    async with database.session() as session:
        user = await staff.create_user(
            session, " Amina@Example.org ", PASSWORD, StaffRole.CASEWORKER
        )
    assert user.email == "amina@example.org"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert staff.password_matches(user.password_hash, PASSWORD)
    assert not staff.password_matches(user.password_hash, PASSWORD + "!")
    assert not staff.password_matches("not a hash", PASSWORD)


@pytest.mark.parametrize(
    ("email", "password", "problem"),
    [
        ("amina@example.org", PASSWORD, "already has an account"),
        ("not-an-email", PASSWORD, "not an email address"),
        ("new@example.org", "short", "at least 12 characters"),
    ],
)
async def test_an_account_that_cannot_be_created_says_why(
    database: Database, email: str, password: str, problem: str
) -> None:
    async with database.session() as session:
        await staff.create_user(session, "amina@example.org", PASSWORD, StaffRole.ADMIN)
    with pytest.raises(staff.StaffError, match=problem):
        async with database.session() as session:
            await staff.create_user(session, email, password, StaffRole.STAFF)


async def test_sahay_users_create(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    await (await migrated_database(url)).dispose()
    env = {**os.environ, "DATABASE_URL": url, "SAHAY_PASSWORD": PASSWORD}
    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "users",
        "create",
        "lead@example.org",
        "--role",
        "admin",
        "--language",
        "ta",
    ]

    async def create() -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            command,
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    done = await create()
    assert (done.returncode, done.stdout.strip()) == (0, "Created admin lead@example.org")
    again = await create()
    assert again.returncode == 1
    assert "already has an account" in again.stderr
    assert PASSWORD not in done.stdout + done.stderr + again.stderr
    database = Database(url, TEST_BOX)
    async with database.session() as session:
        [user] = (await session.scalars(select(StaffUser))).all()
    await database.dispose()
    assert (user.email, user.role, user.language) == ("lead@example.org", StaffRole.ADMIN, "ta")
