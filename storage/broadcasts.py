"""Broadcasts before they are sent: writing the variants, the four-eyes review and approval,
the audience and its preview, and turning an approved broadcast into its delivery ledger.

Rules (strict by default, an admin may relax them per deployment):
- each language variant is reviewed by someone other than its author;
- the broadcast is approved by someone other than its author, once every variant is reviewed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import (
    ALL_TOPICS,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    BroadcastVariant,
    LedgerState,
    Subscription,
)
from storage.models import Contact, StaffUser, utcnow
from storage.repository import get_state, insert_for, set_state

RULES_KEY = "broadcast.rules"
TOPICS = ("weather", "health", "vaccination", "safety", "general")
WHATSAPP_WINDOW = timedelta(hours=24)


class BroadcastError(ValueError):
    """Something the rules do not allow; the message says what and why."""


@dataclass(frozen=True)
class Rules:
    review_by_another: bool = True
    approval_by_another: bool = True


async def rules(session: AsyncSession) -> Rules:
    stored = await get_state(session, RULES_KEY)
    return Rules(**json.loads(stored)) if stored else Rules()


async def set_rules(session: AsyncSession, new: Rules) -> None:
    await set_state(session, RULES_KEY, json.dumps(asdict(new)))


async def variants(session: AsyncSession, broadcast_id: int) -> list[BroadcastVariant]:
    query = select(BroadcastVariant).where(BroadcastVariant.broadcast_id == broadcast_id)
    return list((await session.scalars(query.order_by(BroadcastVariant.language))).all())


def _editable(broadcast: Broadcast) -> None:
    if broadcast.status is not BroadcastStatus.DRAFT:
        raise BroadcastError("only a draft can be changed; this one is " + broadcast.status)


async def write_variant(
    session: AsyncSession,
    broadcast: Broadcast,
    language: str,
    text: str,
    author: StaffUser,
    *,
    machine_drafted: bool = False,
    media_kind: str | None = None,
    media_url: str | None = None,
) -> BroadcastVariant:
    """Write (or rewrite) one language's text. A changed text needs a new review."""
    _editable(broadcast)
    if not text.strip() and not media_url:
        raise BroadcastError("a variant needs a text or a recording")
    found = await session.scalar(
        select(BroadcastVariant).where(
            BroadcastVariant.broadcast_id == broadcast.id, BroadcastVariant.language == language
        )
    )
    if found is None:
        found = BroadcastVariant(broadcast_id=broadcast.id, language=language, text="")
        session.add(found)
    if (found.text, found.media_url) != (text.strip(), media_url):
        found.reviewed_by = found.reviewed_at = None
    found.text, found.author_id, found.machine_drafted = text.strip(), author.id, machine_drafted
    found.media_kind, found.media_url = media_kind, media_url
    await session.flush()
    return found


async def review(session: AsyncSession, variant: BroadcastVariant, reviewer: StaffUser) -> None:
    broadcast = await session.get(Broadcast, variant.broadcast_id)
    assert broadcast is not None  # noqa: S101 - a variant always has its broadcast
    _editable(broadcast)
    if variant.author_id == reviewer.id and (await rules(session)).review_by_another:
        raise BroadcastError("a variant is reviewed by someone other than its author")
    variant.reviewed_by, variant.reviewed_at = reviewer.id, utcnow()
    # A reviewed machine draft is a person's text now.
    variant.machine_drafted = False


async def approve(session: AsyncSession, broadcast: Broadcast, approver: StaffUser) -> None:
    _editable(broadcast)
    found = await variants(session, broadcast.id)
    if not found:
        raise BroadcastError("the broadcast has no text in any language yet")
    unreviewed = [v.language for v in found if v.reviewed_by is None]
    if unreviewed:
        raise BroadcastError("not reviewed yet: " + ", ".join(unreviewed))
    if broadcast.author_id == approver.id and (await rules(session)).approval_by_another:
        raise BroadcastError("a broadcast is approved by someone other than its author")
    broadcast.status, broadcast.approved_by, broadcast.approved_at = (
        BroadcastStatus.APPROVED,
        approver.id,
        utcnow(),
    )


def audience_query(broadcast: Broadcast, languages: set[str]) -> Select[Any]:
    """(contact id, channel, the variant language they get, WhatsApp window open) for
    every subscribed, reachable contact the filters select. Contacts whose language has no
    variant get the fallback language, or None (left out)."""
    wanted = broadcast.audience or {}
    fallback = broadcast.fallback_language if broadcast.fallback_language in languages else None
    variant_language = case(
        (Contact.language.in_(sorted(languages)), Contact.language), else_=literal(fallback)
    )
    now = utcnow()
    window_open = and_(
        Contact.last_inbound_at.is_not(None), Contact.last_inbound_at > now - WHATSAPP_WINDOW
    )
    subscribed = (
        select(Subscription.contact_id)
        .where(
            Subscription.active.is_(True),
            Subscription.topic.in_((broadcast.topic, ALL_TOPICS)),
        )
        .distinct()
    )
    query = select(
        Contact.id, Contact.channel, variant_language.label("language"), window_open
    ).where(Contact.id.in_(subscribed), Contact.reachable.is_(True))
    if wanted.get("languages"):
        query = query.where(Contact.language.in_(wanted["languages"]))
    if wanted.get("locations"):
        query = query.where(Contact.location.in_(wanted["locations"]))
    if wanted.get("channels"):
        query = query.where(Contact.channel.in_(wanted["channels"]))
    if wanted.get("seen_within_days"):
        since = now - timedelta(days=int(wanted["seen_within_days"]))
        query = query.where(Contact.last_seen_at >= since)
    return query


@dataclass(frozen=True)
class Preview:
    """Who gets what: (variant language, channel) → count; and who is left out, and why."""

    groups: dict[tuple[str, str], int]
    fallback: int  # got the fallback language's variant
    excluded_no_variant: int
    whatsapp_template: int  # outside the 24-hour window: the approved template
    whatsapp_skipped: int  # outside the window and no template

    @property
    def total(self) -> int:
        return sum(self.groups.values())


async def preview(session: AsyncSession, broadcast: Broadcast) -> Preview:
    languages = {v.language for v in await variants(session, broadcast.id)}
    rows = (await session.execute(audience_query(broadcast, languages))).all()
    groups: Counter[tuple[str, str]] = Counter()
    fallback = excluded = template = skipped = 0
    own = await _own_languages(session, [r[0] for r in rows])
    for contact_id, channel, language, window_open in rows:
        if language is None:
            excluded += 1
            continue
        if channel == "whatsapp" and not window_open:
            if broadcast.whatsapp_template:
                template += 1
            else:
                skipped += 1
                continue
        if own.get(contact_id) != language:
            fallback += 1
        groups[(language, channel)] += 1
    return Preview(dict(sorted(groups.items())), fallback, excluded, template, skipped)


async def _own_languages(session: AsyncSession, contact_ids: list[str]) -> dict[str, str | None]:
    if not contact_ids:
        return {}
    query = select(Contact.id, Contact.language).where(Contact.id.in_(contact_ids))
    return {cid: language for cid, language in (await session.execute(query)).all()}


async def start(session: AsyncSession, broadcast: Broadcast) -> int:
    """Approved → sending: one ledger row per recipient (a second start adds nobody twice).
    Returns the number of rows written."""
    if broadcast.status not in (BroadcastStatus.APPROVED, BroadcastStatus.SCHEDULED):
        raise BroadcastError(
            "only an approved broadcast can be sent; this one is " + broadcast.status
        )
    languages = {v.language for v in await variants(session, broadcast.id)}
    audience = audience_query(broadcast, languages).subquery()
    rows = select(
        literal(broadcast.id),
        audience.c.id,
        audience.c.channel,
        audience.c.language,
        literal(LedgerState.PENDING.value),
        literal(0),
    ).where(audience.c.language.is_not(None))
    columns = ["broadcast_id", "contact_id", "channel", "language", "state", "attempts"]
    statement = (
        insert_for(session, BroadcastDelivery).from_select(columns, rows).on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    broadcast.status, broadcast.started_at = (
        BroadcastStatus.SENDING,
        broadcast.started_at or utcnow(),
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_by_state(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    query = (
        select(BroadcastDelivery.state, func.count())
        .where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(BroadcastDelivery.state)
    )
    return {str(state): int(n) for state, n in (await session.execute(query)).all()}


async def schedule(session: AsyncSession, broadcast: Broadcast, at: datetime) -> None:
    if broadcast.status is not BroadcastStatus.APPROVED:
        raise BroadcastError("only an approved broadcast can be scheduled")
    broadcast.status, broadcast.scheduled_at = BroadcastStatus.SCHEDULED, at


async def start_due(session: AsyncSession) -> list[int]:
    """Scheduled broadcasts whose time has come start (the worker asks every second)."""
    due = (
        await session.scalars(
            select(Broadcast).where(
                Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= utcnow()
            )
        )
    ).all()
    for broadcast in due:
        await start(session, broadcast)
    return [b.id for b in due]


async def pause(session: AsyncSession, broadcast: Broadcast) -> None:
    """No new sends; what a worker already holds goes out (at most its batch)."""
    if broadcast.status is not BroadcastStatus.SENDING:
        raise BroadcastError("only a broadcast being sent can be paused")
    broadcast.status = BroadcastStatus.PAUSED


async def resume(session: AsyncSession, broadcast: Broadcast) -> None:
    if broadcast.status is not BroadcastStatus.PAUSED:
        raise BroadcastError("only a paused broadcast can be resumed")
    broadcast.status = BroadcastStatus.SENDING


async def cancel(session: AsyncSession, broadcast: Broadcast) -> int:
    """Stop for good: nobody not yet sent to gets it. Returns the rows left unsent."""
    if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        raise BroadcastError("this broadcast is already " + broadcast.status)
    broadcast.status, broadcast.finished_at = BroadcastStatus.CANCELLED, utcnow()
    result = await session.execute(
        update(BroadcastDelivery)
        .where(
            BroadcastDelivery.broadcast_id == broadcast.id,
            BroadcastDelivery.state == LedgerState.PENDING,
        )
        .values(state=LedgerState.SKIPPED, error="the broadcast was cancelled")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
