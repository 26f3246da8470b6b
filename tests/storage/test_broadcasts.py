"""Broadcasts before sending: four-eyes review and approval (strict by default, relaxable),
and the audience preview — who gets which language on which channel, and who is left out and
why. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import broadcasts, subscriptions
from storage import repository as repo
from storage.broadcast_models import Broadcast, BroadcastStatus
from storage.db import Database
from storage.models import StaffRole, StaffUser, utcnow
from storage.staff import create_user


async def _staff(database: Database) -> tuple[StaffUser, StaffUser]:
    async with database.session() as session:
        author = await create_user(session, "author@sahay.test", "a" * 12, StaffRole.STAFF)
        other = await create_user(session, "other@sahay.test", "b" * 12, StaffRole.STAFF)
    return author, other


async def _draft(database: Database, author: StaffUser, **fields: object) -> int:
    async with database.session() as session:
        broadcast = Broadcast(title="Measles drive", topic="vaccination", author_id=author.id)
        for name, value in fields.items():
            setattr(broadcast, name, value)
        session.add(broadcast)
        await session.flush()
        return broadcast.id


async def test_nobody_reviews_or_approves_their_own_broadcast(database: Database) -> None:
    author, other = await _staff(database)
    broadcast_id = await _draft(database, author)
    async with database.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        with pytest.raises(broadcasts.BroadcastError, match="no text"):
            await broadcasts.approve(session, broadcast, other)
        en = await broadcasts.write_variant(
            session, broadcast, "en", "Measles shots Friday", author
        )
        with pytest.raises(broadcasts.BroadcastError, match="other than its author"):
            await broadcasts.review(session, en, author)
        await broadcasts.review(session, en, other)
        ne = await broadcasts.write_variant(
            session, broadcast, "ne", "शुक्रबार दादुराको खोप", author, machine_drafted=True
        )
        with pytest.raises(broadcasts.BroadcastError, match="not reviewed yet: ne"):
            await broadcasts.approve(session, broadcast, other)
        await broadcasts.review(session, ne, other)
        assert ne.machine_drafted is False  # reviewed: a person's text now
        # A changed text needs its review again.
        await broadcasts.write_variant(session, broadcast, "en", "Measles shots Saturday", author)
        with pytest.raises(broadcasts.BroadcastError, match="not reviewed yet: en"):
            await broadcasts.approve(session, broadcast, other)
        await broadcasts.review(session, en, other)
        with pytest.raises(broadcasts.BroadcastError, match="approved by someone other"):
            await broadcasts.approve(session, broadcast, author)
        await broadcasts.approve(session, broadcast, other)
        assert broadcast.status is BroadcastStatus.APPROVED
        with pytest.raises(broadcasts.BroadcastError, match="only a draft"):
            await broadcasts.write_variant(session, broadcast, "en", "changed after", author)


async def test_an_admin_can_relax_the_rules_for_a_small_team(database: Database) -> None:
    author, _other = await _staff(database)
    broadcast_id = await _draft(database, author)
    async with database.session() as session:
        assert await broadcasts.rules(session) == broadcasts.Rules()  # strict by default
        await broadcasts.set_rules(session, broadcasts.Rules(False, False))
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        en = await broadcasts.write_variant(session, broadcast, "en", "Clinic open", author)
        await broadcasts.review(session, en, author)
        await broadcasts.approve(session, broadcast, author)
        assert broadcast.status is BroadcastStatus.APPROVED


async def _contact(
    database: Database,
    cid: str,
    channel: str,
    language: str,
    location: str = "Male",
    wrote_hours_ago: float = 1,
    seen_days_ago: float = 0,
    topic: str | None = "all",
) -> None:
    async with database.session() as session:
        await repo.touch_contact(session, cid, channel, "sealed")
        await repo.update_contact(
            session,
            cid,
            language=language,
            location=location,
            last_inbound_at=utcnow() - timedelta(hours=wrote_hours_ago),
            last_seen_at=utcnow() - timedelta(days=seen_days_ago),
        )
        if topic:
            await subscriptions.subscribe(session, cid, topic)


async def test_the_preview_says_who_gets_what_and_who_is_left_out(database: Database) -> None:
    author, other = await _staff(database)
    await _contact(database, "t-en", "telegram", "en")
    await _contact(database, "t-bn", "telegram", "bn", topic="vaccination")
    await _contact(database, "w-bn", "whatsapp", "bn")
    await _contact(database, "w-old", "whatsapp", "bn", wrote_hours_ago=30)  # window closed
    await _contact(database, "t-ta", "telegram", "ta")  # no Tamil variant
    await _contact(database, "t-si", "telegram", "si", location="Addu")
    await _contact(database, "t-weather", "telegram", "en", topic="weather")  # other topic
    await _contact(database, "t-none", "telegram", "en", topic=None)  # never subscribed
    broadcast_id = await _draft(database, author)
    async with database.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        for language in ("en", "bn"):
            await broadcasts.write_variant(session, broadcast, language, "Measles", author)
        strict = await broadcasts.preview(session, broadcast)
        assert strict.groups == {
            ("bn", "telegram"): 1,
            ("bn", "whatsapp"): 1,
            ("en", "telegram"): 1,
        }
        assert (strict.excluded_no_variant, strict.whatsapp_skipped) == (2, 1)
        # With English as the fallback, the Tamil and Sinhala speakers get English; with a
        # template the closed WhatsApp window gets it too; a location filter narrows it.
        broadcast.fallback_language = "en"
        broadcast.whatsapp_template = {"name": "vaccination_day", "language": "bn"}
        loose = await broadcasts.preview(session, broadcast)
        assert loose.groups == {
            ("bn", "telegram"): 1,
            ("bn", "whatsapp"): 2,
            ("en", "telegram"): 3,
        }
        assert (loose.fallback, loose.excluded_no_variant, loose.whatsapp_template) == (2, 0, 1)
        broadcast.audience = {"locations": ["Addu"]}
        assert (await broadcasts.preview(session, broadcast)).groups == {("en", "telegram"): 1}
        broadcast.audience = {"channels": ["whatsapp"], "languages": ["bn"]}
        assert (await broadcasts.preview(session, broadcast)).total == 2
        await broadcasts.review(
            session, (await broadcasts.variants(session, broadcast_id))[0], other
        )
        await broadcasts.review(
            session, (await broadcasts.variants(session, broadcast_id))[1], other
        )
        await broadcasts.approve(session, broadcast, other)
        assert await broadcasts.start(session, broadcast) == 2


async def test_schedule_pause_resume_and_cancel(database: Database) -> None:
    author, other = await _staff(database)
    for n in range(4):
        await _contact(database, f"p{n}", "telegram", "en")
    broadcast_id = await _draft(database, author)
    async with database.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        en = await broadcasts.write_variant(session, broadcast, "en", "Shelter open", author)
        await broadcasts.review(session, en, other)
        with pytest.raises(broadcasts.BroadcastError, match="only an approved"):
            await broadcasts.schedule(session, broadcast, utcnow())
        await broadcasts.approve(session, broadcast, other)
        await broadcasts.schedule(session, broadcast, utcnow() + timedelta(minutes=5))
        assert await broadcasts.start_due(session) == []  # not yet
        broadcast.scheduled_at = utcnow() - timedelta(seconds=1)
        assert await broadcasts.start_due(session) == [broadcast_id]
        assert broadcast.status is BroadcastStatus.SENDING
        await broadcasts.pause(session, broadcast)
        with pytest.raises(broadcasts.BroadcastError, match="only a broadcast being sent"):
            await broadcasts.pause(session, broadcast)
        await broadcasts.resume(session, broadcast)
        assert broadcast.status is BroadcastStatus.SENDING
        assert await broadcasts.cancel(session, broadcast) == 4
        assert await broadcasts.count_by_state(session, broadcast_id) == {"skipped": 4}
        with pytest.raises(broadcasts.BroadcastError, match="already cancelled"):
            await broadcasts.cancel(session, broadcast)
