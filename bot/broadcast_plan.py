"""What becomes of one claimed ledger row (pure functions): the message to send, or why it is
not sent; and, once the platform answered, its outcome (a rate limit or a network error is
retried later, up to MAX_ATTEMPTS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.channels import whatsapp
from bot.delivery import DeliveryError, Outgoing, RateLimited, Transient, backoff
from storage import ledger
from storage.broadcast_models import Broadcast, BroadcastVariant, LedgerState
from storage.models import utcnow

MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class Recipient:
    address: str | None  # decrypted; None when it cannot be read
    reachable: bool
    subscribed: bool
    last_inbound_at: datetime | None


def plan_row(
    row: ledger.Claimed,
    recipient: Recipient | None,
    variant: BroadcastVariant | None,
    broadcast: Broadcast,
    paid: bool,
    now: datetime,
) -> Outgoing | ledger.Outcome:
    """The message to send, or why it is not sent."""

    def skip(reason: str) -> ledger.Outcome:
        return ledger.Outcome(row.id, LedgerState.SKIPPED, error=reason)

    if recipient is None or not recipient.subscribed:
        return skip("unsubscribed before it was sent")
    if not recipient.reachable:
        return skip("unreachable: the person blocked Sahay")
    if recipient.address is None:
        return ledger.Outcome(row.id, LedgerState.FAILED, error="address unreadable")
    if variant is None:
        return skip("no text in this language any more")
    template = None
    if needs_template(row.channel, recipient.last_inbound_at, now):
        if not broadcast.whatsapp_template:
            return skip("outside WhatsApp's 24-hour window and no approved template")
        template = dict(broadcast.whatsapp_template)
    return Outgoing(
        id=row.id,
        address=recipient.address,
        text=variant.text,
        language=variant.language,
        template=template,
        media=media_of(variant),
        last_inbound_at=recipient.last_inbound_at,
        paid_broadcast=paid,
    )


def needs_template(channel: str, last_inbound_at: datetime | None, now: datetime) -> bool:
    """WhatsApp outside its 24-hour window: only an approved template may go."""
    return channel == whatsapp.CHANNEL and not whatsapp.within_window(last_inbound_at, now)


def media_of(variant: BroadcastVariant) -> dict[str, str] | None:
    if not variant.media_url:
        return None
    return {"kind": variant.media_kind or "", "url": variant.media_url}


def outcome_of(row: ledger.Claimed, error: DeliveryError | None, sent_id: str) -> ledger.Outcome:
    if error is None:
        return ledger.Outcome(row.id, LedgerState.SENT, platform_message_id=sent_id)
    if isinstance(error, RateLimited | Transient) and row.attempts < MAX_ATTEMPTS:
        wait = getattr(error, "retry_after", None) or backoff(row.attempts)
        retry = utcnow() + timedelta(seconds=wait)
        return ledger.Outcome(row.id, LedgerState.PENDING, error=error.reason, retry_at=retry)
    return ledger.Outcome(row.id, LedgerState.FAILED, error=error.reason)
