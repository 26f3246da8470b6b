"""Rasa over HTTP: the REST channel for turns, /status for readiness."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot import metrics
from bot.errors import RasaError, RasaUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RasaReply:
    """One bot utterance: a message key with variables and buttons (domain `custom` payloads)."""

    key: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    buttons: list[Mapping[str, str]] = field(default_factory=list)
    directory: str | None = None  # add places of this service-directory category
    picker: bool = False  # add the language picker's buttons
    page: int = 1


def parse_replies(payload: Any) -> list[RasaReply]:
    """Rasa's REST channel answer → replies. Pure; raises RasaError on an unexpected shape."""
    if not isinstance(payload, list):
        raise RasaError("Rasa's answer is not a list")
    replies = []
    for item in payload:
        custom = item.get("custom") if isinstance(item, dict) else None
        if not isinstance(custom, dict) or not isinstance(custom.get("key"), str):
            # Every domain response is a keyed custom payload; plain text would bypass locales/.
            logger.warning("Rasa sent a response without a message key; using the fallback")
            replies.append(RasaReply(key="fallback", buttons=[_MENU_BUTTON]))
            continue
        directory = custom.get("directory")
        replies.append(
            RasaReply(
                key=custom["key"],
                variables=custom.get("vars") or {},
                buttons=list(custom.get("buttons") or []),
                directory=directory if isinstance(directory, str) else None,
                picker=custom.get("picker") is True,
            )
        )
    return replies


_MENU_BUTTON = {"key": "button.menu", "payload": "/ask_menu"}


class RasaClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str, timeout: float) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    async def turn(self, sender: str, text: str, metadata: Mapping[str, Any]) -> list[RasaReply]:
        started, outcome = time.perf_counter(), "error"
        try:
            response = await self._request(
                "POST",
                "/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": dict(metadata)},
            )
            replies = parse_replies(response.json())
            if not replies:
                # Every turn of Sahay's domain says something. Rasa's REST channel answers
                # 200 [] when the turn failed inside it (its lock store down, an action
                # crashed): the message is tried again, never marked answered in silence.
                raise RasaError("Rasa answered nothing")
            outcome = "ok"
            return replies
        except RasaUnavailable:
            outcome = "unavailable"
            raise
        finally:
            metrics.RASA_LATENCY.labels(outcome).observe(time.perf_counter() - started)
            if outcome != "ok":
                metrics.ERRORS.labels("rasa").inc()

    async def model_loaded(self) -> bool:
        response = await self._request("GET", "/status", params={"token": self._token})
        status = response.json()
        return bool(status.get("model_file") or status.get("model_id"))

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(
                method, self._base_url + path, timeout=self._timeout, **kwargs
            )
        except httpx.TransportError as exc:
            raise RasaUnavailable(type(exc).__name__) from exc
        if response.status_code >= 500 or response.status_code in (408, 409, 429):
            raise RasaUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise RasaError(f"HTTP {response.status_code}")
        return response
