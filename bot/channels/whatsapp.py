"""WhatsApp Cloud API: the webhook, and sending with aiohttp.

Why not pywa: pywa 4.5 sets its Graph API base URL to graph.facebook.com itself
(tests could reach a local server only through a rewriting transport), and its webhook hands
updates to callbacks on its own schedule, while Sahay must store every message of a batch
under its unique key before answering 200 and order late status reports. What is left, a few
JSON shapes and one POST, is less code than adapting pywa to that.

- `GET /webhooks/whatsapp`: Meta's verification (hub.mode, hub.verify_token, hub.challenge).
- `POST /webhooks/whatsapp`: X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app
  secret) checked in constant time; every entry → change → message stored before the 200;
  statuses (sent, delivered, read, failed) recorded, a late one never overwriting a later one.
- Sending: text, reply buttons (up to 3), a list (up to 10 rows), templates with parameters,
  audio, image and document media. Outside the 24-hour customer-service window only a template
  goes out: free text is refused before it reaches the API.
WhatsApp types never leave this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.channels.base import InboundMessage, MessageIgnored
from bot.delivery import (
    Outgoing,
    OutsideServiceWindow,
    RateLimited,
    Rejected,
    Transient,
    Unreachable,
)
from bot.http_errors import errors, signed_json_body
from bot.pipeline import Pipeline
from bot.settings import Settings
from storage import ledger
from storage import repository as repo
from storage.models import DeliveryStatus, as_utc

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
SERVICE_WINDOW = timedelta(hours=24)
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
# Graph API error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
THROUGHPUT_LIMIT = 130429  # too many messages from this number
PAIR_RATE_LIMIT = 131056  # too many messages to this one person
RE_ENGAGEMENT = 131047  # more than 24 hours since the person wrote
UNDELIVERABLE = 131026  # not on WhatsApp, or cannot receive messages
MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")


# The webhook's JSON (only the fields Sahay reads; profile names are never read).


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WAMessage(_Model):
    id: str = Field(min_length=1, max_length=128)
    from_: str = Field(alias="from", pattern=r"^[0-9]{5,20}$")
    type: str
    text: dict[str, Any] | None = None
    interactive: dict[str, Any] | None = None
    button: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    video: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    sticker: dict[str, Any] | None = None
    group_id: str | None = None


class WAStatus(_Model):
    id: str = Field(min_length=1, max_length=128)
    status: str
    timestamp: str = "0"
    errors: list[dict[str, Any]] = Field(default_factory=list)


class WAValue(_Model):
    messages: list[dict[str, Any]] = Field(default_factory=list)
    statuses: list[dict[str, Any]] = Field(default_factory=list)


class WAChange(_Model):
    field: str
    value: WAValue


class WAEntry(_Model):
    changes: list[WAChange] = Field(default_factory=list)


class WAPayload(_Model):
    object: str
    entry: list[WAEntry]


def normalise(raw: Mapping[str, Any]) -> InboundMessage:
    """One webhook message as Sahay's; `MessageIgnored` for reactions and groups;
    `ValidationError` for a message without the fields every message has."""
    message = WAMessage.model_validate(raw)
    if message.group_id:
        raise MessageIgnored("a group message")
    if message.type == "reaction":
        raise MessageIgnored("a reaction")

    def inbound(
        text: str = "",
        media: str | None = None,
        meta: dict[str, Any] | None = None,
        location: tuple[float, float] | None = None,
    ) -> InboundMessage:
        return InboundMessage(
            CHANNEL, message.from_, message.id, text.strip()[:4096], media, meta, location
        )

    kind = message.type
    if kind == "text" and message.text:
        return inbound(str(message.text.get("body", "")))
    if kind == "interactive" and message.interactive:
        reply = message.interactive.get("button_reply") or message.interactive.get("list_reply")
        if reply and reply.get("id"):
            return inbound(str(reply["id"]))
    if kind == "button" and message.button:  # a template's quick-reply button
        return inbound(str(message.button.get("payload") or message.button.get("text") or ""))
    if kind == "location" and message.location:
        try:
            point = (float(message.location["latitude"]), float(message.location["longitude"]))
        except (KeyError, TypeError, ValueError):
            return inbound(media="unsupported")
        return inbound(location=point)
    if kind in MEDIA_KINDS:
        item: dict[str, Any] = getattr(message, kind) or {}
        media = "voice" if kind == "audio" and item.get("voice") else kind
        meta = {k: item[k] for k in ("mime_type",) if k in item}
        return inbound(str(item.get("caption", "")), media, meta or None)
    if kind == "contacts":
        return inbound(media="contact")  # someone else's number: only the kind is kept
    return inbound(media="unsupported")


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


router = APIRouter(tags=["whatsapp"])


@router.get(
    "/webhooks/whatsapp",
    response_model=None,
    responses={
        200: {
            "description": "The challenge, echoed.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(403, 404, 422),
    },
)
async def verify(
    request: Request,
    mode: str = Query("", alias="hub.mode", max_length=32),
    token: str = Query("", alias="hub.verify_token", max_length=256),
    challenge: str = Query("", alias="hub.challenge", max_length=256),
) -> PlainTextResponse:
    """Meta's subscription check: echo the challenge when the verify token matches."""
    settings: Settings = request.app.state.settings
    if not settings.whatsapp_enabled:
        raise HTTPException(404, "WhatsApp is not configured on this deployment.")
    expected = settings.whatsapp_verify_token.encode()
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), expected):
        raise HTTPException(403, "The verify token is wrong.")
    return PlainTextResponse(challenge)


@router.post(
    "/webhooks/whatsapp",
    responses=errors(400, 401, 403, 404),
    openapi_extra=signed_json_body(
        "A WhatsApp Cloud API webhook payload (messages and statuses).",
        SIGNATURE_HEADER,
        "sha256=HMAC of the body with the app secret.",
    ),
)
async def webhook(request: Request) -> dict[str, Any]:
    """Every message of the batch stored, every status recorded, then the 200."""
    settings: Settings = request.app.state.settings
    if not settings.whatsapp_enabled:
        raise HTTPException(404, "WhatsApp is not configured on this deployment.")
    header = request.headers.get(SIGNATURE_HEADER)
    if header is None:
        raise HTTPException(401, "The X-Hub-Signature-256 header is missing.")
    body = await request.body()
    if not signature_ok(settings.whatsapp_app_secret, body, header):
        raise HTTPException(403, "The signature does not match the body.")
    try:
        payload = WAPayload.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise HTTPException(400, "The body is not a WhatsApp webhook payload.") from exc
    pipeline: Pipeline = request.app.state.pipeline
    counts = {"messages": 0, "duplicates": 0, "ignored": 0, "invalid": 0, "statuses": 0}
    contacts: list[str] = []
    for entry in payload.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue
            for raw in change.value.messages:
                try:
                    message = normalise(raw)
                except MessageIgnored:
                    counts["ignored"] += 1
                    continue
                except ValidationError:
                    counts["invalid"] += 1
                    continue
                accepted = await pipeline.accept(message)
                counts["messages" if accepted.created else "duplicates"] += 1
                if accepted.contact_id not in contacts:
                    contacts.append(accepted.contact_id)
            for raw in change.value.statuses:
                counts["statuses"] += await _record_status(pipeline, raw)
    if counts["invalid"]:
        logger.warning("WhatsApp webhook: %d malformed messages skipped", counts["invalid"])
    for contact in contacts:
        request.app.state.gateway.schedule(contact)
    return {"ok": True, **counts}


async def _record_status(pipeline: Pipeline, raw: Mapping[str, Any]) -> int:
    try:
        status = WAStatus.model_validate(raw)
        state = DeliveryStatus(status.status)
        at = datetime.fromtimestamp(int(status.timestamp), UTC)
    except (ValidationError, ValueError):
        return 0
    error = None
    if status.errors:
        first = status.errors[0]
        error = f"WhatsApp {first.get('code')}: {first.get('title') or first.get('message')}"
    async with pipeline.database.session() as session:
        recorded = await repo.record_delivery_status(session, CHANNEL, status.id, state, at, error)
        if not recorded and state is not DeliveryStatus.SENT:  # a broadcast message, maybe
            delivered = state is not DeliveryStatus.FAILED
            recorded = await ledger.record_receipt(
                session, CHANNEL, status.id, delivered, at, error
            )
    return int(recorded)


# Sending


def within_window(last_inbound_at: datetime | None, now: datetime | None = None) -> bool:
    if last_inbound_at is None:
        return False
    return (now or datetime.now(UTC)) - as_utc(last_inbound_at) < SERVICE_WINDOW


def build_payload(message: Outgoing) -> dict[str, Any]:
    """The Graph API JSON for one message (without the window check)."""
    base: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.address,
    }
    if message.template is not None:
        template = message.template
        parameters = [{"type": "text", "text": str(p)} for p in template.get("parameters", [])]
        body: dict[str, Any] = {
            "name": template["name"],
            "language": {"code": template.get("language", message.language)},
        }
        if parameters:
            body["components"] = [{"type": "body", "parameters": parameters}]
        return base | {"type": "template", "template": body}
    if message.media is not None:
        kind = message.media["kind"]
        source = {"link": message.media["url"]} if "url" in message.media else {}
        if "id" in message.media:
            source = {"id": message.media["id"]}
        if kind != "audio" and message.text:
            source["caption"] = message.text[:1024]
        return base | {"type": kind, kind: source}
    buttons = message.buttons if not message.numbered else ()
    if 0 < len(buttons) <= MAX_REPLY_BUTTONS and len(message.text) <= 1024:
        return base | {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": message.text},
                "action": {
                    "buttons": [
                        {
                            "type": "reply",
                            "reply": {"id": b.payload[:256], "title": _cut(b.title, 20)},
                        }
                        for b in buttons
                    ]
                },
            },
        }
    if 0 < len(buttons) <= MAX_LIST_ROWS:
        rows = []
        for b in buttons:
            row = {"id": b.payload[:200], "title": _cut(b.title, 24)}
            if len(b.title) > 24:
                row["description"] = _cut(b.title, 72)
            rows.append(row)
        return base | {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": message.text[:4096]},
                "action": {
                    "button": _cut(message.choose_label, 20),
                    "sections": [{"title": _cut(message.choose_label, 24), "rows": rows}],
                },
            },
        }
    return base | {"type": "text", "text": {"body": message.text[:4096], "preview_url": False}}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class WhatsAppSender:
    """Sends through the Cloud API on its own aiohttp session (opened on first use, closed by
    `close`): at broadcast rates httpx cost most of a worker's CPU (benchmarks/README.md)."""

    channel = CHANNEL

    def __init__(self, settings: Settings, pool_size: int = 128) -> None:
        base = settings.whatsapp_api_base_url.rstrip("/")
        self.url = f"{base}/{settings.whatsapp_api_version}/{settings.whatsapp_phone_number_id}"
        self.headers = {"Authorization": f"Bearer {settings.whatsapp_token}"}
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: Outgoing) -> str:
        if message.template is None and not within_window(message.last_inbound_at):
            raise OutsideServiceWindow(
                "outside WhatsApp's 24-hour window: only an approved template can be sent"
            )
        if message.media is not None and message.media.get("kind") == "audio" and message.text:
            # Audio takes no caption: its text goes first, as its own message.
            text_only = dataclasses.replace(message, media=None, buttons=(), template=None)
            await self._post(build_payload(text_only))
        return await self._post(build_payload(message))

    async def _post(self, payload: dict[str, Any]) -> str:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector, headers=self.headers)
        try:
            async with self._session.post(
                f"{self.url}/messages", json=payload, timeout=aiohttp.ClientTimeout(total=20)
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Transient(f"WhatsApp: {type(exc).__name__}") from exc
        if status == 200:
            try:
                return str(json.loads(body)["messages"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise Transient("WhatsApp: an unexpected answer to a send") from exc
        raise _error(status, body)


def _error(status: int, body: bytes) -> Exception:
    try:
        error = json.loads(body).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code")
    reason = f"WhatsApp {status}/{code}: {error.get('message', '')}"[:300]
    if code == THROUGHPUT_LIMIT or (status == 429 and code != PAIR_RATE_LIMIT):
        return RateLimited(reason, None, whole_channel=True)
    if code == PAIR_RATE_LIMIT:
        return RateLimited(reason, None, whole_channel=False)
    if code == RE_ENGAGEMENT:
        return OutsideServiceWindow(reason)
    if code == UNDELIVERABLE:  # a 403 is the token's permissions, not the person
        return Unreachable(reason)
    if status >= 500:
        return Transient(reason)
    return Rejected(reason)
