"""WhatsApp Cloud API end to end against a local Graph API server: verification, signatures,
batched payloads, status order, every kind of message Sahay sends, the 24-hour window and
WhatsApp's errors."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import whatsapp
from bot.channels.base import Button
from bot.delivery import DeliveryEngine, Outgoing, OutsideServiceWindow
from bot.i18n import Renderer, load_catalogues
from storage import ledger
from storage import repository as repo
from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastStatus, LedgerState
from storage.models import (
    Contact,
    DeliveryStatus,
    InboundRecord,
    OutboundRecord,
    OutboundStatus,
    utcnow,
)
from tests.channels.conftest import APP_SECRET, VERIFY_TOKEN, Channels
from tests.fakes import eventually, whatsapp_payload, whatsapp_text

RENDERER = Renderer(load_catalogues())
NUMBER = "9607000001"


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {whatsapp.SIGNATURE_HEADER: f"sha256={digest}", "content-type": "application/json"}


async def post(channels: Channels, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload).encode()
    response = await channels.client.post("/webhooks/whatsapp", content=body, headers=signed(body))
    await channels.settled()
    return response


async def count(channels: Channels, model: Any) -> int:
    async with channels.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def outgoing(text: str, **fields: Any) -> Outgoing:
    """A message for NUMBER, who wrote a moment ago (inside the 24-hour window)."""
    values: dict[str, Any] = {"address": NUMBER, "language": "en", "last_inbound_at": utcnow()}
    return Outgoing(id=1, text=text, **(values | fields))


async def start_in_english(channels: Channels, wamid: str) -> None:
    """A person who chose English and got the confirmation (one message sent)."""
    await post(channels, whatsapp_payload([whatsapp_text(wamid, "sahay:lang:en")]))
    await eventually(lambda: len(channels.whatsapp.sent) == 1)


async def queue_reply(
    session: AsyncSession,
    contact: str,
    text: str,
    buttons: list[dict[str, Any]] | None = None,
    numbered: bool = False,
) -> None:
    """A message queued for the person, as a caseworker's reply or a broadcast would be."""
    await repo.add_outbound(
        session,
        contact_id=contact,
        channel="whatsapp",
        in_reply_to=None,
        message_key="test",
        language="en",
        text=text,
        buttons=buttons or [],
        numbered=numbered,
    )


@pytest.fixture
async def sender(channels: Channels) -> AsyncIterator[whatsapp.WhatsAppSender]:
    """A sender of its own (its aiohttp session closed after the test)."""
    own = whatsapp.WhatsAppSender(channels.settings)
    yield own
    await own.close()


def engine_of(channels: Channels) -> DeliveryEngine:
    engine: DeliveryEngine = channels.client._transport.app.state.gateway.engine  # type: ignore[attr-defined]
    return engine


async def test_verification_echoes_the_challenge_only_for_the_right_token(
    channels: Channels,
) -> None:
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = await channels.client.get("/webhooks/whatsapp", params=good)
    assert (response.status_code, response.text) == (200, "1158201444")
    wrong = good | {"hub.verify_token": "guess"}
    assert (await channels.client.get("/webhooks/whatsapp", params=wrong)).status_code == 403


async def test_tampered_or_unsigned_webhooks_are_rejected_and_nothing_is_stored(
    channels: Channels,
) -> None:
    body = json.dumps(whatsapp_payload([whatsapp_text("wamid.A1", "salary nai")])).encode()
    headers = signed(body)
    unsigned = await channels.client.post(
        "/webhooks/whatsapp", content=body, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 401
    wrong_key = await channels.client.post(
        "/webhooks/whatsapp", content=body, headers=signed(body, "another-secret")
    )
    assert wrong_key.status_code == 403
    one_byte = body.replace(b"salary nai", b"salary naj")
    changed = await channels.client.post("/webhooks/whatsapp", content=one_byte, headers=headers)
    assert changed.status_code == 403
    assert await count(channels, InboundRecord) == 0
    assert channels.whatsapp.sent == []


async def test_every_message_of_a_batched_payload_is_stored_and_answered(
    channels: Channels,
) -> None:
    voice = {
        "from": "9607000002",
        "id": "wamid.B2",
        "timestamp": "1764600001",
        "type": "audio",
        "audio": {"mime_type": "audio/ogg; codecs=opus", "id": "1234", "voice": True},
    }
    reaction = {
        "from": NUMBER,
        "id": "wamid.B3",
        "timestamp": "1764600002",
        "type": "reaction",
        "reaction": {"message_id": "wamid.B1", "emoji": "👍"},
    }
    broken = {"id": "wamid.B4", "type": "text", "text": {"body": "no sender"}}
    group = whatsapp_text("wamid.B6", "hello group", sender="9607000004") | {"group_id": "G1"}
    payload = whatsapp_payload([whatsapp_text("wamid.B1", "hi"), voice, reaction, broken, group])
    second = whatsapp_payload([whatsapp_text("wamid.B5", "hello", sender="9607000003")])
    payload["entry"].append(second["entry"][0])
    response = await post(channels, payload)
    assert response.status_code == 200
    assert response.json() | {"ok": True} == {
        "ok": True,
        "messages": 3,
        "duplicates": 0,
        "ignored": 2,
        "invalid": 1,
        "statuses": 0,
    }
    async with channels.database.session() as session:
        stored = (await session.scalars(select(InboundRecord).order_by(InboundRecord.id))).all()
    assert [(r.platform_message_id, r.media_kind) for r in stored] == [
        ("wamid.B1", None),
        ("wamid.B2", "voice"),
        ("wamid.B5", None),
    ]
    assert stored[1].media_meta == {"mime_type": "audio/ogg; codecs=opus"}
    # All three people get their answer (Rasa is down here: the apology, then the picker).
    await eventually(
        lambda: {m["to"] for m in channels.whatsapp.sent} == {NUMBER, "9607000002", "9607000003"}
    )
    # The same batch again (WhatsApp retries): nothing new.
    again = await post(channels, payload)
    assert again.json()["duplicates"] == 3
    assert await count(channels, InboundRecord) == 3


async def test_buttons_become_reply_buttons_or_a_list(channels: Channels) -> None:
    await post(channels, whatsapp_payload([whatsapp_text("wamid.C1", "sahay:lang:hi")]))
    await eventually(lambda: len(channels.whatsapp.sent) == 1)
    [confirmation] = channels.whatsapp.sent
    assert confirmation["type"] == "interactive"
    assert confirmation["interactive"]["type"] == "button"
    assert confirmation["interactive"]["body"]["text"] == RENDERER.text("language_set", "hi")
    [button] = confirmation["interactive"]["action"]["buttons"]
    assert button["reply"] == {"id": "/ask_menu", "title": RENDERER.text("button.menu", "hi")}
    # A voice note from a new person: the reply, then the 8-language picker as a list.
    voice = {
        "from": "9607000009",
        "id": "wamid.C2",
        "timestamp": "1764600001",
        "type": "audio",
        "audio": {"id": "77", "mime_type": "audio/ogg", "voice": True},
    }
    await post(channels, whatsapp_payload([voice]))
    await eventually(lambda: len(channels.whatsapp.sent) == 3)
    picker = channels.whatsapp.sent[2]["interactive"]
    assert picker["type"] == "list"
    rows = picker["action"]["sections"][0]["rows"]
    assert len(rows) == 8
    assert rows[0] == {"id": "sahay:lang:en", "title": "English"}
    assert picker["action"]["button"] == RENDERER.text("button.choose", "en")


async def test_a_list_reply_is_understood_as_its_option(channels: Channels) -> None:
    reply = {
        "from": NUMBER,
        "id": "wamid.D1",
        "timestamp": "1764600000",
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": "sahay:lang:ta", "title": "தமிழ்"},
        },
    }
    await post(channels, whatsapp_payload([reply]))
    await eventually(lambda: len(channels.whatsapp.sent) == 1)
    body = channels.whatsapp.sent[0]["interactive"]["body"]["text"]
    assert body == RENDERER.text("language_set", "ta")


async def test_more_options_than_a_list_holds_become_numbers_and_a_number_picks(
    channels: Channels,
) -> None:
    await start_in_english(channels, "wamid.E1")
    async with channels.database.session() as session:
        contact = (await session.scalars(select(Contact))).one()
        options = [
            {"title": f"Option {i}", "payload": "sahay:lang:si" if i == 11 else f"/x{i}"}
            for i in range(1, 13)
        ]
        await queue_reply(session, contact.id, "Pick one:\n\n1. Option 1 ...", options, True)
    await engine_of(channels).run_once()
    assert channels.whatsapp.sent[1]["type"] == "text"  # 12 options: a numbered text
    await post(channels, whatsapp_payload([whatsapp_text("wamid.E2", " 11 ")]))
    await eventually(lambda: len(channels.whatsapp.sent) == 3)
    assert channels.whatsapp.sent[2]["interactive"]["body"]["text"] == RENDERER.text(
        "language_set", "si"
    )


async def test_statuses_move_forward_only_and_failures_keep_their_reason(
    channels: Channels,
) -> None:
    await start_in_english(channels, "wamid.F1")
    async with channels.database.session() as session:
        sent = (await session.scalars(select(OutboundRecord))).one()
    assert sent.status is OutboundStatus.SENT
    wamid = sent.platform_message_id
    assert wamid

    def status(state: str, at: int, **extra: Any) -> dict[str, Any]:
        return {
            "id": wamid,
            "status": state,
            "timestamp": str(at),
            "recipient_id": NUMBER,
            **extra,
        }

    # Read arrives before delivered (WhatsApp does not promise order).
    response = await post(channels, whatsapp_payload(statuses=[status("read", 30)]))
    assert response.json()["statuses"] == 1
    late = await post(
        channels, whatsapp_payload(statuses=[status("delivered", 20), status("sent", 10)])
    )
    assert late.json()["statuses"] == 0
    async with channels.database.session() as session:
        row = (await session.scalars(select(OutboundRecord))).one()
    assert row.delivery_status is DeliveryStatus.READ
    failure = status("failed", 40, errors=[{"code": 131026, "title": "Message undeliverable"}])
    await post(channels, whatsapp_payload(statuses=[failure]))
    async with channels.database.session() as session:
        row = (await session.scalars(select(OutboundRecord))).one()
    assert row.delivery_status is DeliveryStatus.FAILED
    assert row.error == "WhatsApp 131026: Message undeliverable"


async def test_a_broadcast_messages_receipt_counts_it_delivered_or_failed(
    channels: Channels,
) -> None:
    async with channels.database.session() as session:
        await repo.touch_contact(session, "wa-sub-1", "whatsapp", "sealed")
        await repo.touch_contact(session, "wa-sub-2", "whatsapp", "sealed")
        made = Broadcast(title="Dengue", topic="health", status=BroadcastStatus.SENDING)
        session.add(made)
        await session.flush()
        for n in (1, 2):
            session.add(
                BroadcastDelivery(
                    broadcast_id=made.id,
                    contact_id=f"wa-sub-{n}",
                    channel="whatsapp",
                    language="dv",
                    state=LedgerState.SENT,
                    platform_message_id=f"wamid.BC{n}",
                )
            )
        broadcast_id = made.id

    def status(wamid: str, state: str) -> dict[str, Any]:
        return {"id": wamid, "status": state, "timestamp": "1800000000", "recipient_id": NUMBER}

    failed = status("wamid.BC2", "failed") | {"errors": [{"code": 131049, "title": "Not sent"}]}
    response = await post(
        channels,
        whatsapp_payload(statuses=[status("wamid.BC1", "delivered"), failed]),
    )
    assert response.json()["statuses"] == 2
    again = await post(channels, whatsapp_payload(statuses=[status("wamid.BC1", "read")]))
    assert again.json()["statuses"] == 0  # delivered once is enough
    async with channels.database.session() as session:
        assert await ledger.delivered(session, broadcast_id) == {("dv", "whatsapp"): 1}
        rows = {
            r.platform_message_id: r
            for r in (await session.scalars(select(BroadcastDelivery))).all()
        }
    assert rows["wamid.BC2"].state is LedgerState.FAILED
    assert rows["wamid.BC2"].error == "WhatsApp 131049: Not sent"


async def test_outside_the_24_hour_window_free_text_is_refused_before_the_api(
    channels: Channels, sender: whatsapp.WhatsAppSender
) -> None:
    day_ago = utcnow() - timedelta(hours=25)
    stale = outgoing("Cyclone warning", last_inbound_at=day_ago)
    with pytest.raises(OutsideServiceWindow, match="24-hour window"):
        await sender.send(stale)
    assert channels.whatsapp.sent == []
    # An approved template goes out, with its parameters.
    template = {"name": "cyclone_alert", "language": "dv", "parameters": ["Addu", "18:00"]}
    stale_template = outgoing("", language="dv", template=template, last_inbound_at=day_ago)
    wamid = await sender.send(stale_template)
    assert wamid.startswith("wamid.")
    assert channels.whatsapp.sent[0]["template"] == {
        "name": "cyclone_alert",
        "language": {"code": "dv"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Addu"},
                    {"type": "text", "text": "18:00"},
                ],
            }
        ],
    }


async def test_the_delivery_engine_records_the_window_refusal(channels: Channels) -> None:
    await start_in_english(channels, "wamid.G1")
    async with channels.database.session() as session:
        await session.execute(update(Contact).values(last_inbound_at=utcnow() - timedelta(days=2)))
        contact = (await session.scalars(select(Contact))).one()
        await queue_reply(session, contact.id, "A caseworker's late reply")
    await engine_of(channels).run_once()
    async with channels.database.session() as session:
        late = (await session.scalars(select(OutboundRecord).order_by(OutboundRecord.id))).all()[
            -1
        ]
    assert late.status is OutboundStatus.FAILED
    assert late.error
    assert "24-hour window" in late.error
    assert len(channels.whatsapp.sent) == 1


@pytest.mark.parametrize(("code", "whole_channel"), [(130429, True), (131056, False)])
async def test_rate_limit_errors_back_off_and_the_message_is_sent_later(
    channels: Channels, code: int, whole_channel: bool
) -> None:
    channels.whatsapp.fail_next(400, code, "Rate limit hit")
    await post(channels, whatsapp_payload([whatsapp_text("wamid.H1", "sahay:lang:en")]))
    async with channels.database.session() as session:
        row = (await session.scalars(select(OutboundRecord))).one()
    assert row.status is OutboundStatus.QUEUED
    assert row.error == f"WhatsApp 400/{code}: Rate limit hit"
    engine = engine_of(channels)
    assert ("whatsapp" in engine._paused_until) is whole_channel
    async with channels.database.session() as session:  # skip the back-off's wait
        await session.execute(update(OutboundRecord).values(next_attempt_at=utcnow()))
    engine._paused_until.clear()
    assert await engine.run_once() == 1
    assert len(channels.whatsapp.sent) == 1


async def test_network_errors_are_retried_and_nothing_is_lost(channels: Channels) -> None:
    closed = channels.settings.model_copy(update={"whatsapp_api_base_url": "http://127.0.0.1:9"})
    sender = whatsapp.WhatsAppSender(closed)
    engine = engine_of(channels)
    real = engine.senders
    engine.senders = {"whatsapp": sender}
    await post(channels, whatsapp_payload([whatsapp_text("wamid.I1", "sahay:lang:en")]))
    async with channels.database.session() as session:
        row = (await session.scalars(select(OutboundRecord))).one()
    assert (row.status, row.attempts) == (OutboundStatus.QUEUED, 1)
    assert row.error == "WhatsApp: ClientConnectorError"
    engine.senders = real
    await sender.close()
    async with channels.database.session() as session:
        await session.execute(update(OutboundRecord).values(next_attempt_at=utcnow()))
    assert await engine.run_once() == 1
    async with channels.database.session() as session:
        row = (await session.scalars(select(OutboundRecord))).one()
    assert (row.status, row.attempts) == (OutboundStatus.SENT, 2)


async def test_media_goes_out_by_link_with_its_caption_and_audio_with_its_text_first(
    channels: Channels, sender: whatsapp.WhatsAppSender
) -> None:
    image = outgoing("Flood map", media={"kind": "image", "url": "https://example.org/map.png"})
    audio = outgoing("Listen:", media={"kind": "audio", "id": "884411"})
    await sender.send(image)
    await sender.send(audio)
    assert channels.whatsapp.sent[0]["image"] == {
        "link": "https://example.org/map.png",
        "caption": "Flood map",
    }
    assert channels.whatsapp.sent[1]["text"]["body"] == "Listen:"
    assert channels.whatsapp.sent[2]["audio"] == {"id": "884411"}


async def test_the_same_message_id_100_times_at_once_is_answered_once(
    channels: Channels,
) -> None:
    payload = whatsapp_payload([whatsapp_text("wamid.J1", "sahay:lang:bn")])
    responses = await asyncio.gather(*(post(channels, payload) for _ in range(100)))
    assert {r.status_code for r in responses} == {200}
    assert sum(r.json()["messages"] for r in responses) == 1
    await eventually(lambda: len(channels.whatsapp.sent) >= 1)
    await asyncio.sleep(0.5)
    assert len(channels.whatsapp.sent) == 1


def test_buttons_titles_are_cut_to_whatsapps_limits() -> None:
    long = outgoing(
        "Choose", buttons=(Button("A very long option title indeed", "/a"), Button("B", "/b"))
    )
    reply = whatsapp.build_payload(long)["interactive"]["action"]["buttons"][0]["reply"]
    assert reply["title"] == "A very long option …"
    assert len(reply["title"]) == 20
