"""The report's figures against a seeded month whose true counts are known, on SQLite and
PostgreSQL; small cells hidden so that no one can be singled out, not even by subtraction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import figures
from storage import repository as repo
from storage.db import Database
from storage.models import (
    Contact,
    HelpRequest,
    InboundRecord,
    RequestEvent,
    RequestStatus,
    StaffRole,
    Urgency,
)
from storage.staff import create_user

MARCH = figures.Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
DAY = timedelta(days=1)
# (category, location, gender, hours to first response, hours to resolution or None)
MARCH_REQUESTS = (
    [("food_relief", "Male", "female", 2.0, 24.0)] * 6
    + [("food_relief", "Addu", "male", 4.0, None)] * 3
    + [("legal_aid", "Male", None, 10.0, 48.0)] * 2
    + [("shelter", None, "female", None, None)] * 1
)


async def seed(database: Database) -> None:
    """12 requests opened in March (known answers, above), 2 in February and 1 in April that
    must not count; 7 contacts new in March, 3 of them writing in March, 1 writing earlier."""
    async with database.session() as session:
        worker = await create_user(session, "cw@sahay.test", "x" * 12, StaffRole.CASEWORKER)
        opened = datetime(2026, 3, 3, 9, tzinfo=UTC)
        for n, (category, location, gender, respond, resolve) in enumerate(MARCH_REQUESTS):
            request = HelpRequest(
                reference=f"MV-{n:04d}", idempotency_key=f"k{n}", channel="telegram",
                language="bn" if n % 2 else "hi", category=category, location=location,
                gender=gender, urgency=Urgency.URGENT if n < 2 else Urgency.NORMAL,
                status=RequestStatus.RESOLVED if resolve else RequestStatus.NEW,
                created_at=opened + n * DAY, updated_at=opened + n * DAY,
            )  # fmt: skip
            session.add(request)
            await session.flush()
            events = [RequestEvent(request_id=request.id, kind="created", at=request.created_at)]
            # A note is not a response to the person: it must not count as one.
            events.append(
                RequestEvent(
                    request_id=request.id, kind="note", actor_id=worker.id,
                    at=request.created_at + timedelta(minutes=5), data={},
                )
            )  # fmt: skip
            if respond is not None:
                events.append(
                    RequestEvent(
                        request_id=request.id, kind="assigned", actor_id=worker.id,
                        at=request.created_at + timedelta(hours=respond), data={"to": worker.id},
                    )
                )  # fmt: skip
            if resolve is not None:
                events.append(
                    RequestEvent(
                        request_id=request.id, kind="status", actor_id=worker.id,
                        at=request.created_at + timedelta(hours=resolve),
                        data={"from": "in_progress", "to": "resolved"},
                    )
                )  # fmt: skip
            session.add_all(events)
        for n, at in enumerate(
            [
                datetime(2026, 2, 20, tzinfo=UTC),
                datetime(2026, 2, 27, tzinfo=UTC),
                datetime(2026, 4, 1, tzinfo=UTC),
            ]
        ):  # noqa: E501
            session.add(
                HelpRequest(
                    reference=f"MV-X{n}", idempotency_key=f"x{n}", channel="phone",
                    language="en", category="food_relief", created_at=at, updated_at=at,
                )
            )  # fmt: skip
        for n in range(7):
            session.add(Contact(id=f"c{n}", channel="telegram", created_at=opened + n * DAY))
        session.add(
            Contact(id="old", channel="telegram", created_at=datetime(2026, 1, 5, tzinfo=UTC))
        )
        await session.flush()
        for n, (who, at) in enumerate(
            [("c0", opened), ("c0", opened + DAY), ("c1", opened), ("old", opened + 2 * DAY),
             ("c2", datetime(2026, 2, 28, tzinfo=UTC))]
        ):  # fmt: skip
            message_id, _ = await repo.store_inbound(
                session, channel="telegram", platform_message_id=f"m{n}", contact_id=who,
                text="hi",
            )  # fmt: skip
            message = await session.get(InboundRecord, message_id)
            assert message is not None
            message.received_at = at


async def test_requests_are_counted_by_every_dimension_in_the_period(database: Database) -> None:
    await seed(database)
    async with database.session() as session:
        by_category = await figures.requests_by(session, "category", MARCH)
        by_location = await figures.requests_by(session, "location", MARCH)
        by_gender = await figures.requests_by(session, "gender", MARCH)
        by_status = await figures.requests_by(session, "status", MARCH)
        by_urgency = await figures.requests_by(session, "urgency", MARCH)
        by_language = await figures.requests_by(session, "language", MARCH)
    assert by_category == {"food_relief": 9, "legal_aid": 2, "shelter": 1}
    assert by_location == {"Male": 8, "Addu": 3, "not given": 1}
    assert by_gender == {"female": 7, "male": 3, "not given": 2}
    assert by_status == {"resolved": 8, "new": 4}
    assert by_urgency == {"urgent": 2, "normal": 10}
    assert by_language == {"hi": 6, "bn": 6}
    with pytest.raises(ValueError, match="no such dimension"):
        async with database.session() as session:
            await figures.requests_by(session, "description", MARCH)


async def test_people_and_conversations_in_the_period(database: Database) -> None:
    await seed(database)
    async with database.session() as session:
        # c0 (twice), c1 and "old" wrote in March; c2 in February.
        assert await figures.people(session, MARCH) == {"new_contacts": 7, "conversations": 3}


async def test_median_times_to_first_response_and_to_resolution(database: Database) -> None:
    await seed(database)
    async with database.session() as session:
        times = await figures.answer_times(session, MARCH)
    # Responses: 6 x 2 h, 3 x 4 h, 2 x 10 h (the shelter request is unanswered): median 2 h.
    # Resolutions: 6 x 24 h, 2 x 48 h: median 24 h. Notes never count as a response.
    assert times == {
        "opened": 12,
        "median_hours_to_first_response": 2.0,
        "not_yet_answered": 1,
        "median_hours_to_resolution": 24.0,
        "not_yet_resolved": 4,
    }


def test_small_cells_are_hidden_and_cannot_be_worked_out_from_the_total() -> None:
    assert figures.suppress({"food": 9, "legal": 2, "shelter": 0}) == {
        "food": None,  # hidden too: 11 in all minus 9 would give legal's 2 away
        "legal": None,
        "shelter": 0,  # nobody: nothing to hide
    }
    assert figures.suppress({"a": 12, "b": 7, "c": 3, "d": 1}) == {
        "a": 12, "b": 7, "c": None, "d": None
    }  # fmt: skip
    assert figures.suppress({"a": 5, "b": 30}) == {"a": 5, "b": 30}  # 5 is shown
    assert figures.suppress({"only": 4}) == {"only": None}
