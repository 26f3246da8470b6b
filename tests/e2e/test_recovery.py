"""Rasa down: the person is told to try again shortly, nothing is lost, and the worker answers
the message when Rasa is back; the chat page picks the answer up when it polls."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from tests.conftest import unused_port
from tests.e2e.conftest import Stack
from tests.web.conftest import app_client, offline_settings

pytestmark = pytest.mark.e2e


async def _poll(stack: Stack, person: str, seconds: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=stack.web_url) as client:
        while time.monotonic() < deadline:
            response = await client.get("/api/chat/messages", params={"sender": person})
            assert response.status_code == 200
            if messages := response.json()["messages"]:
                return list(messages)
            await asyncio.sleep(0.5)
    return []


async def test_message_sent_while_rasa_was_down_is_answered_when_it_is_back(
    stack: Stack,
) -> None:
    person = f"web-{uuid.uuid4().hex}"
    # A web process whose Rasa is down (nothing listens on its Rasa port), same database.
    down = offline_settings(
        stack.settings.database_url, action_server_url=stack.settings.action_server_url
    )
    assert down.rasa_url != stack.settings.rasa_url
    async for client in app_client(down):
        response = await client.post(
            "/api/chat/messages", json={"sender": person, "text": "hello"}
        )
        [sorry] = response.json()["messages"]
        assert "try again" in sorry["text"]
        health = await client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["components"]["rasa"]["ready"] is False

    # The stack's worker sees the waiting message and answers it through the real Rasa.
    answer, picker = await _poll(stack, person)
    assert answer["text"].startswith("Hello, I am Sahay")
    assert len(picker["buttons"]) == 8  # the first answered message brings the picker
    # Handed over once: the next poll has nothing new.
    assert await _poll(stack, person, seconds=1) == []


async def test_unused_port_really_is_closed() -> None:
    """The test above relies on a closed port meaning 'Rasa is down'."""
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{unused_port()}/")
