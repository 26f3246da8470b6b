"""Casework queries on SQLite and PostgreSQL: the queue's order and its age filter, and a
person's messages joining the request whose caseworker wrote to them (once per message)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import casework as outreach
from bot.rasa_client import RasaReply
from storage import casework, requests
from storage import repository as repo
from storage.db import Database
from storage.models import HelpRequest, RequestEvent, RequestStatus, Urgency, utcnow


async def _open(
    database: Database, key: str, urgency: Urgency, age: timedelta, contact: str = "c_cw"
) -> HelpRequest:
    async with database.session() as session:
        await repo.touch_contact(session, contact, "telegram")
        made, _ = await requests.open_request(
            session,
            "maldives",
            requests.NewRequest(
                idempotency_key=key,
                contact_id=contact,
                channel="telegram",
                language="ta",
                category="shelter",
                urgency=urgency,
            ),
        )
        made.created_at = utcnow() - age
    return made


async def test_the_queue_is_urgent_first_then_oldest_and_knows_what_is_late(
    database: Database,
) -> None:
    fresh = await _open(database, "a", Urgency.NORMAL, timedelta(hours=2))
    late = await _open(database, "b", Urgency.NORMAL, timedelta(days=3, minutes=5))
    urgent = await _open(database, "c", Urgency.URGENT, timedelta(minutes=50))
    urgent_late = await _open(database, "d", Urgency.URGENT, timedelta(minutes=61))
    async with database.session() as session:
        everyone = await casework.queue(session, casework.QueueFilter())
        overdue = await casework.queue(session, casework.QueueFilter(age=casework.Age.OVERDUE))
        closed = await session.get(HelpRequest, fresh.id)
        assert closed is not None
        await requests.change_status(session, closed, RequestStatus.CLOSED, None)
    assert [r.id for r in everyone] == [urgent_late.id, urgent.id, late.id, fresh.id]
    assert [r.id for r in overdue] == [urgent_late.id, late.id]
    now = utcnow()
    assert [casework.is_overdue(r, now) for r in everyone] == [True, False, True, False]
    async with database.session() as session:
        still_open = await casework.queue(session, casework.QueueFilter())
        done = await casework.queue(session, casework.QueueFilter(status=RequestStatus.CLOSED))
    assert fresh.id not in [r.id for r in still_open]
    assert [r.id for r in done] == [fresh.id]


async def test_a_persons_messages_join_the_request_a_caseworker_wrote_to_them_about(
    database: Database,
) -> None:
    item = await _open(database, "thread", Urgency.NORMAL, timedelta(hours=1))
    async with database.session() as session:
        assert await outreach.attach(session, "c_cw", 1) is None  # nobody wrote to them yet
        found = await session.get(HelpRequest, item.id)
        assert found is not None
        await casework.add_event(session, found, "reply", None, outbound=1)
    async with database.session() as session:
        inbound, _ = await repo.store_inbound(
            session, channel="telegram", platform_message_id="m1", contact_id="c_cw", text="ok"
        )
    for _ in range(2):  # the message is answered again after a crash: it joins once
        async with database.session() as session:
            thread = await outreach.attach(session, "c_cw", inbound)
            assert thread is not None
            assert thread.id == item.id
    async with database.session() as session:
        joined = (
            await session.scalars(
                select(RequestEvent).where(RequestEvent.kind == "person_message")
            )
        ).all()
    assert [e.data for e in joined] == [{"inbound": inbound}]
    shrug = [RasaReply(key="fallback")]
    assert [r.key for r in outreach.instead_of_shrug(thread, shrug)] == ["casework.forwarded"]
    answered = [RasaReply(key="status.found")]
    assert outreach.instead_of_shrug(thread, answered) == answered
