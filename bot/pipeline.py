"""The conversation pipeline: store the message, find the contact, ask Rasa, render, store replies.

See docs/architecture.md ("One message, end to end"). Channels call `receive`; the worker calls
`process_waiting` for messages that could not be answered at once (Rasa was down).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot import casework, commands, metrics, safeguarding
from bot.answers import with_directory, with_language_picker
from bot.channels.base import (
    ADDRESSED,
    MAX_BUTTONS,
    Button,
    InboundMessage,
    OutboundMessage,
    as_numbered_text,
    pick_numbered_option,
)
from bot.errors import RasaError, RasaUnavailable
from bot.i18n import Renderer, UnknownMessageKey
from bot.messages import LANGUAGE_NAMES
from bot.pseudonym import contact_id
from bot.rasa_client import RasaClient, RasaReply
from nlu.language import Guesser, LazyGuesser
from storage import directory, privacy, requests, subscriptions
from storage import repository as repo
from storage.crypto import AddressBox
from storage.db import Database
from storage.models import Contact, InboundRecord, InboundStatus, OutboundRecord

logger = logging.getLogger(__name__)

# After this many failed turns for one message (Rasa errors, not Rasa being down), stop trying.
MAX_ATTEMPTS = 5
MENU_BUTTON = {"key": "button.menu", "payload": "/ask_menu"}
OPTION_REFERENCE = re.compile(r"#([0-9]{1,18}):([0-9]{1,2})")


def option_reference(outbound_id: int, index: int) -> str:
    return f"#{outbound_id}:{index}"


def _location_reply(record: InboundRecord) -> RasaReply:
    place = (record.media_meta or {}).get("matched")
    if place:
        return RasaReply(key="location_set", variables={"location": place}, buttons=[MENU_BUTTON])
    return RasaReply(key="location_unknown", buttons=[MENU_BUTTON])


def to_outbound(record: OutboundRecord) -> OutboundMessage:
    return OutboundMessage(
        id=record.id,
        text=record.text or "",
        key=record.message_key,
        language=record.language,
        buttons=tuple(Button(b["title"], b["payload"]) for b in record.buttons),
    )


class Outcome(enum.Enum):
    ANSWERED = "answered"
    WAITS = "waits"  # Rasa is down or failed: it is tried again later
    BUSY = "busy"  # another process has this person's messages in hand


@dataclass(frozen=True)
class Accepted:
    contact_id: str
    inbound_id: int
    created: bool  # False: a repeated delivery of a message already stored


@dataclass
class Pipeline:
    database: Database
    rasa: RasaClient
    renderer: Renderer
    secret_key: str
    deployment: str = "maldives"
    guesser: Guesser | None = None
    # Encrypts the platform address of channels that need one to reply (Telegram, WhatsApp).
    box: AddressBox | None = None

    async def receive(self, message: InboundMessage) -> list[OutboundMessage]:
        """Store `message` under its idempotency key and answer it (and any older message of
        the same person still waiting). A repeated delivery runs no new Rasa turn: it gets the
        replies already stored for it."""
        accepted = await self.accept(message)
        produced = await self.process_waiting(accepted.contact_id)
        if accepted.created or produced:
            return produced
        async with self.database.session() as session:
            return [to_outbound(r) for r in await repo.replies_to(session, accepted.inbound_id)]

    async def accept(self, message: InboundMessage) -> Accepted:
        """Step 2 of the pipeline, all a webhook waits for: the message stored under its
        idempotency key (the platform's id), the contact found or created. Answering it is
        `process_waiting`'s job, after the platform has its 200."""
        cid = contact_id(self.secret_key, message.channel, message.sender)
        sealed = (
            self.box.seal(message.sender) if self.box and message.channel in ADDRESSED else None
        )
        media, meta = message.media, message.media_meta
        async with self.database.session() as session:
            await repo.touch_contact(session, cid, message.channel, sealed)
            if message.location is not None:
                # Kept as the nearest directory location only, never as coordinates.
                place = await directory.nearest_location(
                    session, self.deployment, *message.location
                )
                if place:
                    await repo.set_location(session, cid, place)
                media, meta = "location", {"matched": place}
            inbound_id, created = await repo.store_inbound(
                session,
                channel=message.channel,
                platform_message_id=message.platform_message_id,
                contact_id=cid,
                text=message.text,
                media_kind=media,
                media_meta=meta,
            )
        if created:
            metrics.MESSAGES_IN.labels(message.channel).inc()
        return Accepted(cid, inbound_id, created)

    async def language_of(self, contact: str) -> str:
        async with self.database.session() as session:
            found = await session.get(Contact, contact)
        return (found.language if found else None) or self.renderer.default_language

    async def process_waiting(
        self,
        contact: str | None = None,
        min_age: timedelta | None = None,
        concurrency: int = 1,
    ) -> list[OutboundMessage]:
        """Answer waiting messages oldest first; per person, stop at the first that cannot be
        answered so that replies keep their order. For one person, keep going while their
        messages keep arriving. Up to `concurrency` people are answered at once (the worker,
        after Rasa was down: the backlog drains at Rasa's pace, not one turn at a time)."""
        produced: list[OutboundMessage] = []
        limit = asyncio.Semaphore(concurrency)
        while True:
            async with self.database.session() as session:
                waiting = await repo.claimable_inbound(
                    session, contact_id=contact, min_age=min_age
                )
            by_person: dict[str, list[InboundRecord]] = {}
            for record in waiting:
                by_person.setdefault(record.contact_id, []).append(record)
            chains = await asyncio.gather(
                *(self._answer_in_order(records, limit) for records in by_person.values())
            )
            stopped = False
            for replies, halted in chains:
                produced.extend(replies)
                stopped = stopped or halted
            if contact is None or not waiting or stopped:
                return produced

    async def _answer_in_order(
        self, records: list[InboundRecord], limit: asyncio.Semaphore
    ) -> tuple[list[OutboundMessage], bool]:
        """One person's waiting messages, in order; True when one could not be answered (Rasa
        is down: the rest wait behind it, with one apology; or another process has them)."""
        produced: list[OutboundMessage] = []
        async with limit:
            for i, record in enumerate(records):
                replies, outcome = await self._answer(record)
                produced.extend(replies)
                if outcome is Outcome.WAITS:
                    for later in records[i + 1 :]:
                        produced.extend(await self._defer(later))
                    return produced, True
                if outcome is Outcome.BUSY:
                    return produced, True
        return produced, False

    async def _defer(self, record: InboundRecord) -> list[OutboundMessage]:
        """An older message of the same person is still waiting: this one waits behind it
        (replies keep their order), with one "try again shortly" the first time."""
        async with self.database.session() as session:
            if not await repo.claim_inbound(session, record.id):
                return []
        sorry = [RasaReply(key="try_again")] if record.attempts == 0 else []
        language = await self.language_of(record.contact_id)
        return await self._store(record, language, sorry, InboundStatus.PENDING)

    async def _answer(self, record: InboundRecord) -> tuple[list[OutboundMessage], Outcome]:
        """One turn for one stored message."""
        async with self.database.session() as session:
            if await repo.earlier_in_progress(session, record):
                return [], Outcome.BUSY
            if not await repo.claim_inbound(session, record.id):
                return [], Outcome.BUSY
            contact = await session.get(Contact, record.contact_id)
        text = record.text or ""
        known = contact.language if contact else None
        if record.media_kind == "location":
            replies = [_location_reply(record)]
            language = known or self.renderer.default_language
            return await self._store(
                record, language, replies, InboundStatus.DONE
            ), Outcome.ANSWERED
        text = await self._picked_option(record.contact_id, text)
        command = commands.parse(text)
        if isinstance(command, commands.Cancel | commands.Status):
            text = command.rasa_text
        elif isinstance(command, commands.Start):
            # Telegram's /start: a language from the deep link, then a greeting (or the
            # service the link named) from Rasa.
            if command.language:
                async with self.database.session() as session:
                    await repo.set_language(session, record.contact_id, command.language)
                known = command.language
            text = command.rasa_text
        elif command is not None:
            language = known or self.renderer.default_language
            replies, language = await self._command(record.contact_id, command, language)
            return await self._store(
                record, language, replies, InboundStatus.DONE
            ), Outcome.ANSWERED
        # On first contact the message's script and words pre-select the language; it is kept
        # once the message is answered (not while Rasa is down: the retry guesses again).
        if safeguarding.raises_alarm(text):
            # Before Rasa: a request this very message opens is urgent too.
            async with self.database.session() as session:
                raised = await requests.raise_alarm(session, record.contact_id)
            logger.warning(
                "Safeguarding words in message %d; %d requests raised", record.id, raised
            )
        async with self.database.session() as session:
            # Talking with a caseworker: the message goes into the request's timeline too.
            thread = await casework.attach(session, record.contact_id, record.id)
        guessed = await self._guess_language(text) if known is None else None
        language = known or guessed or self.renderer.default_language
        if text.strip():
            try:
                replies = await self.rasa.turn(
                    record.contact_id, text, {"language": language, "channel": record.channel}
                )
            except RasaUnavailable as exc:
                logger.warning("Rasa unavailable (%s); message %d waits", exc, record.id)
                # Say sorry once per message, not on every retry.
                sorry = [RasaReply(key="try_again")] if record.attempts == 0 else []
                return await self._store(
                    record, language, sorry, InboundStatus.PENDING
                ), Outcome.WAITS
            except RasaError as exc:
                logger.error("Rasa failed on message %d: %s", record.id, exc)
                if record.attempts + 1 < MAX_ATTEMPTS:
                    return await self._store(
                        record, language, [], InboundStatus.PENDING
                    ), Outcome.WAITS
                fallback = [RasaReply(key="fallback")]
                return await self._store(
                    record, language, fallback, InboundStatus.FAILED
                ), Outcome.ANSWERED
            if thread is not None:
                replies = casework.instead_of_shrug(thread, replies)
        else:  # a voice note, sticker, photo... without a caption: Sahay reads text only
            replies = [RasaReply(key="not_text", directory="helpline", buttons=[MENU_BUTTON])]
        if known is None:  # the first answer: the language picker follows it, once
            replies.append(RasaReply(key="language_picker_first", picker=True))
            async with self.database.session() as session:
                await repo.set_language(session, record.contact_id, language)
        return await self._store(record, language, replies, InboundStatus.DONE), Outcome.ANSWERED

    async def _picked_option(self, contact: str, text: str) -> str:
        """A typed number picks an option of the last message, when that message showed its
        options as a numbered list; an option reference (`#<message id>:<n>`, used where a
        payload is too long for the platform) picks that option of that message."""
        reference = OPTION_REFERENCE.fullmatch(text.strip())
        if reference is None and not text.strip().isdigit():
            return text
        async with self.database.session() as session:
            if reference:
                shown = await session.get(OutboundRecord, int(reference.group(1)))
                index = int(reference.group(2))
                if shown and shown.contact_id == contact and index < len(shown.buttons):
                    return str(shown.buttons[index]["payload"])
                return text
            last = await repo.last_outbound(session, contact)
        if last is None or not last.numbered:
            return text
        return pick_numbered_option(text, [Button(b["title"], b["payload"]) for b in last.buttons])

    async def _guess_language(self, text: str) -> str | None:
        if isinstance(self.guesser, LazyGuesser):  # made in a thread on first use
            await self.guesser.prepared()
        guessed = self.guesser.guess(text) if self.guesser else None
        return guessed if guessed in LANGUAGE_NAMES else None

    async def _command(
        self, contact: str, command: commands.Command, language: str
    ) -> tuple[list[RasaReply], str]:
        if isinstance(command, commands.ChooseLanguage):
            if command.language not in LANGUAGE_NAMES:
                return [RasaReply(key="language_picker", picker=True)], language
            async with self.database.session() as session:
                await repo.set_language(session, contact, command.language)
            return [RasaReply(key="language_set", buttons=[MENU_BUTTON])], command.language
        if isinstance(command, commands.ConfirmErase):
            async with self.database.session() as session:
                await privacy.request_erasure(session, contact)
            logger.info("Erasure confirmed; the worker erases the contact")
            return [RasaReply(key="erase.done")], language
        if isinstance(command, commands.StopAlerts | commands.StartAlerts):
            async with self.database.session() as session:
                if isinstance(command, commands.StopAlerts):
                    await subscriptions.unsubscribe(session, contact)
                    key = "alerts.unsubscribed"
                else:
                    await subscriptions.subscribe(session, contact)
                    key = "alerts.subscribed"
            return [RasaReply(key=key, buttons=[MENU_BUTTON])], language
        assert isinstance(command, commands.MorePlaces)  # noqa: S101 - the others go to Rasa
        more = RasaReply(
            key="directory.more_title",
            directory=command.category,
            page=command.page,
            buttons=[MENU_BUTTON],
        )
        return [more], language

    async def _store(
        self,
        record: InboundRecord,
        language: str,
        replies: Sequence[RasaReply],
        status: InboundStatus,
    ) -> list[OutboundMessage]:
        composed = [await self._compose(reply, record.contact_id, language) for reply in replies]
        limit = MAX_BUTTONS.get(record.channel)
        hint = self.renderer.text("numbered_hint", language)
        async with self.database.session() as session:
            stored = [
                await repo.add_outbound(
                    session,
                    contact_id=record.contact_id,
                    channel=record.channel,
                    in_reply_to=record.id,
                    message_key=message.key,
                    language=language,
                    # More options than the channel can show as buttons: a numbered list,
                    # stored as sent, and a typed number picks one.
                    text=as_numbered_text(message, hint) if numbered else message.text,
                    buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
                    numbered=numbered,
                )
                for message in composed
                for numbered in [limit is not None and len(message.buttons) > limit]
            ]
            await repo.finish_inbound(session, record.id, status)
        return [to_outbound(r) for r in stored]

    async def _compose(self, reply: RasaReply, contact: str, language: str) -> OutboundMessage:
        message = self._render(reply, language)
        if reply.directory:
            async with self.database.session() as session:
                found = await session.get(Contact, contact)
                location = found.location if found else None
                places = await directory.places(
                    session, self.deployment, reply.directory, location
                )
                helplines = await directory.places(session, self.deployment, "helpline", None)
            message = with_directory(
                self.renderer,
                message,
                category=reply.directory,
                places=places,
                helplines=helplines,
                location=location,
                page=reply.page,
            )
        if reply.picker:
            message = with_language_picker(message)
        return message

    def _render(self, reply: RasaReply, language: str) -> OutboundMessage:
        try:
            return self.renderer.render(reply.key, language, reply.variables, reply.buttons)
        except (UnknownMessageKey, KeyError, TypeError, ValueError) as exc:
            logger.error("Cannot render message key %r: %s", reply.key, type(exc).__name__)
            return self.renderer.render("fallback", language, None, [MENU_BUTTON])
