"""The pipeline's own answers, before any NLU: non-text messages and gateway commands.
Rasa sits on a closed port here: had a message gone to it, the reply would be "try again"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from bot import commands
from bot.channels.base import InboundMessage
from bot.i18n import Renderer, load_catalogues
from bot.pipeline import Pipeline
from bot.rasa_client import RasaClient
from bot.settings import PROJECT_ROOT
from storage import directory
from storage.broadcast_models import Subscription
from storage.db import Database
from storage.models import Contact, InboundRecord, InboundStatus
from tests.conftest import unused_port

RENDERER = Renderer(load_catalogues())


@pytest.fixture
async def pipeline(database: Database) -> AsyncIterator[Pipeline]:
    async with database.session() as session:
        maldives = directory.read_directory(PROJECT_ROOT / "directory" / "maldives.yml")
        await directory.load(session, maldives)
    async with httpx.AsyncClient() as http:
        rasa = RasaClient(http, f"http://127.0.0.1:{unused_port()}", "token", 2)
        yield Pipeline(database, rasa, RENDERER, secret_key="k" * 32)


def message(media: str | None = None, text: str = "", n: int = 1) -> InboundMessage:
    return InboundMessage("telegram", "chat-77", f"update-{n}", text, media=media)


@pytest.mark.parametrize("kind", ["voice", "sticker", "photo"])
async def test_a_message_without_text_gets_a_polite_reply_with_the_helpline(
    pipeline: Pipeline, kind: str
) -> None:
    replies = await pipeline.receive(message(kind))
    assert replies[0].key == "not_text"
    assert replies[0].text.startswith(RENDERER.text("not_text", "en"))
    assert "1400 (sample)" in replies[0].text  # the helpline, from the service directory
    async with pipeline.database.session() as session:
        [stored] = (await session.scalars(select(InboundRecord))).all()
    assert (stored.media_kind, stored.text) == (kind, "")  # the kind, never the content


async def test_a_voice_note_in_the_persons_language(pipeline: Pipeline) -> None:
    await pipeline.receive(message(text="sahay:lang:bn", n=1))
    [reply] = await pipeline.receive(message("voice", n=2))
    assert reply.language == "bn"
    assert reply.text.startswith(RENDERER.text("not_text", "bn"))


async def test_first_contact_by_sticker_also_offers_the_language_picker(
    pipeline: Pipeline,
) -> None:
    replies = await pipeline.receive(message("sticker"))
    assert [r.key for r in replies] == ["not_text", "language_picker_first"]
    assert len(replies[1].buttons) == 8
    # Offered once: the next message is answered in the language now stored, without it.
    again = await pipeline.receive(message("sticker", n=2))
    assert [r.key for r in again] == ["not_text"]


async def test_choosing_a_language_is_stored_without_nlu(pipeline: Pipeline) -> None:
    [reply] = await pipeline.receive(message(text="sahay:lang:ta"))
    assert reply.text == RENDERER.text("language_set", "ta")
    async with pipeline.database.session() as session:
        [contact] = (await session.scalars(select(Contact))).all()
    assert contact.language == "ta"


async def test_an_unknown_language_code_shows_the_picker(pipeline: Pipeline) -> None:
    [reply] = await pipeline.receive(message(text="sahay:lang:xx"))
    assert reply.key == "language_picker"
    assert len(reply.buttons) == 8


# The word for STOP and START in each launch language (and in English, which works for all).
STOP_AND_START = {
    "en": ("STOP", "START"),
    "es": ("Baja", "Alta"),
    "bn": ("বন্ধ", "শুরু"),
    "hi": ("बंद", "शुरू"),
    "ne": ("बन्द", "सुरु"),
    "ta": ("நிறுத்து", "தொடங்கு"),
    "si": ("නවත්තන්න", "අරඹන්න"),
    "dv": ("ހުއްޓާ", "ފައްޓާ"),
}


async def subscribed_topics(pipeline: Pipeline) -> list[str]:
    async with pipeline.database.session() as session:
        rows = await session.scalars(select(Subscription).where(Subscription.active.is_(True)))
        return [s.topic for s in rows.all()]


@pytest.mark.parametrize("language", sorted(STOP_AND_START))
async def test_stop_and_start_work_in_every_language_without_rasa(
    pipeline: Pipeline, language: str
) -> None:
    """Rasa is down here: the words still work, and are confirmed in the person's language."""
    stop, start = STOP_AND_START[language]
    await pipeline.receive(message(text=f"sahay:lang:{language}", n=1))
    [started] = await pipeline.receive(message(text=start, n=2))
    assert started.text == RENDERER.text("alerts.subscribed", language)
    assert await subscribed_topics(pipeline) == ["all"]
    for n, word in enumerate((stop, "stop", f" {stop.upper()}! "), start=3):
        [stopped] = await pipeline.receive(message(text=word, n=n))
        assert stopped.text == RENDERER.text("alerts.unsubscribed", language), word
        assert await subscribed_topics(pipeline) == []
        await pipeline.receive(message(text="START", n=n + 10))
    # Only the word on its own: a sentence with it in is a question for Rasa.
    assert commands.parse("the bus did not stop") is None


async def test_yes_delete_marks_the_person_for_erasure_and_says_so_in_their_language(
    pipeline: Pipeline,
) -> None:
    await pipeline.receive(message(text="sahay:lang:ne", n=1))
    [reply] = await pipeline.receive(message(text=commands.ERASE_PAYLOAD, n=2))
    assert (reply.key, reply.language) == ("erase.done", "ne")
    assert reply.text == RENDERER.text("erase.done", "ne")
    async with pipeline.database.session() as session:
        [contact] = (await session.scalars(select(Contact))).all()
    assert contact.erase_requested_at is not None


async def test_a_turn_rasa_answered_with_nothing_is_answered_on_the_next_try(
    database: Database,
) -> None:
    answers = iter([[], [{"custom": {"key": "goodbye"}}]])

    def rasa(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    async with httpx.AsyncClient(transport=httpx.MockTransport(rasa)) as http:
        pipeline = Pipeline(
            database, RasaClient(http, "http://rasa", "t", 2), RENDERER, secret_key="k" * 32
        )
        await pipeline.receive(message(text="sahay:lang:en", n=1))
        assert await pipeline.receive(message(text="bye", n=2)) == []
        async with database.session() as session:
            statuses = list(await session.scalars(select(InboundRecord.status)))
        assert statuses == [InboundStatus.DONE, InboundStatus.PENDING]  # waits, not "answered"
        [reply] = await pipeline.process_waiting()
    assert reply.key == "goodbye"


async def test_the_backlog_after_an_outage_is_answered_several_people_at_once_in_order(
    database: Database,
) -> None:
    in_flight, most = 0, 0
    asked: list[tuple[str, str]] = []

    async def rasa(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        body = json.loads(request.content)
        asked.append((body["sender"], body["message"]))
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return httpx.Response(200, json=[{"custom": {"key": "goodbye"}}])

    async with httpx.AsyncClient(transport=httpx.MockTransport(rasa)) as http:
        pipeline = Pipeline(
            database, RasaClient(http, "http://rasa", "t", 2), RENDERER, secret_key="k" * 32
        )
        for person in ("a", "b", "c"):  # stored while Rasa was down
            for n in (1, 2):
                await pipeline.accept(
                    InboundMessage("telegram", f"chat-{person}", f"{person}{n}", f"{person} {n}")
                )
        replies = await pipeline.process_waiting(concurrency=3)
    assert len(replies) == 6 + 3  # each answered, and the first answer offers the languages
    assert most == 3
    for person in ("a", "b", "c"):
        mine = [text for _sender, text in asked if text.startswith(person)]
        assert mine == [f"{person} 1", f"{person} 2"]  # each person's in the order written
