"""Who wants alerts about what. Subscribing in the chat (or START) means every topic; STOP
ends them all. Nobody without an active subscription is ever sent a broadcast."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import ALL_TOPICS, Subscription
from storage.models import utcnow
from storage.repository import insert_for


async def subscribe(session: AsyncSession, contact_id: str, topic: str = ALL_TOPICS) -> None:
    now = utcnow()
    await session.execute(
        insert_for(session, Subscription)
        .values(contact_id=contact_id, topic=topic, active=True, changed_at=now)
        .on_conflict_do_update(
            index_elements=["contact_id", "topic"], set_={"active": True, "changed_at": now}
        )
    )


async def unsubscribe(session: AsyncSession, contact_id: str) -> int:
    """Every topic off. Returns how many subscriptions ended."""
    result = await session.execute(
        update(Subscription)
        .where(Subscription.contact_id == contact_id, Subscription.active.is_(True))
        .values(active=False, changed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
