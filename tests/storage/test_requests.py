"""Requests in the database: reference codes a person can read out, one request per submit
however often it is retried, the status workflow, and a person sees only their own requests.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import pytest

from storage import repository as repo
from storage import requests
from storage.db import Database
from storage.models import Contact, HelpRequest, RequestStatus, Urgency

AMBIGUOUS = set("0O1IL5S8B")


def new(key: str, contact: str | None = "c_req") -> requests.NewRequest:
    return requests.NewRequest(
        idempotency_key=key,
        contact_id=contact,
        channel="telegram",
        language="bn",
        category="food_relief",
    )


async def _contact(database: Database, contact: str = "c_req") -> None:
    async with database.session() as session:
        await repo.touch_contact(session, contact, "telegram")


def test_reference_codes_have_no_characters_that_sound_or_look_alike() -> None:
    codes = {requests.new_reference("maldives") for _ in range(2000)}
    assert all(re.fullmatch(r"MV-[2-9A-Z]{4}", code) for code in codes)
    assert not AMBIGUOUS & set("".join(c[3:] for c in codes))
    assert len(codes) > 1900  # 27^4 = 531,441 codes: draws rarely repeat
    assert requests.new_reference("ecuador").startswith("EC-")
    assert requests.normalise_reference(" mv 7k3q ") == "MV-7K3Q"
    assert requests.normalise_reference("MV7K3Q") == "MV-7K3Q"


async def test_a_retried_submit_opens_one_request(database: Database) -> None:
    await _contact(database)

    async def submit() -> tuple[int, bool]:
        async with database.session() as session:
            request, created = await requests.open_request(session, "maldives", new("form-1"))
            return request.id, created

    results = await asyncio.gather(*(submit() for _ in range(10)))
    assert sum(created for _, created in results) == 1
    assert len({request_id for request_id, _ in results}) == 1


async def test_a_reference_collision_draws_another_code(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _contact(database)
    draws = iter(["MV-AAAA", "MV-AAAA", "MV-CCCC"])
    monkeypatch.setattr(requests, "new_reference", lambda _deployment: next(draws))
    async with database.session() as session:
        first, _ = await requests.open_request(session, "maldives", new("a"))
        second, _ = await requests.open_request(session, "maldives", new("b"))
    assert (first.reference, second.reference) == ("MV-AAAA", "MV-CCCC")


async def test_the_status_workflow_and_its_timeline(database: Database) -> None:
    await _contact(database)
    async with database.session() as session:
        request, _ = await requests.open_request(session, "maldives", new("w"))
        for status in ("assigned", "in_progress", "referred", "resolved", "closed"):
            await requests.change_status(session, request, RequestStatus(status), None)
        with pytest.raises(requests.InvalidTransition):
            await requests.change_status(session, request, RequestStatus.NEW, None)
        other, _ = await requests.open_request(session, "maldives", new("w2"))
        with pytest.raises(requests.InvalidTransition, match="reason"):
            await requests.change_status(session, other, RequestStatus.REJECTED, None, " ")
        await requests.change_status(session, other, RequestStatus.REJECTED, None, "duplicate")
    async with database.session() as session:
        events = await requests.timeline(session, request.id)
    assert [e.kind for e in events] == ["created"] + ["status"] * 5
    assert events[-1].data == {"from": "resolved", "to": "closed"}
    assert other.rejection_reason == "duplicate"


async def test_a_person_sees_only_their_own_requests(database: Database) -> None:
    await _contact(database, "c_one")
    await _contact(database, "c_two")
    async with database.session() as session:
        mine, _ = await requests.open_request(session, "maldives", new("m", "c_one"))
        theirs, _ = await requests.open_request(session, "maldives", new("t", "c_two"))
    async with database.session() as session:
        assert [r.id for r in await requests.of_contact(session, "c_one")] == [mine.id]
        spoken = mine.reference.lower().replace("-", " ")
        assert [r.id for r in await requests.of_contact(session, "c_one", spoken)] == [mine.id]
        assert await requests.of_contact(session, "c_one", theirs.reference) == []


async def test_a_safeguarding_alarm_raises_open_requests_only(database: Database) -> None:
    await _contact(database)
    async with database.session() as session:
        open_one, _ = await requests.open_request(session, "maldives", new("open"))
        closed, _ = await requests.open_request(session, "maldives", new("closed"))
        await requests.change_status(session, closed, RequestStatus.CLOSED, None)
    async with database.session() as session:
        assert await requests.raise_alarm(session, "c_req") == 1
        assert await requests.raise_alarm(session, "c_req") == 0  # already raised
    async with database.session() as session:
        raised = await session.get(HelpRequest, open_one.id, populate_existing=True)
        untouched = await session.get(HelpRequest, closed.id, populate_existing=True)
        contact = await session.get(Contact, "c_req")
        events = await requests.timeline(session, open_one.id)
    assert raised is not None
    assert untouched is not None
    assert (raised.urgency, raised.safeguarding) == (Urgency.URGENT, True)
    assert (untouched.urgency, untouched.safeguarding) == (Urgency.NORMAL, False)
    assert contact is not None
    assert contact.safeguarding_at is not None
    assert [e.kind for e in events] == ["created", "safeguarding"]
