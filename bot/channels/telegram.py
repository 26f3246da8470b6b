"""Telegram, with python-telegram-bot 22: the webhook, polling, and sending.

- Webhook (`TELEGRAM_WEBHOOK_URL` set): `POST /webhooks/telegram`, registered with setWebhook
  and a secret token that every call must carry (X-Telegram-Bot-Api-Secret-Token, compared in
  constant time). The update is stored before Telegram gets its 200.
- Polling (only `TELEGRAM_BOT_TOKEN` set): `sahay worker` calls getUpdates; the offset, kept
  in the database, moves past an update only once it is stored, so a restart neither loses
  nor replays one, and pending updates are never dropped.
- The idempotency key is the update_id: Telegram's retries and a replayed batch are no-ops.
Telegram types never leave this module: everything becomes an `InboundMessage`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request

# python-telegram-bot 22: time periods (retry_after, durations) as timedelta, the behaviour of
# its next major version, instead of deprecated ints.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram import error as tg
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.channels.aiohttp_request import AiohttpRequest
from bot.channels.base import InboundMessage, MessageIgnored
from bot.delivery import Outgoing, RateLimited, Rejected, Transient, Unreachable
from bot.http_errors import errors, signed_json_body
from bot.pipeline import Accepted, Pipeline, option_reference
from bot.settings import Settings
from storage import repository as repo

logger = logging.getLogger(__name__)
RAW_SEND_WARNING = r"Please use 'Bot\.sendMessage' instead"
warnings.filterwarnings("ignore", RAW_SEND_WARNING, PTBUserWarning)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
OFFSET_KEY = "telegram.offset"
CALLBACK_DATA_BYTES = 64  # Telegram's limit for a button's callback_data
CAPTION_LENGTH = 1024
MEDIA_KINDS = (
    "voice",
    "audio",
    "photo",
    "video",
    "video_note",
    "animation",
    "document",
    "sticker",
    "contact",
)


def make_bot(settings: Settings) -> Bot:
    """A Bot on `TELEGRAM_API_BASE_URL` (python-telegram-bot's `base_url`: the token is
    appended). getUpdates gets its own connection, so long polls never block sending."""
    return Bot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_base_url,
        request=AiohttpRequest(connection_pool_size=128, connect_timeout=10, read_timeout=20),
        get_updates_request=HTTPXRequest(
            connect_timeout=10, read_timeout=settings.telegram_poll_timeout_seconds + 10
        ),
    )


def normalise(update: Update) -> InboundMessage:
    """One update as Sahay's message; `MessageIgnored` for what Sahay does not answer."""
    key = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != "private":
            raise MessageIgnored("a button in a group chat")
        return InboundMessage(CHANNEL, str(query.from_user.id), key, (query.data or "")[:4096])
    message = update.message or update.edited_message
    if message is None:
        raise MessageIgnored("not a message")
    if message.chat.type != "private":
        raise MessageIgnored("a group or channel message")
    text = (message.text or message.caption or "").strip()
    media, meta = _media(message)
    location = None
    if message.location is not None:
        location = (message.location.latitude, message.location.longitude)
    if not text and media is None and location is None:
        media = "unsupported"  # a poll, a dice, a game: Sahay reads text only
    return InboundMessage(
        CHANNEL, str(message.chat.id), key, text[:4096], media, meta, location=location
    )


def _media(message: Message) -> tuple[str | None, dict[str, Any] | None]:
    for kind in MEDIA_KINDS:
        found = getattr(message, kind)
        if not found:
            continue
        item = found[-1] if isinstance(found, tuple) else found  # photo: sizes, largest last
        raw = item.to_dict()  # the Bot API's own JSON: durations in seconds
        meta = {
            name: raw[name]
            for name in ("mime_type", "file_size", "duration", "width", "height")
            if raw.get(name) is not None
        }
        # A contact card holds someone else's number: only its kind is kept.
        return kind, (meta or None) if kind != "contact" else None
    return None, None


class TelegramSender:
    channel = CHANNEL

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # A file sent once by its link goes on by Telegram's file_id: Telegram fetches a
        # broadcast's recording once, not once per subscriber.
        self.file_ids: dict[str, str] = {}

    async def send(self, message: Outgoing) -> str:
        markup = None
        if message.buttons and not message.numbered:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(button.title[:64], callback_data=_callback(message, i))]
                    for i, button in enumerate(message.buttons)
                ]
            )
        try:
            return await self._send(message, markup)
        except tg.RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise RateLimited("Telegram 429: flood control", seconds, whole_channel=True) from exc
        except tg.Forbidden as exc:
            raise Unreachable(f"Telegram 403: {exc.message}") from exc
        except tg.InvalidToken as exc:
            raise Rejected("Telegram: the bot token was refused") from exc
        except (tg.BadRequest, tg.ChatMigrated) as exc:
            raise Rejected(f"Telegram 400: {exc.message}") from exc
        except tg.TimedOut as exc:
            raise Transient("Telegram: timed out") from exc
        except tg.NetworkError as exc:
            raise Transient(f"Telegram: {exc.message}") from exc
        except tg.TelegramError as exc:
            raise Rejected(f"Telegram: {exc.message}") from exc

    async def _send(self, message: Outgoing, markup: InlineKeyboardMarkup | None) -> str:
        """The sent message's id."""
        chat = int(message.address)
        text = message.text[:4096]
        media = message.media
        paid = True if message.paid_broadcast else None
        if media:
            link = media.get("url")
            source = self.file_ids.get(link, link) if link else media.get("id")
            senders: dict[str, tuple[Callable[..., Awaitable[Message]], str]] = {
                "audio": (self.bot.send_audio, "audio"),
                "image": (self.bot.send_photo, "photo"),
                "document": (self.bot.send_document, "document"),
            }
            send, argument = senders[media["kind"]]
            if len(text) <= CAPTION_LENGTH:
                sent = await send(
                    chat,
                    **{argument: source},
                    caption=text,
                    reply_markup=markup,
                    allow_paid_broadcast=paid,
                )
                self._remember(link, sent)
                return str(sent.message_id)
            self._remember(link, await send(chat, **{argument: source}, allow_paid_broadcast=paid))
        if markup is None:
            # Plain text, as every broadcast is: the raw call skips building a Message
            # object from the answer, a sixth of the CPU a broadcast message costs (PTB
            # suggests send_message instead; RAW_SEND_WARNING is silenced for this).
            fields: dict[str, Any] = {"chat_id": chat, "text": text}
            if paid:
                fields["allow_paid_broadcast"] = True
            answer = await self.bot.do_api_request("sendMessage", api_kwargs=fields)
            return str(answer["message_id"])
        sent = await self.bot.send_message(
            chat, text, reply_markup=markup, allow_paid_broadcast=paid
        )
        return str(sent.message_id)

    def _remember(self, link: str | None, sent: Message) -> None:
        attachment = sent.audio or sent.document or (sent.photo[-1] if sent.photo else None)
        if link and attachment is not None:
            self.file_ids.setdefault(link, attachment.file_id)


def _callback(message: Outgoing, index: int) -> str:
    payload = message.buttons[index].payload
    if len(payload.encode()) <= CALLBACK_DATA_BYTES:
        return payload
    return option_reference(message.id, index)  # the pipeline looks the payload up


# The webhook


router = APIRouter(tags=["telegram"])


@router.post(
    "/webhooks/telegram",
    responses=errors(400, 401, 403, 404),
    openapi_extra=signed_json_body(
        "A Telegram Update, as the Bot API posts it.",
        SECRET_HEADER,
        "The secret token given to setWebhook.",
    ),
)
async def telegram_webhook(request: Request, background: BackgroundTasks) -> dict[str, Any]:
    """Telegram's webhook. The update is stored before the 200; answering happens after."""
    settings: Settings = request.app.state.settings
    bot: Bot | None = request.app.state.telegram_bot
    if bot is None:
        raise HTTPException(404, "Telegram is not configured on this deployment.")
    token = request.headers.get(SECRET_HEADER)
    if token is None:
        raise HTTPException(401, "The secret token header is missing.")
    if not hmac.compare_digest(token.encode(), settings.telegram_secret.encode()):
        raise HTTPException(403, "The secret token is wrong.")
    update = parse_update(await request.body(), bot)
    accepted = await accept(request.app.state.pipeline, update)
    if accepted is None:
        return {"ok": True, "ignored": True}
    request.app.state.gateway.schedule(accepted.contact_id)
    if update.callback_query is not None:
        background.add_task(_stop_spinner, bot, update.callback_query.id)
    return {"ok": True}


def parse_update(body: bytes, bot: Bot) -> Update:
    try:
        data = json.loads(body)
        update = Update.de_json(data, bot) if isinstance(data, dict) else None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # PTB's de_json raises AttributeError on a field of the wrong type ("voice": true).
        raise HTTPException(400, "The body is not a Telegram update.") from exc
    if update is None:
        raise HTTPException(400, "The body is not a Telegram update.")
    return update


async def accept(pipeline: Pipeline, update: Update) -> Accepted | None:
    try:
        message = normalise(update)
    except MessageIgnored as exc:
        logger.info("Telegram update %d ignored: %s", update.update_id, exc)
        return None
    return await pipeline.accept(message)


async def _stop_spinner(bot: Bot, query_id: str) -> None:
    try:
        await bot.answer_callback_query(query_id)
    except tg.TelegramError as exc:  # the button still worked; only the spinner lingers
        logger.info("answerCallbackQuery failed: %s", type(exc).__name__)


# Set-up and polling (run by `sahay worker`)


async def set_webhook(bot: Bot, settings: Settings) -> None:
    """Register the webhook with its secret token; pending updates are kept."""
    await bot.set_webhook(
        settings.telegram_webhook_url,
        allowed_updates=list(ALLOWED_UPDATES),
        secret_token=settings.telegram_secret,
        drop_pending_updates=False,
    )
    logger.info("Telegram webhook registered")


async def poll(
    bot: Bot,
    pipeline: Pipeline,
    schedule: Callable[[str], None],
    stop: asyncio.Event,
    long_poll_seconds: int = 25,
) -> None:
    """getUpdates until `stop`. Each update is stored, then the offset saved, then it is
    answered; a failure to store leaves the offset where it was, so Telegram sends it again."""
    if (await bot.get_webhook_info()).url:
        await bot.delete_webhook(drop_pending_updates=False)
    async with pipeline.database.session() as session:
        stored = await repo.get_state(session, OFFSET_KEY)
    offset = int(stored) if stored else None
    failures = 0
    logger.info("Telegram polling started")
    while not stop.is_set():
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=long_poll_seconds, allowed_updates=list(ALLOWED_UPDATES)
            )
            for update in updates:
                accepted = await accept(pipeline, update)
                offset = update.update_id + 1
                async with pipeline.database.session() as session:
                    await repo.set_state(session, OFFSET_KEY, str(offset))
                if accepted is not None:
                    schedule(accepted.contact_id)
            failures = 0
        except tg.RetryAfter as exc:
            wait = exc.retry_after
            await _sleep(stop, wait.total_seconds() if isinstance(wait, timedelta) else wait)
        except tg.InvalidToken:
            logger.error("Telegram refused the bot token; polling stopped")
            return
        except Exception as exc:  # noqa: BLE001 - network, Telegram or database: keep polling
            failures += 1
            logger.warning("Telegram polling failed (%s); retrying", type(exc).__name__)
            await _sleep(stop, min(60.0, 2.0**failures))
    logger.info("Telegram polling stopped")


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
