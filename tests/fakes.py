"""Local stand-ins for the Telegram Bot API and the WhatsApp Cloud (Graph) API: real HTTP
servers on loopback that speak the platforms' JSON, so python-telegram-bot and Sahay's httpx
client run unchanged against them. Each records what it was sent and can be told to answer
the next sends with an error (429, 403, 400, 130429...), as the real platforms do."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import unused_port

TELEGRAM_TOKEN = "123456:TEST-token_for-the-fake-server"
WHATSAPP_TOKEN = "EAAG-test-token"
PHONE_NUMBER_ID = "106540352242922"
SEND_METHODS = {"sendMessage", "sendPhoto", "sendAudio", "sendDocument"}


@dataclass
class FakeTelegram:
    token: str = TELEGRAM_TOKEN
    sent: list[dict[str, Any]] = field(default_factory=list)  # {"method", **parameters}
    calls: list[str] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    confirmed: int = 0  # getUpdates offset: updates below it are forgotten, as Telegram does
    webhook: dict[str, Any] = field(default_factory=dict)
    deleted_webhook: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # next sends fail
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(500))
    url: str = ""

    @property
    def base_url(self) -> str:
        """python-telegram-bot's `base_url` for this server."""
        return f"{self.url}/bot"

    def fail_next(self, status: int, description: str, retry_after: int | None = None) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self.errors.append((status, body))

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [
            str(m.get("text") or m.get("caption") or "")
            for m in self.sent
            if chat_id is None or int(m["chat_id"]) == chat_id
        ]

    async def _handle(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        method = request.path_params["method"]
        params = await _parameters(request)
        self.calls.append(method)
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        if method == "getMe":
            return _ok(
                {"id": 123456, "is_bot": True, "first_name": "Sahay", "username": "SahayBot"}
            )
        if method == "setWebhook":
            self.webhook = params
            return _ok(True)
        if method == "deleteWebhook":
            self.webhook = {}
            self.deleted_webhook.append(params)
            return _ok(True)
        if method == "getWebhookInfo":
            return _ok(
                {
                    "url": self.webhook.get("url", ""),
                    "has_custom_certificate": False,
                    "pending_update_count": 0,
                }
            )
        if method == "answerCallbackQuery":
            return _ok(True)
        if method in SEND_METHODS:
            if self.errors:
                status, body = self.errors.pop(0)
                return JSONResponse(body, status)
            self.sent.append({"method": method, **params})
            message = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
            message.update(_attachment(method, params))
            return _ok(message)
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.confirmed = max(self.confirmed, offset)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            pending = [u for u in self.updates if u["update_id"] >= self.confirmed]
            if pending or time.monotonic() >= deadline:
                return pending[: int(params.get("limit") or 100)]
            await asyncio.sleep(0.05)


@dataclass
class FakeWhatsApp:
    token: str = WHATSAPP_TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    sent: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    url: str = ""

    def fail_next(self, status: int, code: int, message: str) -> None:
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Az"}
        self.errors.append((status, {"error": error}))

    async def _handle(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(
                {"error": {"message": "Invalid OAuth access token.", "code": 190}}, 401
            )
        if request.path_params["phone"] != self.phone_number_id:
            return JSONResponse(
                {"error": {"message": "Unsupported post request", "code": 100}}, 400
            )
        payload = json.loads(await request.body())
        if self.errors:
            status, body = self.errors.pop(0)
            return JSONResponse(body, status)
        self.sent.append(payload)
        wamid = f"wamid.HBgLOTYwNzAwMDAwMDEVAgARGBI{next(self._ids):06d}"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
                "messages": [{"id": wamid}],
            }
        )


@dataclass
class FakeGoogleTranslate:
    """translate.googleapis.com's `translate_a/single` (client=gtx), as googletrans calls it.
    A "translation" is the text tagged with its target language, so tests can tell a draft
    from the original; `down` makes it answer 503 as Google does when it throttles."""

    asked: list[dict[str, str]] = field(default_factory=list)  # {"sl", "tl", "q"}
    down: bool = False
    url: str = ""

    @staticmethod
    def translated(text: str, target: str) -> str:
        return f"[{target}] {text}"

    async def _handle(self, request: Request) -> JSONResponse:
        params = dict(request.query_params)
        self.asked.append({k: params.get(k, "") for k in ("sl", "tl", "q")})
        if self.down:
            return JSONResponse({"error": "unavailable"}, 503)
        if params.get("client") != "gtx" or not params.get("q"):
            return JSONResponse({"error": "bad request"}, 400)
        text = self.translated(params["q"], params["tl"])
        source = params["sl"] if params.get("sl") != "auto" else "en"
        return JSONResponse([[[text, params["q"], None, None, 10]], None, source])


async def _parameters(request: Request) -> dict[str, Any]:
    """python-telegram-bot posts form fields whose values are JSON (numbers, objects)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        return dict(json.loads(await request.body() or b"{}"))
    body = (await request.body()).decode()
    params: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _attachment(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """What the Bot API answers about a file sent: its file_id, the same one again when the
    file was sent by file_id."""
    field = {"sendAudio": "audio", "sendPhoto": "photo", "sendDocument": "document"}.get(method)
    if field is None:
        return {}
    source = str(params.get(field, ""))
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]  # noqa: S324 - a fake id
    file_id = source if source.startswith("tgfile-") else f"tgfile-{digest}"
    sent = {"file_id": file_id, "file_unique_id": file_id[-12:]}
    extra: dict[str, Any] = {"caption": params["caption"]} if "caption" in params else {}
    if field == "photo":
        return {"photo": [sent | {"width": 640, "height": 480}], **extra}
    if field == "audio":
        return {"audio": sent | {"duration": 12}, **extra}
    return {"document": sent, **extra}


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


@contextmanager
def serve(routes: list[Route]) -> Iterator[str]:
    """Run a Starlette app on a free loopback port in a thread; yields its URL."""
    port = unused_port()
    config = uvicorn.Config(
        Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@contextmanager
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    with serve([Route("/bot{token}/{method}", fake._handle, methods=["GET", "POST"])]) as url:
        fake.url = url
        yield fake


@contextmanager
def fake_whatsapp() -> Iterator[FakeWhatsApp]:
    fake = FakeWhatsApp()
    with serve([Route("/{version}/{phone}/messages", fake._handle, methods=["POST"])]) as url:
        fake.url = url
        yield fake


@contextmanager
def fake_google_translate() -> Iterator[FakeGoogleTranslate]:
    fake = FakeGoogleTranslate()
    with serve([Route("/translate_a/single", fake._handle, methods=["GET"])]) as url:
        fake.url = url
        yield fake


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


# Payloads shaped like the platforms' documented examples.


def telegram_update(update_id: int, chat_id: int = 7_000_001, **message: Any) -> dict[str, Any]:
    body = {
        "message_id": update_id % 100_000,
        "date": 1_764_600_000,
        "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "en"},
        **message,
    }
    return {"update_id": update_id, "message": body}


def telegram_callback(update_id: int, data: str, chat_id: int = 7_000_001) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Test"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user,
            "chat_instance": "-1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1_764_600_000,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": 123456, "is_bot": True, "first_name": "Sahay"},
                "text": "Choose your language:",
            },
        },
    }


def whatsapp_payload(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    entries: int = 1,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages is not None:
        senders = sorted({m["from"] for m in messages if "from" in m})
        value["contacts"] = [{"profile": {"name": "Test"}, "wa_id": s} for s in senders]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    entry = {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
    return {"object": "whatsapp_business_account", "entry": [entry] * entries}


def whatsapp_text(wamid: str, text: str, sender: str = "9607000001") -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": "1764600000",
        "type": "text",
        "text": {"body": text},
    }
