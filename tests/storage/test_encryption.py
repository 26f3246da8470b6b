"""People's data at rest: message text is stored as Fernet tokens, legacy plain rows are sealed
by the migration, and `sahay keys rotate` moves every sealed value to the newest key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot import cli
from storage import keys, requests
from storage import repository as repo
from storage.crypto import AddressBox, AddressUnreadable
from storage.db import Database
from storage.migrate import upgrade
from storage.models import InboundRecord, OutboundRecord, RequestEvent
from tests.conftest import TEST_BOX, sqlite_url

WORDS = "amar passport malik rekhe dise, help"
ADDRESS = "4407712345678"
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


async def _raw(database: Database, query: str) -> list[str]:
    async with database.engine.connect() as conn:
        return [row[0] for row in (await conn.execute(sa.text(query))).all()]


async def _seed(database: Database) -> int:
    """A contact with an address, a message in and out, a request with a phone number and a
    description, a note and a reply's original, all under the database's key. Returns the
    request id."""
    box = database.box
    assert box is not None
    async with database.session() as session:
        await repo.touch_contact(session, "c_1", "telegram", box.seal(ADDRESS))
        inbound_id, _ = await repo.store_inbound(
            session, channel="telegram", platform_message_id="m1", contact_id="c_1", text=WORDS
        )
        session.add(
            OutboundRecord(
                contact_id="c_1",
                channel="telegram",
                in_reply_to=inbound_id,
                message_key="k",
                language="bn",
                text=f"reply to {WORDS}",
            )
        )
        request, _ = await requests.open_request(
            session,
            "maldives",
            requests.NewRequest(
                idempotency_key="i1",
                contact_id="c_1",
                channel="telegram",
                language="bn",
                category="legal",
                description=box.seal(WORDS),
                phone=box.seal("+9607001234"),
            ),
        )
        session.add(
            RequestEvent(request_id=request.id, kind="note", data={"text": box.seal(WORDS)})
        )
        session.add(
            RequestEvent(request_id=request.id, kind="reply", data={"original": box.seal(WORDS)})
        )
        return request.id


async def test_message_text_is_stored_sealed_and_read_back(database: Database) -> None:
    await _seed(database)
    stored = await _raw(database, "SELECT text FROM inbound_messages") + await _raw(
        database, "SELECT text FROM outbound_messages"
    )
    assert len(stored) == 2
    assert all(WORDS not in value for value in stored)
    assert all(TEST_BOX.open(value).endswith(WORDS) for value in stored)
    async with database.session() as session:
        record = await session.scalar(sa.select(InboundRecord))
    assert record is not None
    assert record.text == WORDS


async def test_a_database_opened_without_keys_refuses_to_write_message_text(
    database: Database,
) -> None:
    keyless = Database(database.url)

    async def write() -> None:
        async with keyless.session() as session:
            await repo.touch_contact(session, "c_2", "webchat")
            await repo.store_inbound(
                session, channel="webchat", platform_message_id="x", contact_id="c_2", text=WORDS
            )

    try:
        with pytest.raises(Exception, match="without encryption keys"):
            await write()
    finally:
        await keyless.dispose()
    assert await _raw(database, "SELECT text FROM inbound_messages") == []


async def test_the_migration_seals_text_stored_before_it(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    await asyncio.to_thread(upgrade, url, "0010")
    database = Database(url, TEST_BOX)
    async with database.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO contacts (id, channel, created_at, last_seen_at, reachable) "
                "VALUES ('c_1', 'webchat', '2026-01-01', '2026-01-01', 1)"
            )
        )
        await conn.execute(
            sa.text(
                "INSERT INTO inbound_messages (channel, platform_message_id, contact_id, text, "
                "status, attempts, received_at) "
                "VALUES ('webchat', 'm1', 'c_1', :words, 'done', 1, '2026-01-01')"
            ),
            {"words": WORDS},
        )
    await asyncio.to_thread(upgrade, url)
    [stored] = await _raw(database, "SELECT text FROM inbound_messages")
    assert WORDS not in stored
    assert TEST_BOX.open(stored) == WORDS
    await database.dispose()


async def test_rotate_moves_every_sealed_value_to_the_newest_key(database: Database) -> None:
    written = Database(database.url, AddressBox([OLD]))
    request_id = await _seed(written)
    await written.dispose()
    both = AddressBox([NEW, OLD])
    database = Database(database.url, both)

    counts = await keys.rotate(database, both)

    assert counts == {
        "contacts.address": 1,
        "inbound_messages.text": 1,
        "outbound_messages.text": 1,
        "requests.description": 1,
        "requests.phone": 1,
        "request_events.data": 2,
    }
    sealed = (
        await _raw(database, "SELECT address FROM contacts")
        + await _raw(database, "SELECT text FROM inbound_messages")
        + await _raw(database, "SELECT text FROM outbound_messages")
        + await _raw(database, "SELECT description FROM requests")
        + await _raw(database, "SELECT phone FROM requests")
    )
    async with database.session() as session:
        for event in await session.scalars(
            sa.select(RequestEvent).where(RequestEvent.request_id == request_id)
        ):
            sealed += [v for k, v in event.data.items() if k in ("text", "original")]
    await database.dispose()
    assert len(sealed) == 7
    new_only, old_only = AddressBox([NEW]), AddressBox([OLD])
    for value in sealed:
        new_only.open(value)  # readable with the new key alone: the old one can go
        with pytest.raises(AddressUnreadable):
            old_only.open(value)


async def test_rotate_reports_values_no_key_opens_and_leaves_them(database: Database) -> None:
    lost = AddressBox([Fernet.generate_key().decode()])
    async with database.session() as session:
        await repo.touch_contact(session, "c_9", "telegram", lost.seal(ADDRESS))
    counts = await keys.rotate(database, TEST_BOX)
    assert counts["unreadable"] == 1
    [kept] = await _raw(database, "SELECT address FROM contacts")
    assert lost.open(kept) == ADDRESS


def test_keys_rotate_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path)
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENCRYPTION_KEYS", OLD)

    async def seed() -> None:
        database = Database(url, AddressBox([OLD]))
        await _seed(database)
        await database.dispose()

    asyncio.run(seed())
    assert cli.main(["keys", "new"]) == 0
    printed = capsys.readouterr().out.strip()
    assert AddressBox([printed]).open(AddressBox([printed]).seal("x")) == "x"
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{printed},{OLD}")
    assert cli.main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "contacts.address 1" in out
    assert "older keys can be removed" in out
    monkeypatch.setenv("ENCRYPTION_KEYS", printed)
    assert cli.main(["keys", "rotate"]) == 0  # everything opens with the new key alone
