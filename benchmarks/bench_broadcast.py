"""Broadcast delivery at the platforms' limits, with and without workers killed mid-run.

    make bench-broadcast   (or: benchmarks/bench_broadcast.py --scale 0.1 for a quick look)

Real `sahay worker` processes on PostgreSQL and Redis send one broadcast to every recipient
through local fake platforms that enforce the limits and answer 429 when exceeded
(benchmarks/fake_platforms.py). Runs: 100,000 Telegram recipients at the paid-broadcast limit
(1000/s), 100,000 WhatsApp recipients at 1000/s, 3,000 Telegram recipients at the free 30/s;
each with 1 and with 3 workers, then again with a worker `kill -9`-ed at random three times:
the process that sends, which its pre-forking parent replaces at once (bot/prefork.py), or with
--cold the whole `sahay worker`, which the harness starts again. Reported per run: achieved
rate as a fraction of the limit (the fake platform's accepted messages over the time from its
first to its last), 429s received, duplicates (a chat that got it twice), unsent (recipients
whose row is not sent or uncertain at the end) and uncertain.
Results: benchmarks/results/broadcast.json.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from storage import broadcasts  # noqa: E402
from storage.broadcast_models import Broadcast, BroadcastStatus, Subscription  # noqa: E402
from storage.crypto import AddressBox  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import create_database, upgrade  # noqa: E402
from storage.models import Contact, StaffRole, utcnow  # noqa: E402
from storage.staff import create_user  # noqa: E402
from tests.conftest import reset_postgres, unused_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "benchmarks" / "results" / "broadcast.json"
SAHAY = ROOT / ".venv" / "bin" / "sahay"
SECRET = "bench-broadcast-secret-key-0123456789abcdef"
TOKEN = "123456:BENCH-token"
PHONE_ID = "106540352242922"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://root@127.0.0.1:5432/sahay_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
SCENARIOS = [
    # (name, channel, limit, recipients, Telegram paid broadcast)
    ("telegram_paid_1000", "telegram", 1000, 100_000, True),
    ("whatsapp_1000", "whatsapp", 1000, 100_000, False),
    ("telegram_free_30", "telegram", 30, 3_000, False),
]


async def seed(channel: str, recipients: int) -> int:
    """A migrated database with `recipients` subscribed contacts and one approved broadcast
    in two languages, started (its ledger written). Returns the broadcast id."""
    await reset_postgres(DATABASE_URL)
    await asyncio.to_thread(upgrade, DATABASE_URL)
    box = AddressBox.from_settings("", SECRET)
    database = Database(DATABASE_URL, box)
    now = utcnow()
    async with database.session() as session:
        rows = []
        for n in range(recipients):
            address = str(7_000_000_000 + n) if channel == "telegram" else f"960{7_000_000 + n}"
            rows.append(
                {
                    "id": f"b{n:07d}",
                    "channel": channel,
                    "language": "bn" if n % 3 == 0 else "en",
                    "address": box.seal(address),
                    "created_at": now,
                    "last_seen_at": now,
                    "last_inbound_at": now,
                    "reachable": True,
                }
            )
        for start in range(0, recipients, 5000):
            await session.execute(insert(Contact), rows[start : start + 5000])
        subs = [
            {"contact_id": r["id"], "topic": "all", "active": True, "changed_at": now}
            for r in rows
        ]
        for start in range(0, recipients, 5000):
            await session.execute(insert(Subscription), subs[start : start + 5000])
        author = await create_user(session, "author@bench.test", "a" * 12, StaffRole.STAFF)
        checker = await create_user(session, "checker@bench.test", "b" * 12, StaffRole.STAFF)
        broadcast = Broadcast(title="Cyclone warning", topic="weather", author_id=author.id)
        session.add(broadcast)
        await session.flush()
        for language, words in (
            ("en", "Cyclone warning for tonight: stay indoors, keep your phone charged."),
            ("bn", "আজ রাতে ঘূর্ণিঝড়ের সতর্কতা: ঘরে থাকুন, ফোনে চার্জ রাখুন।"),
        ):
            variant = await broadcasts.write_variant(session, broadcast, language, words, author)
            await broadcasts.review(session, variant, checker)
        await broadcasts.approve(session, broadcast, checker)
        written = await broadcasts.start(session, broadcast)
        assert written == recipients, written  # noqa: S101
        broadcast_id = broadcast.id
    await database.dispose()
    return broadcast_id


def worker_env(port: int, channel: str, paid: bool, limit: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "RASA_URL": f"http://127.0.0.1:{unused_port()}",
        "WORKER_POLL_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    if channel == "telegram":
        env |= {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
            "TELEGRAM_WEBHOOK_URL": "https://bench.example/webhooks/telegram",
            "TELEGRAM_PAID_BROADCAST": "true" if paid else "false",
        }
    else:
        env |= {
            "WHATSAPP_TOKEN": "bench-token",
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "WHATSAPP_APP_SECRET": "bench-secret",
            "WHATSAPP_VERIFY_TOKEN": "bench-verify",
            "WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{port}",
            "WHATSAPP_MESSAGES_PER_SECOND": str(limit),
        }
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the harness's own processes
        return subprocess.Popen([str(SAHAY), "worker"], env=env, stdout=out, stderr=out)


def worker_processes(parent: int) -> list[int]:
    """The forked processes of one `sahay worker` (bot/prefork.py)."""
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


async def ledger_counts(
    database: Database, broadcast_id: int, count: bool
) -> tuple[str, dict[str, int]]:
    """The broadcast's status (a primary-key read); the ledger's counts only when asked: a
    GROUP BY over 100,000 rows twice a second would load the database under test."""
    async with database.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        counts = await broadcasts.count_by_state(session, broadcast_id) if count else {}
        status = broadcast.status.value if broadcast else "?"
    return status, counts


async def run(
    name: str,
    channel: str,
    limit: int,
    recipients: int,
    paid: bool,
    workers: int,
    kills: int,
    cold: bool,
) -> dict[str, Any]:
    broadcast_id = await seed(channel, recipients)
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    port = unused_port()
    logs = Path(tempfile.gettempdir()) / f"sahay-bench-{name}-{workers}-{kills}"
    logs.mkdir(parents=True, exist_ok=True)
    fake = subprocess.Popen(  # noqa: ASYNC220 - the harness starts its processes
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fake_platforms.py"),
            "--port",
            str(port),
            "--telegram-limit",
            str(limit),
            "--whatsapp-limit",
            str(limit),
        ],
        # The platform counts a message when it handles it. On 2 cores shared with the
        # workers it would fall behind and then handle a backlog at once, counting arrivals
        # that were spread out as a burst; ahead of the workers, it counts them as they come.
        preexec_fn=lambda: os.nice(-10),
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(100):
            try:
                await http.get("/stats")
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        env = worker_env(port, channel, paid, limit)
        procs = [start_worker(env, logs / f"worker-{i}.log") for i in range(workers)]
        expected = recipients / limit
        kill_at = sorted(random.uniform(0.15, 0.8) * expected for _ in range(kills))  # noqa: S311
        started = time.monotonic()
        killed = 0
        status = "sending"
        counts: dict[str, int] = {}
        watcher = Database(DATABASE_URL)
        while time.monotonic() - started < expected * 3 + 120:
            await asyncio.sleep(0.5)
            elapsed = time.monotonic() - started
            if killed < len(kill_at) and elapsed >= kill_at[killed]:
                victim = random.randrange(len(procs))  # noqa: S311
                if cold:  # the whole `sahay worker`, started again by the harness
                    procs[victim].send_signal(signal.SIGKILL)
                    procs[victim].wait()
                    procs[victim] = start_worker(env, logs / f"worker-{victim}.log")
                else:  # the process that sends; its pre-forking parent forks another
                    for pid in worker_processes(procs[victim].pid):
                        os.kill(pid, signal.SIGKILL)
                killed += 1
            status, _ = await ledger_counts(watcher, broadcast_id, count=False)
            if status == BroadcastStatus.DONE.value:
                break
        wall = time.monotonic() - started
        status, counts = await ledger_counts(watcher, broadcast_id, count=True)
        await watcher.dispose()
        stats = (await http.get("/stats")).json()[channel]
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    fake.send_signal(signal.SIGTERM)
    fake.wait(timeout=10)
    uncertain = counts.get("uncertain", 0)
    unsent = recipients - counts.get("sent", 0) - uncertain
    return {
        "scenario": name,
        "workers": workers,
        "kills": killed,
        "killed": "" if not killed else "whole worker, cold" if cold else "sending process",
        "recipients": recipients,
        "limit_per_second": limit,
        "broadcast_status": status,
        "achieved_per_second": stats["rate"],
        "fraction_of_limit": round(stats["rate"] / limit, 3) if stats["rate"] else 0.0,
        "received_429": stats["refused_429"],
        "duplicates": stats["duplicates"],
        "accepted_by_platform": stats["accepted"],
        "longest_pauses_seconds": stats["longest_pauses"],
        "unsent": unsent,
        "uncertain": uncertain,
        "ledger": counts,
        "wall_seconds": round(wall, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the recipients")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--workers", default="1,3")
    parser.add_argument("--kills", default="0,3")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="kill the whole `sahay worker` and start it again, not only its sending process",
    )
    args = parser.parse_args()
    await create_database(DATABASE_URL)
    # As a deployment does: Sahay's code as bytecode, so a restarted worker does not compile.
    for package in ("bot", "storage", "web", "nlu"):
        compileall.compile_dir(ROOT / package, quiet=1)
    results = []
    for name, channel, limit, recipients, paid in SCENARIOS:
        if args.only and name not in args.only.split(","):
            continue
        for workers in (int(w) for w in args.workers.split(",")):
            for kills in (int(k) for k in args.kills.split(",")):
                n = max(100, int(recipients * args.scale))
                result = await run(name, channel, limit, n, paid, workers, kills, args.cold)
                print(json.dumps(result), flush=True)
                results.append(result)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "scale": args.scale,
                "runs": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    asyncio.run(main())
