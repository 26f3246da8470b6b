"""The delivery engine: queued outbound messages to Telegram and WhatsApp, and what the
platforms answer. Replies go before broadcasts; one person's messages go in order.

queued → sending → sent; a platform error decides what follows (docs/architecture.md):
- rate limited (Telegram 429, WhatsApp 130429/131056): queued again after `retry_after` (or a
  back-off); a limit on the whole channel pauses the channel, not only that person;
- blocked (403): the contact is marked unreachable and nothing more is sent to them;
- any other refusal (4xx): failed, with the platform's reason, never retried;
- network errors and 5xx: queued again with exponential back-off, up to MAX_ATTEMPTS;
- a process that dies mid-send leaves the message "uncertain": never resent automatically.
Nothing is lost: a message stays queued until it is sent or fails with a reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis.exceptions import RedisError

from bot import metrics
from bot.channels.base import Button
from bot.i18n import Renderer
from bot.rates import Pacer, take, until
from storage import repository as repo
from storage.crypto import AddressBox, AddressUnreadable
from storage.db import Database
from storage.models import Contact, OutboundRecord, OutboundStatus, utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 300.0
CONCURRENCY = 8


class DeliveryError(Exception):
    """A send that did not go through; `reason` is safe to store and show to staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(DeliveryError):
    def __init__(self, reason: str, retry_after: float | None, whole_channel: bool) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.whole_channel = whole_channel


class Unreachable(DeliveryError):
    """The person blocked Sahay, or cannot receive messages on this platform."""


class Rejected(DeliveryError):
    """The platform refused this message; sending it again would not help."""


class OutsideServiceWindow(Rejected):
    """WhatsApp: more than 24 hours since the person last wrote; only a template may go."""


class Transient(DeliveryError):
    """Network trouble or a platform outage: worth trying again later."""


@dataclass(frozen=True)
class Outgoing:
    """One message as a channel's sender needs it, address decrypted."""

    id: int
    address: str
    text: str
    language: str
    buttons: tuple[Button, ...] = ()
    numbered: bool = False
    template: Mapping[str, Any] | None = None
    media: Mapping[str, Any] | None = None
    last_inbound_at: datetime | None = None
    choose_label: str = "Choose"  # a WhatsApp list's button, in the person's language
    # Telegram: a broadcast may use paid broadcasting (up to 1000 messages/s, billed in Stars).
    paid_broadcast: bool = False


class Sender(Protocol):
    channel: str

    async def send(self, message: Outgoing) -> str:
        """Send; return the platform's id for the message, or raise a DeliveryError."""
        ...


def backoff(attempts: int) -> float:
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, attempts - 1)))


# When Redis (the shared pacer) is down, a reply is tried again this much later.
PACER_RETRY = timedelta(seconds=2)
# A reply's outcome as /metrics counts it.
OUTCOMES = {
    OutboundStatus.SENT: "sent",
    OutboundStatus.FAILED: "failed",
    OutboundStatus.QUEUED: "retry",  # rate-limited or a transient error: sent later
    OutboundStatus.SENDING: "sending",
    OutboundStatus.UNCERTAIN: "uncertain",
}


@dataclass
class DeliveryEngine:
    database: Database
    box: AddressBox
    renderer: Renderer
    senders: Mapping[str, Sender]
    # The platforms' pacers, shared with the broadcast lanes (bot/broadcasting.py).
    pacers: Mapping[str, Pacer] = field(default_factory=dict)
    _paused_until: dict[str, float] = field(default_factory=dict)
    _limit: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))

    @property
    def channels(self) -> list[str]:
        return list(self.senders)

    async def run_once(self, limit: int = 100) -> int:
        """Send what may be sent now (one message per person per pass). Returns sent."""
        if not self.senders:
            return 0
        async with self.database.session() as session:
            await repo.abandon_stale_sends(session)
            ready = await repo.deliverable(session, self._open_channels(), limit)
        results = await asyncio.gather(*(self._deliver(record) for record in ready))
        return sum(results)

    async def deliver_to(self, contact_id: str) -> int:
        """Send one person's queued messages now, in order (after their message was answered)."""
        sent = 0
        while True:
            async with self.database.session() as session:
                mine = await repo.deliverable(
                    session, self._open_channels(), limit=1, contact_id=contact_id
                )
            if not mine or not await self._deliver(mine[0]):
                return sent
            sent += 1

    def _open_channels(self) -> Sequence[str]:
        now = time.monotonic()
        return [c for c in self.senders if self._paused_until.get(c, 0) <= now]

    async def _deliver(self, record: OutboundRecord) -> bool:
        async with self.database.session() as session:
            if not await repo.claim_outbound(session, record.id):
                return False  # another process has it
            contact = await session.get(Contact, record.contact_id)
        async with self._limit:
            status, error, retry_at, platform_id = await self._send(record, contact)
        metrics.MESSAGES_OUT.labels(record.channel, OUTCOMES[status]).inc()
        async with self.database.session() as session:
            await repo.finish_outbound(
                session,
                record.id,
                status,
                platform_message_id=platform_id,
                error=error,
                next_attempt_at=retry_at,
            )
        return status is OutboundStatus.SENT

    async def _send(
        self, record: OutboundRecord, contact: Contact | None
    ) -> tuple[OutboundStatus, str | None, datetime | None, str | None]:
        """(status, error, retry at, platform id) for one claimed message."""
        failed = OutboundStatus.FAILED
        if contact is None or not contact.address:
            return failed, "no address for this contact", None, None
        if not contact.reachable:
            return failed, "the person blocked Sahay on this platform", None, None
        try:
            address = self.box.open(contact.address)
        except AddressUnreadable as exc:
            return failed, str(exc), None, None
        outgoing = Outgoing(
            id=record.id,
            address=address,
            text=record.text or "",
            language=record.language,
            buttons=tuple(Button(b["title"], b["payload"]) for b in record.buttons),
            numbered=record.numbered,
            template=record.template,
            media=record.media,
            last_inbound_at=contact.last_inbound_at,
            choose_label=self.renderer.text("button.choose", record.language),
        )
        pacer = self.pacers.get(record.channel)
        if pacer is not None:
            try:
                await until((await take(pacer))[0])
            except RedisError as exc:  # nothing was sent: it waits for the shared pacer
                logger.warning("Pacer unavailable (%s); reply waits", type(exc).__name__)
                return OutboundStatus.QUEUED, "pacer unavailable", utcnow() + PACER_RETRY, None
        try:
            platform_id = await self.senders[record.channel].send(outgoing)
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else backoff(record.attempts + 1)
            if exc.whole_channel:
                self._paused_until[record.channel] = time.monotonic() + wait
            logger.warning("%s rate limit: waiting %.0f s (%s)", record.channel, wait, exc.reason)
            return OutboundStatus.QUEUED, exc.reason, utcnow() + timedelta(seconds=wait), None
        except Unreachable as exc:
            async with self.database.session() as session:
                dropped = await repo.mark_unreachable(session, record.contact_id, exc.reason)
            logger.info("Contact unreachable on %s; %d queued dropped", record.channel, dropped)
            return failed, exc.reason, None, None
        except Rejected as exc:
            logger.warning("%s refused message %d: %s", record.channel, record.id, exc.reason)
            return failed, exc.reason, None, None
        except Transient as exc:
            if record.attempts + 1 >= MAX_ATTEMPTS:
                return (
                    failed,
                    f"gave up after {record.attempts + 1} attempts: {exc.reason}",
                    None,
                    None,
                )
            wait = backoff(record.attempts + 1)
            logger.warning(
                "%s send failed (%s); retry in %.0f s", record.channel, exc.reason, wait
            )
            return OutboundStatus.QUEUED, exc.reason, utcnow() + timedelta(seconds=wait), None
        return OutboundStatus.SENT, None, None, platform_id
