"""Storage contract: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, text, update

from storage import repository as repo
from storage.db import Database, is_sqlite
from storage.models import Contact, InboundRecord, InboundStatus, OutboundRecord, utcnow


async def _inbound(db: Database, pid: str = "m1", contact: str = "c_1") -> tuple[int, bool]:
    async with db.session() as s:
        await repo.touch_contact(s, contact, "webchat")
        return await repo.store_inbound(
            s, channel="webchat", platform_message_id=pid, contact_id=contact, text="hello"
        )


async def test_same_platform_message_id_is_stored_once(database: Database) -> None:
    first, created = await _inbound(database)
    again, created_again = await _inbound(database)
    assert created
    assert not created_again
    assert first == again
    async with database.session() as s:
        assert await s.scalar(select(func.count()).select_from(InboundRecord)) == 1


async def test_concurrent_duplicates_store_one_message(database: Database) -> None:
    results = await asyncio.gather(*(_inbound(database, "dup") for _ in range(10)))
    assert sum(created for _, created in results) == 1
    assert len({record_id for record_id, _ in results}) == 1


async def test_contact_is_created_once_and_seen_again(database: Database) -> None:
    async with database.session() as s:
        await repo.touch_contact(s, "c_x", "telegram", "sealed-address-1")
        first = await s.get(Contact, "c_x")
        assert first is not None
        created = first.created_at
    async with database.session() as s:
        await repo.touch_contact(s, "c_x", "telegram", "sealed-address-2")
        again = await s.get(Contact, "c_x", populate_existing=True)
        assert again is not None
        assert again.created_at == created
        assert again.last_seen_at >= created
        assert again.address == "sealed-address-1"  # the first address is kept
        assert await s.scalar(select(func.count()).select_from(Contact)) == 1


async def test_only_one_claim_wins(database: Database) -> None:
    record_id, _ = await _inbound(database)

    async def claim() -> bool:
        async with database.session() as s:
            return await repo.claim_inbound(s, record_id)

    wins = await asyncio.gather(*(claim() for _ in range(8)))
    assert sum(wins) == 1


async def test_abandoned_claim_is_taken_again(database: Database) -> None:
    """A process that died mid-turn must not leave the message unanswered forever."""
    record_id, _ = await _inbound(database)
    async with database.session() as s:
        assert await repo.claim_inbound(s, record_id)
        assert await repo.claimable_inbound(s) == []
        await s.execute(
            update(InboundRecord)
            .where(InboundRecord.id == record_id)
            .values(claimed_at=utcnow() - repo.STALE_CLAIM - timedelta(seconds=1))
        )
    async with database.session() as s:
        assert [r.id for r in await repo.claimable_inbound(s)] == [record_id]
        assert await repo.claim_inbound(s, record_id)


async def test_waiting_messages_come_oldest_first_per_contact(database: Database) -> None:
    ids = [(await _inbound(database, f"m{i}", "c_a"))[0] for i in range(3)]
    await _inbound(database, "other", "c_b")
    async with database.session() as s:
        await repo.finish_inbound(s, ids[0], InboundStatus.DONE)
        waiting = await repo.claimable_inbound(s, contact_id="c_a")
    assert [r.id for r in waiting] == ids[1:]


async def test_outbound_queued_then_sent_once(database: Database) -> None:
    record_id, _ = await _inbound(database)
    async with database.session() as s:
        out = await repo.add_outbound(
            s,
            contact_id="c_1",
            channel="webchat",
            in_reply_to=record_id,
            message_key="greet",
            language="en",
            text="Hello",
            buttons=[{"title": "Menu", "payload": "/ask_menu"}],
        )
    async with database.session() as s:
        assert [r.id for r in await repo.queued_for(s, "c_1", "webchat")] == [out.id]
        await repo.mark_sent(s, [out.id])
    async with database.session() as s:
        assert await repo.queued_for(s, "c_1", "webchat") == []
        stored = await s.get(OutboundRecord, out.id)
        assert stored is not None
        assert stored.sent_at is not None
        assert stored.buttons == [{"title": "Menu", "payload": "/ask_menu"}]
        assert [r.id for r in await repo.replies_to(s, record_id)] == [out.id]


async def test_greeting_is_remembered(database: Database) -> None:
    async with database.session() as s:
        await repo.touch_contact(s, "c_g", "webchat")
    async with database.session() as s:
        assert await repo.mark_greeted(s, "c_g") is False
    async with database.session() as s:
        assert await repo.mark_greeted(s, "c_g") is True
        assert await repo.mark_greeted(s, "c_unknown") is False
        assert await s.get(Contact, "c_unknown") is None


async def test_deleting_a_contact_deletes_their_messages(database: Database) -> None:
    await _inbound(database, "m1", "c_del")
    async with database.session() as s:
        await s.delete(await s.get(Contact, "c_del"))
    async with database.session() as s:
        assert await s.scalar(select(func.count()).select_from(InboundRecord)) == 0


async def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import migrated_database, sqlite_url

    db = await migrated_database(sqlite_url(tmp_path))
    assert is_sqlite(db.url)
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    await db.dispose()


async def test_a_fresh_message_is_left_to_the_process_that_received_it(
    database: Database,
) -> None:
    record_id, _ = await _inbound(database)
    async with database.session() as s:
        assert await repo.claimable_inbound(s, min_age=timedelta(seconds=30)) == []
        await s.execute(
            update(InboundRecord)
            .where(InboundRecord.id == record_id)
            .values(received_at=utcnow() - timedelta(minutes=1))
        )
    async with database.session() as s:
        waiting = await repo.claimable_inbound(s, min_age=timedelta(seconds=30))
    assert [r.id for r in waiting] == [record_id]
