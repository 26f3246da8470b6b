"""Webhook acknowledgement latency: how long Telegram and WhatsApp wait for Sahay's 200 when
200 webhook posts arrive at once.

    make bench-webhooks   (or: benchmarks/bench_webhooks.py --rounds 5 --concurrency 200)

One real `sahay web` process (uvicorn), on SQLite and on PostgreSQL (TEST_DATABASE_URL, or
this machine's server), with Telegram and WhatsApp pointed at the local fake platforms of
tests/fakes.py. Each round posts `concurrency` distinct updates at the same moment and times
each post from the client. The 200 comes once the update is stored; answering it (here: Rasa
is down, so an apology is queued and sent to the fake platform) happens after, in the same
process, so that work competes for the same two cores. Results: benchmarks/results/webhooks.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.supervisor import Service, Supervisor  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.conftest import reset_postgres, unused_port  # noqa: E402
from tests.fakes import (  # noqa: E402
    PHONE_NUMBER_ID,
    WHATSAPP_TOKEN,
    fake_telegram,
    fake_whatsapp,
    telegram_update,
    whatsapp_payload,
    whatsapp_text,
)

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "benchmarks" / "results" / "webhooks.json"
APP_SECRET = "bench-app-secret"
SECRET_TOKEN = "bench-telegram-secret"
PG_DEFAULT = "postgresql+asyncpg://root@127.0.0.1:5432/test"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def telegram_posts(base: int, n: int) -> list[tuple[str, bytes, dict[str, str]]]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET_TOKEN, "Content-Type": "application/json"}
    return [
        (
            "/webhooks/telegram",
            json.dumps(
                telegram_update(base + i, chat_id=8_000_000 + i, text="salary nai")
            ).encode(),
            headers,
        )
        for i in range(n)
    ]


def whatsapp_posts(base: int, n: int) -> list[tuple[str, bytes, dict[str, str]]]:
    posts = []
    for i in range(n):
        body = json.dumps(
            whatsapp_payload(
                [
                    whatsapp_text(
                        f"wamid.bench{base + i}", "visa problem hai", sender=f"96080{base + i:07d}"
                    )
                ]
            )
        ).encode()
        digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        posts.append(
            (
                "/webhooks/whatsapp",
                body,
                {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"},
            )
        )
    return posts


class Connection:
    """A bare HTTP/1.1 keep-alive connection. httpx's connection pool costs more than Sahay
    itself at this concurrency (200 concurrent GET /livez: median 2.5 s through httpx, 32 ms
    over bare sockets, on this machine), so the client would measure itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await self.reader.readexactly(int(line.split(b":", 1)[1]))
        return status

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def burst(
    port: int, posts: list[tuple[str, bytes, dict[str, str]]]
) -> tuple[list[float], int]:
    """All posts at the same moment, each on its own open connection."""
    connections = [await Connection.open(port) for _ in posts]
    start = asyncio.Event()

    async def one(
        connection: Connection, post: tuple[str, bytes, dict[str, str]]
    ) -> tuple[float, int]:
        await start.wait()
        began = time.perf_counter()
        status = await connection.post(*post)
        return (time.perf_counter() - began) * 1000, status

    tasks = [asyncio.create_task(one(c, p)) for c, p in zip(connections, posts, strict=True)]
    await asyncio.sleep(0.2)
    start.set()
    results = await asyncio.gather(*tasks)
    await asyncio.gather(*(c.close() for c in connections))
    return [ms for ms, _ in results], sum(1 for _, code in results if code != 200)


async def run_database(name: str, url: str, rounds: int, concurrency: int) -> dict[str, Any]:
    if name == "postgresql":
        await reset_postgres(url)
    await asyncio.to_thread(upgrade, url)
    results: dict[str, Any] = {}
    with fake_telegram() as tg, fake_whatsapp() as wa, tempfile.TemporaryDirectory() as tmp:
        port = unused_port()
        env = {
            "DATABASE_URL": url,
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "RASA_URL": f"http://127.0.0.1:{unused_port()}",  # down: answers are apologies
            "ACTION_SERVER_URL": f"http://127.0.0.1:{unused_port()}",
            "RASA_TIMEOUT_SECONDS": "2",
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "TELEGRAM_WEBHOOK_URL": "https://sahay.example.org/webhooks/telegram",
            "TELEGRAM_WEBHOOK_SECRET": SECRET_TOKEN,
            "WHATSAPP_TOKEN": WHATSAPP_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "bench",
            "WHATSAPP_API_BASE_URL": wa.url,
        }
        supervisor = Supervisor(Path(tmp) / "log")
        python = str(ROOT / ".venv" / "bin" / "python")
        supervisor.start(Service("web", [python, "-m", "bot.cli", "web"], env))
        web = f"http://127.0.0.1:{port}"
        try:
            await wait_alive(web)
            for channel, make in (("telegram", telegram_posts), ("whatsapp", whatsapp_posts)):
                latencies: list[float] = []
                errors = 0
                medians = []
                for r in range(rounds):
                    ms, failed = await burst(port, make(100_000 + r * concurrency, concurrency))
                    latencies += ms
                    errors += failed
                    medians.append(statistics.median(ms))
                    await asyncio.sleep(3)  # let the answers drain before the next burst
                results[channel] = {
                    "posts": len(latencies),
                    "non_200": errors,
                    "p50_ms": round(percentile(latencies, 50), 1),
                    "p90_ms": round(percentile(latencies, 90), 1),
                    "p99_ms": round(percentile(latencies, 99), 1),
                    "max_ms": round(max(latencies), 1),
                    "round_medians_ms": [round(m, 1) for m in medians],
                }
                print(name, channel, results[channel], flush=True)
            results["replies_sent_to_fakes"] = {"telegram": len(tg.sent), "whatsapp": len(wa.sent)}
        finally:
            supervisor.stop_all()
    return results


async def wait_alive(url: str) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/livez")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("sahay web did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    urls = {
        "postgresql": os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT,
    }
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "note": "one sahay web process; Rasa down (answers are queued apologies, sent to the "
        "fake platforms in the same process); client on the same machine",
    }
    with tempfile.TemporaryDirectory() as tmp:
        urls["sqlite"] = f"sqlite+aiosqlite:///{tmp}/bench.db"
        for name in args.databases.split(","):
            report[name] = await run_database(name, urls[name], args.rounds, args.concurrency)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
