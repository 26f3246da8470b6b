"""Web chat API: bad input gets a clear 4xx and nothing is half-written; a down Rasa or
database loses nothing. (Conversations with the real Rasa are in tests/e2e.)"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import InboundRecord, InboundStatus, OutboundRecord
from tests.conftest import TEST_BOX, redis_url_or_skip, unused_port
from tests.web.conftest import app_client, offline_settings

URL = "/api/chat/messages"


async def _count(db_url: str, model: type) -> int:
    database = Database(db_url, TEST_BOX)
    async with database.session() as s:
        n = await s.scalar(select(func.count()).select_from(model))
    await database.dispose()
    return int(n or 0)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"sender": "s1", "text": ""}, 422, "text"),
        ({"sender": "s1", "text": "   \n "}, 422, "text"),
        ({"sender": "s1", "text": "x" * 4097}, 422, "text"),
        ({"sender": "", "text": "hello"}, 422, "sender"),
        ({"sender": "a b", "text": "hello"}, 422, "sender"),
        ({"text": "hello"}, 422, "sender"),
        ({"sender": "s1", "text": 5}, 422, "text"),
        ({"sender": "s1", "text": "hi", "extra": "+9607771234"}, 422, "extra"),
    ],
)
async def test_invalid_messages_are_refused_and_nothing_is_stored(
    offline_client: httpx.AsyncClient, db_url: str, body: dict, status: int, field: str
) -> None:
    response = await offline_client.post(URL, json=body)
    assert response.status_code == status
    error = response.json()
    assert error["error"]
    assert field in {p["field"] for p in error["problems"]}
    assert "+9607771234" not in response.text  # never echoes what was sent
    assert await _count(db_url, InboundRecord) == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"sender": "s1", "text": "hel', b"\xff\xfe\x00", b'{"sender":"s1","text":"\xff"}', b""],
)
async def test_malformed_bodies_get_400(
    offline_client: httpx.AsyncClient, db_url: str, raw: bytes
) -> None:
    response = await offline_client.post(
        URL, content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]
    assert await _count(db_url, InboundRecord) == 0


async def test_longest_allowed_message_is_accepted(offline_client: httpx.AsyncClient) -> None:
    response = await offline_client.post(URL, json={"sender": "s1", "text": "a" * 4096})
    assert response.status_code == 200


async def test_rasa_down_says_try_again_and_keeps_the_message(
    offline_client: httpx.AsyncClient, db_url: str
) -> None:
    response = await offline_client.post(URL, json={"sender": "s1", "text": "hello", "id": "m1"})
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "en"
    [message] = body["messages"]
    assert "try again" in message["text"]
    database = Database(db_url, TEST_BOX)
    async with database.session() as s:
        [record] = (await s.scalars(select(InboundRecord))).all()
        assert record.status is InboundStatus.PENDING
        assert record.text == "hello"
    await database.dispose()

    # The same message retried by the client: still one stored message, no second apology.
    again = await offline_client.post(URL, json={"sender": "s1", "text": "hello", "id": "m1"})
    assert again.json()["messages"] == body["messages"]
    assert await _count(db_url, InboundRecord) == 1
    assert await _count(db_url, OutboundRecord) == 1


async def test_messages_sent_while_rasa_is_down_each_get_one_apology(
    offline_client: httpx.AsyncClient, db_url: str
) -> None:
    for i in range(3):
        response = await offline_client.post(URL, json={"sender": "s1", "text": f"q{i}"})
        assert len(response.json()["messages"]) == 1
    assert await _count(db_url, OutboundRecord) == 3
    assert await _count(db_url, InboundRecord) == 3


async def test_health_is_503_with_each_component_when_rasa_is_down(
    offline_client: httpx.AsyncClient,
) -> None:
    response = await offline_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["components"]["database"] == {"ready": True}
    assert body["components"]["rasa"]["ready"] is False
    assert body["components"]["action_server"]["ready"] is False


async def test_with_redis_configured_health_reports_it_too(db_url: str) -> None:
    up = offline_settings(db_url, redis_url=redis_url_or_skip())
    async for client in app_client(up):
        body = (await client.get("/healthz")).json()
        assert body["components"]["redis"] == {"ready": True}
    down = offline_settings(db_url, redis_url=f"redis://127.0.0.1:{unused_port()}/0")
    async for client in app_client(down):
        body = (await client.get("/healthz")).json()
        assert body["components"]["redis"]["ready"] is False
        assert body["components"]["redis"]["detail"].startswith("unreachable")


async def test_database_down_gives_503_and_a_clear_error() -> None:
    url = f"postgresql+asyncpg://root@127.0.0.1:{unused_port()}/none"
    async for client in app_client(offline_settings(url)):
        response = await client.post(URL, json={"sender": "s1", "text": "hello"})
        assert response.status_code == 503
        assert "try again" in response.json()["error"]
        health = await client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["components"]["database"]["ready"] is False


async def test_chat_page_is_served(offline_client: httpx.AsyncClient) -> None:
    page = await offline_client.get("/chat")
    assert page.status_code == 200
    assert 'id="composer"' in page.text
    script = await offline_client.get("/static/chat.js")
    assert "/api/chat/messages" in script.text
