"""The report's figures against a seeded month whose true counts are known, on SQLite and
PostgreSQL; small cells hidden so that no one can be singled out, not even by subtraction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from storage import figures
from storage import repository as repo
from storage.broadcast_models import Broadcast, BroadcastDelivery, LedgerState, Subscription
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
                nationality="BD" if n < 7 else "NP" if n < 9 else None,
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
            place = "Male" if n < 3 else None
            session.add(
                Contact(
                    id=f"c{n}", channel="telegram", created_at=opened + n * DAY, location=place
                )
            )
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
        by_nationality = await figures.requests_by(session, "nationality", MARCH)
    assert by_category == {"food_relief": 9, "legal_aid": 2, "shelter": 1}
    assert by_location == {"Male": 8, "Addu": 3, "not given": 1}
    assert by_gender == {"female": 7, "male": 3, "not given": 2}
    assert by_status == {"resolved": 8, "new": 4}
    assert by_urgency == {"urgent": 2, "normal": 10}
    assert by_language == {"hi": 6, "bn": 6}
    assert by_nationality == {"BD": 7, "NP": 2, "not given": 3}
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


async def test_every_figure_can_be_narrowed_to_one_location(database: Database) -> None:
    await seed(database)
    male = figures.Period(MARCH.start, MARCH.end, "Male")
    async with database.session() as session:
        assert await figures.requests_by(session, "category", male) == {
            "food_relief": 6,
            "legal_aid": 2,
        }
        # c0, c1, c2 live in Male; c0 and c1 wrote in March ("old" has no location).
        assert await figures.people(session, male) == {"new_contacts": 3, "conversations": 2}
        times = await figures.answer_times(session, male)
    assert times["opened"] == 8
    assert times["median_hours_to_resolution"] == 24.0  # 6 x 24 h, 2 x 48 h


async def test_requests_opened_and_resolved_week_by_week(database: Database) -> None:
    await seed(database)
    async with database.session() as session:
        flow = await figures.weekly_requests(session, "category", MARCH)
    # 1 March 2026 is a Sunday: March touches six weeks, the first from Monday 23 February.
    weeks = [date(2026, 2, 23) + timedelta(weeks=n) for n in range(6)]
    assert MARCH.weeks() == weeks
    assert list(flow["opened"]) == weeks
    # Opened 3 to 14 March, one a day: 3-8 March six food requests; 9-14 March the rest.
    assert flow["opened"][date(2026, 3, 2)] == {"food_relief": 6}
    assert flow["opened"][date(2026, 3, 9)] == {"food_relief": 3, "legal_aid": 2, "shelter": 1}
    assert flow["opened"][date(2026, 3, 16)] == {}
    # Resolved a day (food) or two (legal) after opening, in the week it happened.
    assert flow["resolved"][date(2026, 3, 2)] == {"food_relief": 5}
    assert flow["resolved"][date(2026, 3, 9)] == {"food_relief": 1, "legal_aid": 2}
    assert sum(sum(week.values()) for week in flow["resolved"].values()) == 8


def test_two_way_tables_leave_no_row_or_column_with_one_hidden_cell() -> None:
    table = {
        "food": {"female": 12, "male": 3, "not given": 6},
        "legal": {"female": 7, "male": 9, "not given": 8},
    }
    shown = figures.suppress_table(table)
    assert shown["food"]["male"] is None
    for row in shown.values():
        assert sum(v is None for v in row.values()) != 1
    for column in ("female", "male", "not given"):
        assert sum(shown[r][column] is None for r in shown) != 1
    assert shown["legal"]["female"] == 7 or shown["legal"]["not given"] == 8  # not all hidden


async def seed_messages(database: Database) -> None:
    """Messages and Sahay's replies in March: some it did not understand (fallback), some out
    of scope, and what people wrote in them."""
    hindi_week = datetime(2026, 3, 3, 10, tzinfo=UTC)
    bengali_week = datetime(2026, 3, 10, 10, tzinfo=UTC)
    said = (
        # (who, text, when, reply language, reply keys)
        [(f"u{n}", "salary nai", hindi_week, "hi", ["fallback"]) for n in range(5)]
        + [("u5", "Salary!!", hindi_week, "hi", ["fallback", "menu"])]  # one answer, 2 replies
        + [(f"u{n}", "visa problem hai", hindi_week, "hi", ["fallback"]) for n in range(3)]
        + [("u3", "VISA?", hindi_week, "hi", ["out_of_scope"])]
        + [("u4", "visa", hindi_week, "hi", ["out_of_scope"])]
        + [(f"u{n}", "passport lost", hindi_week, "hi", ["fallback"]) for n in range(4)]
        + [("u6", "call 9601234567 ahmed@mail.example", hindi_week, "hi", ["fallback"])]
        + [("u7", "salary", hindi_week, "hi", ["menu"])]  # understood: not a topic missed
        + [(f"u{n}", "khabar chai", bengali_week, "bn", ["food_relief"]) for n in range(4)]
        + [("u4", "khabar???", bengali_week, "bn", ["fallback"])]
        + [("u5", "salary", bengali_week, "bn", [])]  # not answered yet: not counted
        + [(f"x{n}", "salary", datetime(2026, 2, 27, tzinfo=UTC), "hi", ["fallback"])
           for n in range(6)]  # February
    )  # fmt: skip
    async with database.session() as session:
        for who in sorted({who for who, *_ in said}):
            place = "Male" if who in ("u0", "u1", "u2") else "Addu"
            session.add(Contact(id=who, channel="telegram", location=place))
        await session.flush()
        for n, (who, text, at, language, keys) in enumerate(said):
            message_id, _ = await repo.store_inbound(
                session, channel="telegram", platform_message_id=f"said-{n}", contact_id=who,
                text=text,
            )  # fmt: skip
            message = await session.get(InboundRecord, message_id)
            assert message is not None
            message.received_at = at
            for key in keys:
                await repo.add_outbound(
                    session, contact_id=who, channel="telegram", in_reply_to=message_id,
                    message_key=key, language=language, text="...", buttons=[],
                )  # fmt: skip


async def test_fallback_rate_per_language_per_week(database: Database) -> None:
    await seed_messages(database)
    async with database.session() as session:
        rate = await figures.fallback_rate(session, MARCH)
        in_male = await figures.fallback_rate(
            session, figures.Period(MARCH.start, MARCH.end, "Male")
        )
    # Hindi, week of 2 March: 17 answered (salary 6, visa 5, passport 4, the number 1, the
    # understood "salary" 1), 14 with the fallback (out of scope is understood, not missed).
    assert rate == {"hi": {date(2026, 3, 2): (14, 17)}, "bn": {date(2026, 3, 9): (1, 5)}}
    # Male: u0, u1, u2 each wrote salary, visa and passport (all fallback) and khabar.
    assert in_male == {"hi": {date(2026, 3, 2): (9, 9)}, "bn": {date(2026, 3, 9): (0, 3)}}


async def test_unhandled_topics_are_words_that_five_or_more_people_used(
    database: Database,
) -> None:
    await seed_messages(database)
    async with database.session() as session:
        topics = await figures.unhandled_topics(session, MARCH)
    # salary: 6 people; visa: 5 (3 fallback, 2 out of scope); passport and lost: only 4;
    # the phone number and the address are never words; February's 6 are outside the month.
    assert topics == [("salary", 6), ("visa", 5)]


async def seed_broadcasts(database: Database) -> None:
    """A March alert to 8 people: 5 sent (2 confirmed delivered), 2 failed, 1 skipped; 1 of
    those sent it left the topic within 7 days. A February broadcast must not count."""
    march_10 = datetime(2026, 3, 10, 8, tzinfo=UTC)
    async with database.session() as session:
        alert = Broadcast(title="Dengue: clean water containers", topic="health",
                          started_at=march_10)  # fmt: skip
        old = Broadcast(
            title="February", topic="health", started_at=datetime(2026, 2, 3, tzinfo=UTC)
        )
        session.add_all([alert, old])
        for n in range(8):
            session.add(
                Contact(id=f"b{n}", channel="whatsapp", location="Male" if n < 4 else None)
            )
        await session.flush()
        states = [LedgerState.SENT] * 5 + [LedgerState.FAILED, LedgerState.UNCERTAIN,
                                           LedgerState.SKIPPED]  # fmt: skip
        for n, state in enumerate(states):
            sent = march_10 if state == LedgerState.SENT else None
            session.add(
                BroadcastDelivery(
                    broadcast_id=alert.id, contact_id=f"b{n}", channel="whatsapp", language="en",
                    state=state, sent_at=sent,
                    delivered_at=march_10 + timedelta(minutes=1) if n < 2 else None,
                )
            )  # fmt: skip
            session.add(
                BroadcastDelivery(broadcast_id=old.id, contact_id=f"b{n}", channel="whatsapp",
                                  language="en", state=LedgerState.SENT)
            )  # fmt: skip
        for who, topic, active, at in [
            ("b0", "health", False, march_10 + 2 * DAY),  # left within 7 days: counts
            ("b1", "health", False, march_10 + 15 * DAY),  # left much later
            ("b2", "health", True, march_10 + DAY),  # still subscribed
            ("b3", "jobs", False, march_10 + DAY),  # left another topic
            ("b5", "health", False, march_10 + DAY),  # was never sent it
        ]:
            session.add(Subscription(contact_id=who, topic=topic, active=active, changed_at=at))


async def test_broadcast_reach(database: Database) -> None:
    await seed_broadcasts(database)
    async with database.session() as session:
        reach = await figures.broadcast_reach(session, MARCH)
        in_male = await figures.broadcast_reach(
            session, figures.Period(MARCH.start, MARCH.end, "Male")
        )
    assert [r["title"] for r in reach] == ["Dengue: clean water containers"]
    counts = {k: reach[0][k] for k in ("recipients", "sent", "delivered", "failed", "skipped",
                                       "unsubscribed_after")}  # fmt: skip
    assert counts == {"recipients": 8, "sent": 5, "delivered": 2, "failed": 2, "skipped": 1,
                      "unsubscribed_after": 1}  # fmt: skip
    assert (in_male[0]["recipients"], in_male[0]["sent"]) == (4, 4)
