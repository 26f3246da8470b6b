"""Telegram end to end through python-telegram-bot against a local Bot API server: the
webhook's secret token, normalised messages, buttons, polling that loses and replays nothing,
exactly one reply per update, and what Sahay does with Telegram's errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select

from bot.channels import telegram
from bot.channels.base import Button
from bot.delivery import Outgoing
from bot.i18n import Renderer, load_catalogues
from bot.rates import LocalPacer
from bot.worker import _telegram
from storage import repository as repo
from storage.models import Contact, InboundRecord, OutboundRecord, OutboundStatus
from tests.channels.conftest import Channels
from tests.fakes import eventually, telegram_callback, telegram_update

RENDERER = Renderer(load_catalogues())
CHAT = 7_000_001
VOICE = {
    "voice": {
        "file_id": "AwACAgIAAxkB",
        "file_unique_id": "AgAD",
        "duration": 4,
        "mime_type": "audio/ogg",
        "file_size": 12034,
    }
}


async def post(channels: Channels, update: dict[str, Any], secret: str | None = None) -> Any:
    headers = {telegram.SECRET_HEADER: secret or channels.settings.telegram_secret}
    response = await channels.client.post("/webhooks/telegram", json=update, headers=headers)
    await channels.settled()
    return response


async def count(channels: Channels, model: Any) -> int:
    async with channels.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("wrong-secret", 403)])
async def test_a_webhook_without_the_secret_token_is_refused_and_nothing_is_stored(
    channels: Channels, secret: str | None, status: int
) -> None:
    headers = {} if secret is None else {telegram.SECRET_HEADER: secret}
    response = await channels.client.post(
        "/webhooks/telegram", json=telegram_update(1, text="hello"), headers=headers
    )
    assert response.status_code == status
    assert await count(channels, InboundRecord) == 0
    assert channels.telegram.sent == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        # A field of the wrong type (found by tests/channels/test_webhook_properties.py).
        b'{"update_id": 5, "message": {"message_id": 1, "date": 0,'
        b' "chat": {"id": 1, "type": "private"}, "voice": true}}',
    ],
)
async def test_a_malformed_update_gets_a_clear_400(channels: Channels, body: bytes) -> None:
    headers = {telegram.SECRET_HEADER: channels.settings.telegram_secret}
    response = await channels.client.post("/webhooks/telegram", content=body, headers=headers)
    assert response.status_code == 400
    assert "not a Telegram update" in response.json()["error"]


async def test_a_voice_note_gets_a_polite_reply_with_the_helpline_and_its_metadata_is_kept(
    channels: Channels,
) -> None:
    response = await post(channels, telegram_update(10, **VOICE))
    assert response.status_code == 200
    await eventually(lambda: len(channels.telegram.sent) >= 2)
    first = channels.telegram.sent[0]
    assert int(first["chat_id"]) == CHAT
    assert first["text"].startswith(RENDERER.text("not_text", "en"))
    assert "1400 (sample)" in first["text"]
    # On first contact the language picker follows, as inline buttons.
    picker = channels.telegram.sent[1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in picker][:2] == ["sahay:lang:en", "sahay:lang:es"]
    async with channels.database.session() as session:
        [stored] = (await session.scalars(select(InboundRecord))).all()
        [contact] = (await session.scalars(select(Contact))).all()
    assert (stored.media_kind, stored.text) == ("voice", "")
    assert stored.media_meta == {"mime_type": "audio/ogg", "file_size": 12034, "duration": 4}
    # The chat id is stored encrypted, never in the clear.
    assert contact.address
    assert str(CHAT) not in contact.address
    assert str(CHAT) not in contact.id


async def test_a_language_button_answers_in_that_language_with_buttons(
    channels: Channels,
) -> None:
    await post(channels, telegram_callback(20, "sahay:lang:bn"))
    await eventually(lambda: len(channels.telegram.sent) >= 1)
    [reply] = channels.telegram.sent
    assert reply["text"] == RENDERER.text("language_set", "bn")
    buttons = reply["reply_markup"]["inline_keyboard"]
    assert buttons == [
        [{"text": RENDERER.text("button.menu", "bn"), "callback_data": "/ask_menu"}]
    ]
    assert "answerCallbackQuery" in channels.telegram.calls  # the button's spinner stops


async def test_messages_from_groups_are_ignored(channels: Channels) -> None:
    update = telegram_update(30, text="hello all")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Workers"}
    response = await post(channels, update)
    assert response.status_code == 200
    assert response.json()["ignored"] is True
    assert await count(channels, InboundRecord) == 0
    assert channels.telegram.sent == []


async def test_a_shared_location_becomes_the_contacts_location(channels: Channels) -> None:
    await post(channels, telegram_callback(39, "sahay:lang:en"))
    near_male = {"location": {"latitude": 4.1748, "longitude": 73.5102}}
    await post(channels, telegram_update(40, **near_male))
    await eventually(lambda: len(channels.telegram.sent) >= 2)
    assert channels.telegram.sent[-1]["text"] == RENDERER.text(
        "location_set", "en", {"location": "Male"}
    )
    async with channels.database.session() as session:
        [contact] = (await session.scalars(select(Contact))).all()
        [stored] = await session.scalars(select(InboundRecord).where(InboundRecord.id == 2))
    assert contact.location == "Male"
    assert stored.media_meta == {"matched": "Male"}  # never the coordinates


async def test_start_with_a_deep_link_sets_the_language(channels: Channels) -> None:
    await post(channels, telegram_update(50, text="/start dv"))
    await eventually(lambda: len(channels.telegram.sent) >= 1)
    # Rasa is down in these tests: the apology comes in Dhivehi, and no picker follows.
    assert channels.telegram.texts() == [RENDERER.text("try_again", "dv")]
    async with channels.database.session() as session:
        [contact] = (await session.scalars(select(Contact))).all()
    assert contact.language == "dv"


async def test_an_edited_message_is_answered_as_a_new_message(channels: Channels) -> None:
    await post(channels, telegram_callback(59, "sahay:lang:en"))
    edited = telegram_update(60, **VOICE)
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = 1_764_600_100
    await post(channels, edited)
    await eventually(lambda: len(channels.telegram.sent) >= 2)
    assert channels.telegram.sent[-1]["text"].startswith(RENDERER.text("not_text", "en"))


async def test_the_same_update_delivered_100_times_at_once_is_answered_once(
    channels: Channels,
) -> None:
    update = telegram_update(70, **VOICE)
    responses = await asyncio.gather(*(post(channels, update) for _ in range(100)))
    assert {r.status_code for r in responses} == {200}
    for _ in range(50):  # and 50 more, one after another
        assert (await post(channels, update)).status_code == 200
    await eventually(lambda: len(channels.telegram.sent) >= 2)
    await asyncio.sleep(0.5)
    assert await count(channels, InboundRecord) == 1
    assert len(channels.telegram.sent) == 2  # the reply and the language picker, once


async def test_a_typed_number_picks_an_option_shown_as_a_numbered_list(
    channels: Channels,
) -> None:
    await post(channels, telegram_callback(80, "sahay:lang:en"))
    await eventually(lambda: len(channels.telegram.sent) >= 1)
    async with channels.database.session() as session:
        last = (await session.scalars(select(OutboundRecord))).one()
        last.numbered = True
        last.buttons = [
            {"title": "English", "payload": "sahay:lang:en"},
            {"title": "नेपाली", "payload": "sahay:lang:ne"},
        ]
    await post(channels, telegram_update(81, text="2"))
    await eventually(lambda: len(channels.telegram.sent) >= 2)
    assert channels.telegram.sent[-1]["text"] == RENDERER.text("language_set", "ne")


async def test_telegram_429_waits_for_retry_after_then_sends(channels: Channels) -> None:
    channels.telegram.fail_next(429, "Too Many Requests: retry after 1", retry_after=1)
    await post(channels, telegram_callback(90, "sahay:lang:en"))
    async with channels.database.session() as session:
        [queued] = (await session.scalars(select(OutboundRecord))).all()
    assert queued.status is OutboundStatus.QUEUED  # not lost, waiting
    assert queued.next_attempt_at is not None
    assert channels.telegram.sent == []
    engine = channels.client._transport.app.state.gateway.engine  # type: ignore[attr-defined]
    assert await engine.run_once() == 0  # too early: the channel waits out retry_after
    await asyncio.sleep(1.1)
    assert await engine.run_once() == 1
    assert channels.telegram.texts() == [RENDERER.text("language_set", "en")]


async def test_telegram_403_marks_the_contact_unreachable_and_stops_sends(
    channels: Channels,
) -> None:
    channels.telegram.fail_next(403, "Forbidden: bot was blocked by the user")
    await post(channels, telegram_update(100, **VOICE))  # two replies queued: the first fails
    async with channels.database.session() as session:
        rows = (await session.scalars(select(OutboundRecord).order_by(OutboundRecord.id))).all()
        [contact] = (await session.scalars(select(Contact))).all()
    assert [r.status for r in rows] == [OutboundStatus.FAILED, OutboundStatus.FAILED]
    assert rows[0].error == "Telegram 403: Forbidden: bot was blocked by the user"
    assert contact.reachable is False
    assert channels.telegram.sent == []


async def test_telegram_400_is_recorded_with_its_reason_and_not_retried(
    channels: Channels,
) -> None:
    channels.telegram.fail_next(400, "Bad Request: chat not found")
    await post(channels, telegram_callback(110, "sahay:lang:en"))
    engine = channels.client._transport.app.state.gateway.engine  # type: ignore[attr-defined]
    assert await engine.run_once() == 0
    async with channels.database.session() as session:
        [row] = (await session.scalars(select(OutboundRecord))).all()
    assert (row.status, row.error) == (OutboundStatus.FAILED, "Telegram 400: Chat not found")
    assert channels.telegram.sent == []


async def test_webhook_mode_registers_the_webhook_with_its_secret_token(
    channels: Channels,
) -> None:
    gateway = channels.client._transport.app.state.gateway  # type: ignore[attr-defined]
    bot = channels.client._transport.app.state.telegram_bot  # type: ignore[attr-defined]
    await _telegram(channels.settings, bot, gateway, asyncio.Event())
    assert channels.telegram.webhook["url"] == "https://sahay.example.org/webhooks/telegram"
    assert channels.telegram.webhook["secret_token"] == channels.settings.telegram_secret
    assert channels.telegram.webhook["drop_pending_updates"] is False


async def test_polling_stores_before_moving_the_offset_and_never_replays_or_loses(
    channels: Channels,
) -> None:
    app = channels.client._transport.app  # type: ignore[attr-defined]
    gateway, bot = app.state.gateway, app.state.telegram_bot
    fake = channels.telegram
    fake.webhook = {"url": "https://old.example.org/hook"}  # left over from webhook mode
    fake.updates = [telegram_update(200, **VOICE), telegram_callback(201, "sahay:lang:ne")]

    async def run_until(sent: int) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(telegram.poll(bot, gateway.pipeline, gateway.schedule, stop, 1))
        try:
            await eventually(lambda: len(fake.sent) >= sent)
            await asyncio.sleep(0.3)
        finally:
            stop.set()
            await task

    await run_until(3)  # the voice note's reply and picker, then the language confirmation
    # Switching from a webhook keeps what Telegram holds for the bot.
    assert fake.deleted_webhook == [{"drop_pending_updates": False}]
    async with channels.database.session() as session:
        assert await repo.get_state(session, telegram.OFFSET_KEY) == "202"
        # As if the process died after storing the updates but before saving the offset:
        await repo.set_state(session, telegram.OFFSET_KEY, "200")
    fake.updates.append(telegram_update(202, **VOICE))
    await run_until(4)  # 200 and 201 come again and are no-ops; 202 is new
    assert await count(channels, InboundRecord) == 3
    assert len(fake.sent) == 4, [(m["text"][:40], m.get("reply_markup")) for m in fake.sent]
    assert fake.sent[-1]["text"].startswith(RENDERER.text("not_text", "ne"))
    async with channels.database.session() as session:
        assert await repo.get_state(session, telegram.OFFSET_KEY) == "203"


@pytest.mark.parametrize(
    ("content", "kind", "text"),
    [
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "u",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "sticker",
            "",
        ),
        ({"contact": {"phone_number": "+9607771234", "first_name": "Ali"}}, "contact", ""),
        (
            {
                "photo": [
                    {"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90},
                    {
                        "file_id": "p2",
                        "file_unique_id": "u2",
                        "width": 800,
                        "height": 800,
                        "file_size": 51200,
                    },
                ],
                "caption": "passport photo ok?",
            },
            "photo",
            "passport photo ok?",
        ),
        (
            {
                "document": {
                    "file_id": "d",
                    "file_unique_id": "u",
                    "mime_type": "application/pdf",
                    "file_size": 2048,
                }
            },
            "document",
            "",
        ),
        (
            {"video_note": {"file_id": "v", "file_unique_id": "u", "length": 240, "duration": 9}},
            "video_note",
            "",
        ),
        (
            {"dice": {"emoji": "🎲", "value": 3}},
            "unsupported",
            "",
        ),
    ],
)
def test_every_kind_of_telegram_message_is_normalised(
    content: dict[str, Any], kind: str, text: str
) -> None:
    from telegram import Bot, Update

    update = Update.de_json(telegram_update(300, **content), Bot(telegram.CHANNEL + ":x"))
    message = telegram.normalise(update)
    assert (message.media, message.text, message.sender) == (kind, text, str(CHAT))
    if kind == "contact":
        assert message.media_meta is None  # someone else's number is never kept
    if kind == "photo":
        assert message.media_meta == {"file_size": 51200, "width": 800, "height": 800}


async def test_media_goes_out_with_its_caption_and_buttons(channels: Channels) -> None:
    bot = channels.client._transport.app.state.telegram_bot  # type: ignore[attr-defined]
    sender = telegram.TelegramSender(bot)
    message = Outgoing(
        id=5,
        address=str(CHAT),
        text="Cyclone shelters",
        language="en",
        buttons=(Button("Menu", "/ask_menu"),),
        media={"kind": "image", "url": "https://example.org/shelters.png"},
    )
    assert await sender.send(message)
    [sent] = channels.telegram.sent
    assert sent["method"] == "sendPhoto"
    assert (sent["photo"], sent["caption"]) == (
        "https://example.org/shelters.png",
        "Cyclone shelters",
    )
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/ask_menu"


async def test_a_recording_is_fetched_by_link_once_then_sent_by_file_id(
    channels: Channels,
) -> None:
    bot = channels.client._transport.app.state.telegram_bot  # type: ignore[attr-defined]
    sender = telegram.TelegramSender(bot)
    link = "https://sahay.example.org/media/abc.ogg"
    for chat in (CHAT, CHAT + 1, CHAT + 2):
        await sender.send(
            Outgoing(
                id=chat,
                address=str(chat),
                text="Cyclone warning: listen",
                language="bn",
                media={"kind": "audio", "url": link},
            )
        )
    sources = [m["audio"] for m in channels.telegram.sent]
    assert sources[0] == link  # Telegram fetched it once...
    assert sources[1] == sources[2] != link  # ...and then had it: its file_id
    assert sources[1].startswith("tgfile-")


def test_a_payload_too_long_for_telegram_becomes_a_reference() -> None:
    long = "/request_help" + '{"category":"food_relief","note":"' + "x" * 60 + '"}'
    message = Outgoing(
        id=42,
        address=str(CHAT),
        text="?",
        language="en",
        buttons=(Button("Short", "/ask_menu"), Button("Long", long)),
    )
    assert telegram._callback(message, 0) == "/ask_menu"
    assert telegram._callback(message, 1) == "#42:1"


async def test_a_reply_waits_while_the_shared_pacer_is_down_then_goes_once(
    channels: Channels,
) -> None:
    engine = channels.client._transport.app.state.gateway.engine  # type: ignore[attr-defined]

    class RedisDown:
        interval = 0.01

        async def reserve(self, count: int) -> float:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379")

    engine.pacers = {"telegram": RedisDown()}
    await post(channels, telegram_callback(120, "sahay:lang:en"))
    async with channels.database.session() as session:
        [row] = (await session.scalars(select(OutboundRecord))).all()
    assert (row.status, row.error) == (OutboundStatus.QUEUED, "pacer unavailable")
    assert channels.telegram.sent == []  # nothing went out without a slot
    engine.pacers = {"telegram": LocalPacer(0.01)}  # Redis is back
    await asyncio.sleep(2.1)
    assert await engine.run_once() == 1
    assert channels.telegram.texts() == [RENDERER.text("language_set", "en")]
