"""Erasure and retention on SQLite and PostgreSQL: a person erased leaves nothing a search of
every table and of Rasa's tracker store can find; the purge removes old text and turns only;
closed requests are anonymised and still counted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.pseudonym import contact_id
from storage import privacy, requests, subscriptions
from storage import repository as repo
from storage.db import Database
from storage.models import (
    Contact,
    HelpRequest,
    InboundRecord,
    InboundStatus,
    OutboundRecord,
    OutboundStatus,
    RequestEvent,
    RequestStatus,
    utcnow,
)
from storage.tracker import TrackerStore
from tests.conftest import TEST_BOX
from tests.leaks import where_found

SECRET = "privacy-tests-secret-key-0123456789abcdef"
CHAT_ID = "8123987654"  # the person's Telegram chat id
PHONE = "+960 7771 4242"
WORDS = "boss ne passport rakh liya, salary 3 mahine se nahi"
CID = contact_id(SECRET, "telegram", CHAT_ID)
# Rasa's SQLTrackerStore table, as Rasa 3.6 creates it.
RASA_EVENTS = """CREATE TABLE events (
    id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"""


@pytest.fixture
async def tracker(tmp_path: Path) -> AsyncIterator[TrackerStore]:
    store = TrackerStore(f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}")
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(RASA_EVENTS))
    yield store
    await store.dispose()


async def rasa_turn(store: TrackerStore, sender: str, text: str, days_ago: float = 0) -> None:
    at = (utcnow() - timedelta(days=days_ago)).timestamp()
    event = {"event": "user", "timestamp": at, "text": text, "metadata": {"language": "hi"}}
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                "VALUES (:s, 'user', :t, 'ask_legal_aid', :d)"
            ),
            {"s": sender, "t": at, "d": json.dumps(event)},
        )


async def person_with_history(database: Database, who: str = CID, chat_id: str = CHAT_ID) -> None:
    """A Telegram contact who wrote, got answers, subscribed, opened a request with a phone
    number (still open) and had an older one closed."""
    async with database.session() as session:
        await repo.touch_contact(session, who, "telegram", TEST_BOX.seal(chat_id))
        inbound_id, _ = await repo.store_inbound(
            session, channel="telegram", platform_message_id=f"{who}-1", contact_id=who, text=WORDS
        )
        session.add(
            OutboundRecord(
                contact_id=who,
                channel="telegram",
                in_reply_to=inbound_id,
                message_key="k",
                language="hi",
                text=f"You wrote: {WORDS}",
                status=OutboundStatus.SENT,
            )
        )
        await subscriptions.subscribe(session, who)
        for key, status in (
            (f"{who}:open", RequestStatus.NEW),
            (f"{who}:old", RequestStatus.CLOSED),
        ):
            request, _ = await requests.open_request(
                session,
                "maldives",
                requests.NewRequest(
                    idempotency_key=key,
                    contact_id=who,
                    channel="telegram",
                    language="hi",
                    category="legal_aid",
                    description=TEST_BOX.seal(WORDS),
                    phone=TEST_BOX.seal(PHONE),
                    location="Male",
                    gender="male",
                ),
            )
            request.status = status
            session.add(
                RequestEvent(
                    request_id=request.id, kind="note", data={"text": TEST_BOX.seal(WORDS)}
                )
            )
            session.add(
                RequestEvent(
                    request_id=request.id, kind="person_message", data={"inbound": inbound_id}
                )
            )
    # fmt: on


async def test_an_erased_person_leaves_nothing_behind(
    database: Database, tracker: TrackerStore
) -> None:
    await person_with_history(database)
    other = contact_id(SECRET, "telegram", "5550001111")
    await person_with_history(database, other, "5550001111")
    await rasa_turn(tracker, CID, WORDS)
    await rasa_turn(tracker, other, "hello")
    needles = [CHAT_ID, PHONE, WORDS, CID]
    assert await where_found(database.engine, needles, TEST_BOX)  # the search does find them

    erased = await privacy.erase_contact(database, tracker, CID)

    assert erased == {
        "tracker_events": 1, "requests_deleted": 1, "requests_anonymised": 1,
        "messages_in": 1, "messages_out": 1, "subscriptions": 1, "alert_deliveries": 0,
    }  # fmt: skip
    assert await where_found(database.engine, [CHAT_ID, CID], TEST_BOX) == []
    # The other person's rows still hold the same words and phone number; none is this
    # person's: every row left belongs to the other contact or to no one.
    assert await tracker.count(CID) == 0
    assert await tracker.count(other) == 1
    async with database.session() as session:
        assert await session.get(Contact, CID) is None
        assert await session.get(Contact, other) is not None
        closed = await session.scalar(
            sa.select(HelpRequest).where(HelpRequest.anonymised_at.is_not(None))
        )
        assert closed is not None
        assert (closed.description, closed.phone, closed.contact_id) == (None, None, None)
        assert (closed.category, closed.location, closed.gender) == ("legal_aid", "Male", "male")
        kinds = [
            e.kind
            for e in await session.scalars(
                sa.select(RequestEvent).where(RequestEvent.request_id == closed.id)
            )
        ]
        assert kinds == ["created", "note", "person_message"]  # when, kept; what, gone


async def test_erasure_alone_finds_nothing_of_the_person(
    database: Database, tracker: TrackerStore
) -> None:
    await person_with_history(database)
    await rasa_turn(tracker, CID, WORDS)
    await privacy.erase_contact(database, tracker, CID)
    needles = [CHAT_ID, PHONE, WORDS, CID]
    assert await where_found(database.engine, needles, TEST_BOX) == []
    assert await where_found(tracker.engine, needles, TEST_BOX) == []


async def confirmed_with_reply_queued(database: Database) -> None:
    """The person pressed "Yes, delete"; the "Done." reply waits to be sent."""
    await person_with_history(database)
    async with database.session() as session:
        await privacy.request_erasure(session, CID)
        session.add(
            OutboundRecord(
                contact_id=CID, channel="telegram", message_key="erase.done", language="hi",
                text="Done.", status=OutboundStatus.QUEUED,
            )
        )  # fmt: skip


async def test_erasure_waits_for_the_confirmation_to_leave(
    database: Database, tracker: TrackerStore
) -> None:
    await confirmed_with_reply_queued(database)
    assert await privacy.run_erasures(database, tracker) == 0  # "Done." has not left yet
    async with database.session() as session:
        await session.execute(
            sa.update(OutboundRecord)
            .where(OutboundRecord.message_key == "erase.done")
            .values(status=OutboundStatus.SENT)
        )
    assert await privacy.run_erasures(database, tracker) == 1
    async with database.session() as session:
        assert await session.get(Contact, CID) is None


async def test_a_platform_that_is_down_does_not_keep_anyone(
    database: Database, tracker: TrackerStore
) -> None:
    await confirmed_with_reply_queued(database)
    later = utcnow() + privacy.CONFIRMATION_GRACE + timedelta(seconds=1)
    async with database.session() as session:
        assert await privacy.due_erasures(session, later) == [CID]


async def test_an_unreachable_tracker_store_keeps_the_erasure_pending(
    database: Database, tmp_path: Path
) -> None:
    await person_with_history(database)
    async with database.session() as session:
        await privacy.request_erasure(session, CID)
    down = TrackerStore("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(ConnectionRefusedError):
        await privacy.run_erasures(database, down)
    await down.dispose()
    async with database.session() as session:
        assert await privacy.due_erasures(session) == [CID]  # tried again next time


async def test_the_purge_removes_old_text_and_turns_and_anonymises_old_closed_requests(
    database: Database, tracker: TrackerStore
) -> None:
    await person_with_history(database)
    old_day = utcnow() - timedelta(days=91)
    async with database.session() as session:
        await session.execute(
            sa.update(InboundRecord).values(received_at=old_day, status=InboundStatus.DONE)
        )
        await session.execute(sa.update(OutboundRecord).values(created_at=old_day))
        await repo.store_inbound(
            session, channel="telegram", platform_message_id="new", contact_id=CID, text="recent"
        )
    await rasa_turn(tracker, CID, WORDS, days_ago=91)
    await rasa_turn(tracker, CID, "recent", days_ago=1)
    async with database.session() as session:
        await session.execute(
            sa.update(HelpRequest)
            .where(HelpRequest.status == RequestStatus.CLOSED)
            .values(updated_at=old_day)
        )

    purged = await privacy.purge(database, tracker, timedelta(days=90), timedelta(days=90))

    assert purged == {
        "messages_in": 1, "messages_out": 1, "tracker_events": 1, "requests_anonymised": 1
    }  # fmt: skip
    async with database.session() as session:
        texts = sorted(str(t) for t in await session.scalars(sa.select(InboundRecord.text)))
        assert texts == ["None", "recent"]  # the old message is still counted, without words
        assert await session.scalar(sa.select(OutboundRecord.text)) is None
        by_status = {r.status: r for r in await session.scalars(sa.select(HelpRequest))}
        assert by_status[RequestStatus.CLOSED].anonymised_at is not None
        assert by_status[RequestStatus.CLOSED].description is None
        assert by_status[RequestStatus.NEW].description is not None  # open: kept
    assert await tracker.count(CID) == 1
    again = await privacy.purge(database, tracker, timedelta(days=90), timedelta(days=90))
    assert sum(again.values()) == 0
