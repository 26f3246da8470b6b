"""Rasa's answers and failures, translated at one edge."""

from __future__ import annotations

import httpx
import pytest

from bot.errors import RasaError, RasaUnavailable
from bot.rasa_client import RasaClient, RasaReply, parse_replies


def test_custom_payloads_become_keyed_replies() -> None:
    payload = [
        {
            "recipient_id": "c_1",
            "custom": {"key": "greet", "buttons": [{"key": "b", "payload": "/x"}]},
        },
        {"recipient_id": "c_1", "custom": {"key": "menu", "vars": {"n": 3}}},
    ]
    assert parse_replies(payload) == [
        RasaReply("greet", {}, [{"key": "b", "payload": "/x"}]),
        RasaReply("menu", {"n": 3}, []),
    ]


def test_plain_text_from_rasa_is_never_shown_untranslated() -> None:
    [reply] = parse_replies([{"recipient_id": "c_1", "text": "raw english"}])
    assert reply.key == "fallback"


def test_a_non_list_answer_is_an_error() -> None:
    with pytest.raises(RasaError):
        parse_replies({"error": "x"})


async def _client(
    handler: httpx.MockTransport | None = None, url: str = "http://rasa"
) -> RasaClient:
    http = httpx.AsyncClient(transport=handler) if handler else httpx.AsyncClient()
    return RasaClient(http, url, "tok", timeout=2)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_mean_rasa_is_unavailable(status: int) -> None:
    client = await _client(httpx.MockTransport(lambda _r: httpx.Response(status)))
    with pytest.raises(RasaUnavailable):
        await client.turn("c_1", "hello", {})


async def test_a_closed_port_means_rasa_is_unavailable(free_port: int) -> None:
    client = await _client(url=f"http://127.0.0.1:{free_port}")
    with pytest.raises(RasaUnavailable):
        await client.turn("c_1", "hello", {})


async def test_turn_sends_sender_text_and_metadata() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["path"] = request.url.path
        seen["body"] = request.content
        return httpx.Response(200, json=[{"custom": {"key": "goodbye"}}])

    client = await _client(httpx.MockTransport(handler))
    assert await client.turn("c_1", "bye", {"language": "en"}) == [RasaReply("goodbye")]
    assert seen["path"] == "/webhooks/rest/webhook"
    assert b'"sender":"c_1"' in seen["body"].replace(b" ", b"")
    assert b'"language":"en"' in seen["body"].replace(b" ", b"")


async def test_an_empty_answer_is_a_failed_turn_not_a_silent_one() -> None:
    # Rasa's REST channel answers 200 [] when the turn failed inside it (seen with its Redis
    # lock store restarting): the message must be tried again, not marked answered.
    client = await _client(httpx.MockTransport(lambda _r: httpx.Response(200, json=[])))
    with pytest.raises(RasaError, match="answered nothing"):
        await client.turn("c_1", "hello", {})
