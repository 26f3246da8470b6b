"""Telegram's Bot API and WhatsApp's Cloud API as a local server that enforces their rate
limits, for `make bench-broadcast`: more than `--telegram-limit` (or `--whatsapp-limit`)
messages in any one-second window, and the platform answers 429 (Telegram, with retry_after)
or 130429 (WhatsApp), as the real ones do. It counts what it accepted per chat, so a message
sent twice is seen, and `GET /stats` reports it all.

    python benchmarks/fake_platforms.py --port 9100 --telegram-limit 1000 --whatsapp-limit 1000
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import time
import urllib.parse
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Sahay", "username": "sahay_bench_bot"}


class Window:
    """Arrivals in the last second; `admit` refuses the one that would exceed the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.times: collections.deque[float] = collections.deque()

    def admit(self, now: float) -> bool:
        while self.times and self.times[0] <= now - 1.0:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return False
        self.times.append(now)
        return True


class Platform:
    def __init__(self, limit: int) -> None:
        self.window = Window(limit)
        self.accepted: collections.Counter[str] = collections.Counter()
        self.refused = 0
        self.first: float | None = None
        self.last: float | None = None
        self.pauses: list[float] = []  # silences over 0.2 s between accepted messages

    def take(self, chat: str) -> bool:
        now = time.monotonic()
        if not self.window.admit(now):
            self.refused += 1
            return False
        self.accepted[chat] += 1
        self.first = self.first if self.first is not None else now
        if self.last is not None and now - self.last > 0.2:
            self.pauses.append(now - self.last)
        self.last = now
        return True

    def stats(self) -> dict[str, Any]:
        span = (self.last - self.first) if self.first is not None and self.last else 0.0
        total = sum(self.accepted.values())
        return {
            "limit": self.window.limit,
            "accepted": total,
            "distinct": len(self.accepted),
            "duplicates": total - len(self.accepted),
            "refused_429": self.refused,
            "span_seconds": round(span, 3),
            "rate": round((total - 1) / span, 1) if span > 0 else None,
            "longest_pauses": [round(p, 2) for p in sorted(self.pauses, reverse=True)[:5]],
        }


def build(telegram_limit: int, whatsapp_limit: int) -> Starlette:
    telegram, whatsapp = Platform(telegram_limit), Platform(whatsapp_limit)
    ids = itertools.count(1)

    async def bot_api(request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if method == "getMe":
            return JSONResponse({"ok": True, "result": BOT_USER})
        if method in ("setWebhook", "deleteWebhook"):
            return JSONResponse({"ok": True, "result": True})
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            params = json.loads(body or b"{}")
        else:
            params = dict(urllib.parse.parse_qsl(body.decode()))
        chat = str(params.get("chat_id"))
        if not telegram.take(chat):
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                429,
            )
        message = {
            "message_id": next(ids),
            "date": int(time.time()),
            "chat": {"id": int(chat), "type": "private"},
            "from": BOT_USER,
            "text": str(params.get("text", "")),
        }
        return JSONResponse({"ok": True, "result": message})

    async def cloud_api(request: Request) -> JSONResponse:
        payload = json.loads(await request.body())
        if not whatsapp.take(str(payload.get("to"))):
            error = {
                "message": "(#130429) Rate limit hit",
                "code": 130429,
                "type": "OAuthException",
            }
            return JSONResponse({"error": error}, 400)
        wamid = f"wamid.BENCH{next(ids):09d}"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
                "messages": [{"id": wamid}],
            }
        )

    async def stats(_request: Request) -> JSONResponse:
        return JSONResponse({"telegram": telegram.stats(), "whatsapp": whatsapp.stats()})

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
            Route("/{version}/{phone}/messages", cloud_api, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--telegram-limit", type=int, default=30)
    parser.add_argument("--whatsapp-limit", type=int, default=80)
    args = parser.parse_args()
    app = build(args.telegram_limit, args.whatsapp_limit)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
