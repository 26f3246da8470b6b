"""`make bench-load`: Sahay in production mode under a crowd, and while its parts fail.

The stack is what `make run-prod` starts: PostgreSQL (gateway and Rasa's tracker store),
Redis (Rasa's lock store, shared pacing), Rasa, the action server, two `sahay web` and two
`sahay worker` processes, Telegram in webhook mode. Telegram itself is a local Bot API in
this process, so python-telegram-bot's real requests arrive here and every reply is timed.

Phases, side by side in one run:
1. raw Rasa: its REST channel, posted to directly by 64 senders without pause, 60 s;
2. Sahay saturated: the same turns as Telegram webhooks from 64 contacts without pause,
   60 s (throughput as a fraction of raw Rasa's);
3. the crowd: 1,000 contacts holding multi-turn conversations in eight languages (a turn,
   the reply, a pause of 10-30 s, the next turn), 10 minutes: throughput, reply latency
   p50/p95/p99, errors, each process's memory growth;
4. the same crowd for 3 minutes while (a) Rasa is killed and restarted, (b) PostgreSQL is
   restarted, (c) Redis is restarted.
After each phase of Sahay the crowd stops and Sahay is given time to finish; then every
message is checked: stored once, answered, each answer delivered exactly once (the platform's
count per chat against the database), none lost, none doubled.

Telegram retries a webhook that did not get a 200 (at most once a second here, as long as
needed): so does this crowd. Results: benchmarks/results/load.json.

    make bench-load                      # the full run, about 30 minutes
    make bench-load BENCH_ARGS=--quick   # 100 contacts, 1-minute phases
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bot.i18n import Renderer, load_catalogues  # noqa: E402
from bot.messages import LANGUAGE_NAMES  # noqa: E402
from bot.pseudonym import contact_id  # noqa: E402
from bot.rasa_model import ensure_model  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.supervisor import Service, Supervisor, services  # noqa: E402
from storage import directory  # noqa: E402
from storage.crypto import new_key  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import create_database, upgrade  # noqa: E402
from storage.models import InboundRecord, InboundStatus, OutboundRecord  # noqa: E402
from tests.conftest import reset_postgres, unused_port  # noqa: E402
from tests.e2e.test_make_run import descendants  # noqa: E402

OUTPUT = ROOT / "benchmarks" / "results" / "load.json"
SERVER = os.environ.get("BENCH_PG", "postgresql+asyncpg://root@127.0.0.1:5432")
DATABASE_URL = f"{SERVER}/sahay_load"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
TOKEN = "123456:load-bench"
RENDERER = Renderer(load_catalogues())
SETTLE_SECONDS = 240
REPLY_TIMEOUT = 300

# How people write to a helpline: short, informal, typos, code-mixed. Written for this
# benchmark; each contact holds one of these, from the start, turn by turn.
CONVERSATIONS = {
    "en": [
        ["hi", "i need doctor", "where is hospital near male", "ok thanks"],
        ["hello", "no salary 2 month", "legal help pls", "thank u"],
        ["hey", "food help?", "how to get food packet", "bye"],
    ],
    "hi_latn": [
        ["namaste", "mujhe doctor chahiye", "hospital kaha hai", "shukriya"],
        ["hello bhai", "salary nahi mili 2 mahine se", "visa problem hai", "dhanyavad"],
    ],
    "bn_latn": [
        ["salam", "amar passport malik rekhe dise", "legal help lagbe", "dhonnobad"],
        ["hi", "khabar nai ghore", "food kothay pabo", "thik ache"],
    ],
    "ne_latn": [
        ["namaste", "malai doctor chahiyo", "aspatal kaha cha", "dhanyabad"],
        ["hello", "khana chahiyo", "kaha paune", "thank you"],
    ],
    "es": [
        ["hola", "necesito un medico", "donde hay un hospital", "gracias"],
        ["buenas", "no me pagan hace 2 meses", "ayuda legal por favor", "gracias"],
    ],
    "ta_latn": [
        ["vanakkam", "enakku doctor venum", "hospital enga irukku", "nandri"],
    ],
    "si_latn": [
        ["ayubowan", "mata doctor kenek ona", "rohala koheda", "sthuthi"],
    ],
    "dv": [
        ["އައްސަލާމު ޢަލައިކުމް", "ޑޮކްޓަރަކު ބޭނުން", "ހޮސްޕިޓަލް ކޮބާ", "ޝުކުރިއްޔާ"],
    ],
}
SCRIPTS = [turns for lines in CONVERSATIONS.values() for turns in lines]


# ---------------------------------------------------------------------------------------
# Telegram, here: the Bot API python-telegram-bot calls, recording each reply per chat.


# "Sorry, I can't answer right now, I'll reply shortly": sent while Rasa is down, before the
# answer. Not the answer: reply latency is measured to the answer.
NOTICES = {RENDERER.text("try_again", lang) for lang in LANGUAGE_NAMES}


@dataclass
class Chats:
    received: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    answers: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    events: dict[int, asyncio.Event] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def event(self, chat: int) -> asyncio.Event:
        return self.events.setdefault(chat, asyncio.Event())

    def app(self) -> Starlette:
        async def bot_api(request: Request) -> JSONResponse:
            method = request.path_params["method"]
            if method == "getMe":
                me = {"id": 1, "is_bot": True, "first_name": "Sahay", "username": "sahay_bot"}
                return JSONResponse({"ok": True, "result": me})
            if method in ("setWebhook", "deleteWebhook", "answerCallbackQuery"):
                return JSONResponse({"ok": True, "result": True})
            body = await request.body()
            if request.headers.get("content-type", "").startswith("application/json"):
                params = json.loads(body or b"{}")
            else:
                params = dict(await request.form())
            chat = int(str(params.get("chat_id")))
            self.received[chat].append(time.monotonic())
            if str(params.get("text", "")) not in NOTICES:
                self.answers[chat].append(time.monotonic())
            self.event(chat).set()
            message = {
                "message_id": next(self.ids),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": str(params.get("text", "")),
            }
            return JSONResponse({"ok": True, "result": message})

        return Starlette(routes=[Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"])])


# ---------------------------------------------------------------------------------------
# The crowd.


@dataclass
class Tally:
    posted: int = 0  # distinct updates
    retries: int = 0  # posts that had to be made again (non-200 or no answer)
    answered: int = 0
    unanswered: int = 0  # no reply within REPLY_TIMEOUT
    latencies: list[float] = field(default_factory=list)
    first_at: float | None = None
    last_reply_at: float | None = None


async def post_until_accepted(
    client: httpx.AsyncClient, url: str, update: dict[str, Any], secret: str, tally: Tally
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    while True:
        try:
            response = await client.post(url, json=update, headers=headers, timeout=30)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        tally.retries += 1
        await asyncio.sleep(1.0)


def update_for(update_id: int, chat: int, text_: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1_000_000,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": "Load"},
            "from": {"id": chat, "is_bot": False, "first_name": "Load"},
            "text": text_,
        },
    }


async def converse(
    chat: int,
    script: list[str],
    until: float,
    think: tuple[float, float],
    url: str,
    secret: str,
    client: httpx.AsyncClient,
    chats: Chats,
    tally: Tally,
    update_ids: itertools.count[int],
) -> None:
    await asyncio.sleep(random.uniform(0, think[1]))  # noqa: S311 - a load pattern
    for turn in itertools.cycle(script):
        if time.monotonic() >= until:
            return
        seen = len(chats.answers[chat])
        chats.event(chat).clear()
        started = time.monotonic()
        tally.first_at = tally.first_at or started
        tally.posted += 1
        await post_until_accepted(
            client, url, update_for(next(update_ids), chat, turn), secret, tally
        )
        deadline = started + REPLY_TIMEOUT
        while len(chats.answers[chat]) == seen and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(chats.event(chat).wait(), deadline - time.monotonic())
            except TimeoutError:
                break
            chats.event(chat).clear()
        if len(chats.answers[chat]) > seen:
            tally.answered += 1
            tally.latencies.append(chats.answers[chat][seen] - started)
            tally.last_reply_at = chats.answers[chat][seen]
        else:
            tally.unanswered += 1
        await asyncio.sleep(random.uniform(*think))  # noqa: S311


async def crowd(
    chats: Chats,
    chat_ids: list[int],
    seconds: float,
    think: tuple[float, float],
    base: str,
    secret: str,
    update_ids: itertools.count[int],
    during: Any = None,
) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(limits=limits) as client:
        talks = [
            converse(
                chat,
                SCRIPTS[i % len(SCRIPTS)],
                until,
                think,
                f"{base}/webhooks/telegram",
                secret,
                client,
                chats,
                tally,
                update_ids,
            )
            for i, chat in enumerate(chat_ids)
        ]
        tasks = [asyncio.gather(*talks)]
        if during is not None:
            tasks.append(during)
        await asyncio.gather(*tasks)
    return tally


async def raw_rasa(rasa_url: str, senders: int, seconds: float) -> dict[str, Any]:
    """Rasa's REST channel, posted to directly: the ceiling Sahay is measured against."""
    until = time.monotonic() + seconds
    done: list[float] = []
    errors = 0

    async def sender(n: int) -> None:
        nonlocal errors
        script = SCRIPTS[n % len(SCRIPTS)]
        async with httpx.AsyncClient() as client:
            for turn in itertools.cycle(script):
                if time.monotonic() >= until:
                    return
                started = time.monotonic()
                try:
                    response = await client.post(
                        f"{rasa_url}/webhooks/rest/webhook",
                        json={"sender": f"raw-{n}", "message": turn},
                        timeout=60,
                    )
                    response.raise_for_status()
                    done.append(time.monotonic() - started)
                except httpx.HTTPError:
                    errors += 1

    began = time.monotonic()
    await asyncio.gather(*(sender(n) for n in range(senders)))
    span = time.monotonic() - began
    return {
        "senders": senders,
        "seconds": round(span, 1),
        "turns": len(done),
        "turns_per_second": round(len(done) / span, 2),
        "latency_p50_s": _pct(done, 50),
        "latency_p95_s": _pct(done, 95),
        "errors": errors,
    }


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 3)


# ---------------------------------------------------------------------------------------
# The stack, and what is done to it.


@dataclass
class Stack:
    settings: Settings
    supervisor: Supervisor
    rasa: Service
    base: str

    def pids(self) -> dict[str, list[int]]:
        """Each service's processes (a worker's pre-forked child too)."""
        return {
            name: [p.pid, *descendants(p.pid)] for name, p in self.supervisor.processes.items()
        }


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def memory(stack: Stack) -> dict[str, float]:
    return {name: rss_mb(pids) for name, pids in stack.pids().items()}


def wait_healthy(base: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("Sahay did not become ready")


async def kill_rasa(stack: Stack, after: float) -> dict[str, Any]:
    await asyncio.sleep(after)
    process = stack.supervisor.processes.pop("rasa")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed = time.monotonic()
    stack.supervisor.start(stack.rasa)
    while True:
        try:
            async with httpx.AsyncClient() as client:
                status = await client.get(
                    f"{stack.settings.rasa_url}/status",
                    timeout=3,
                    params={"token": stack.settings.rasa_token},
                )
            if status.status_code == 200 and status.json().get("model_file"):
                break
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    return {
        "fault": "rasa killed (SIGKILL) and restarted",
        "down_seconds": round(time.monotonic() - killed, 1),
    }


async def restart_postgres(after: float) -> dict[str, Any]:
    await asyncio.sleep(after)
    started = time.monotonic()
    await asyncio.to_thread(
        subprocess.run, ["pg_ctlcluster", "15", "main", "restart", "-m", "fast"], check=True
    )
    return {
        "fault": "PostgreSQL restarted (fast)",
        "down_seconds": round(time.monotonic() - started, 1),
    }


def redis_up() -> bool:
    return subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode == 0


def start_redis() -> None:
    subprocess.run(
        ["redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly",
         "no", "--daemonize", "yes"],
        check=True,
    )  # fmt: skip
    while not redis_up():
        time.sleep(0.1)


async def restart_redis(after: float) -> dict[str, Any]:
    await asyncio.sleep(after)
    started = time.monotonic()
    await asyncio.to_thread(
        subprocess.run, ["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True
    )
    await asyncio.sleep(2.0)  # down for a moment, as a restart is
    await asyncio.to_thread(start_redis)
    return {"fault": "Redis restarted", "down_seconds": round(time.monotonic() - started, 1)}


# ---------------------------------------------------------------------------------------
# Exactly once, checked.


async def verify(
    database: Database, settings: Settings, chats: Chats, chat_ids: list[int], posted: int
) -> dict[str, Any]:
    """After Sahay finished: every update stored once, answered, each reply delivered once."""
    by_contact = {contact_id(settings.secret_key, "telegram", str(c)): c for c in chat_ids}
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        async with database.session() as session:
            inbound = (
                await session.execute(
                    select(InboundRecord.status, func.count())
                    .where(InboundRecord.contact_id.in_(by_contact))
                    .group_by(InboundRecord.status)
                )
            ).all()
            out_rows = (
                await session.execute(
                    select(
                        OutboundRecord.contact_id,
                        OutboundRecord.in_reply_to,
                        OutboundRecord.message_key,
                        OutboundRecord.status,
                    ).where(OutboundRecord.contact_id.in_(by_contact))
                )
            ).all()
        states = {str(s): n for s, n in inbound}
        waiting = sum(n for s, n in states.items() if s != InboundStatus.DONE.value)
        unsent = sum(1 for row in out_rows if row.status not in ("sent", "failed"))
        if (waiting == 0 and unsent == 0) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    stored = sum(states.values())
    answered_inbound = {row.in_reply_to for row in out_rows if row.message_key != "try_again"}
    per_key = Counter(
        (row.in_reply_to, row.message_key) for row in out_rows if row.message_key != "try_again"
    )
    sent_per_contact = Counter(row.contact_id for row in out_rows if row.status == "sent")
    platform = {c: len(chats.received[c]) for c in chat_ids}
    doubled = sum(
        max(0, platform[chat] - sent_per_contact.get(cid, 0)) for cid, chat in by_contact.items()
    )
    lost_sends = sum(
        max(0, sent_per_contact.get(cid, 0) - platform[chat]) for cid, chat in by_contact.items()
    )
    return {
        "updates_posted": posted,
        "inbound_stored": stored,
        "inbound_by_status": states,
        "inbound_answered": len(answered_inbound),
        "inbound_unanswered": stored - len(answered_inbound),
        "answers_doubled": sum(n - 1 for n in per_key.values() if n > 1),
        "replies_stored": len(out_rows),
        "replies_unsent": sum(1 for row in out_rows if row.status != "sent"),
        "try_again_notices": sum(1 for row in out_rows if row.message_key == "try_again"),
        "platform_received": sum(platform.values()),
        "delivered_twice": doubled,
        "delivered_never": lost_sends,
        "exactly_once": stored == posted
        and len(answered_inbound) == stored
        and not any(n > 1 for n in per_key.values())
        and doubled == 0
        and lost_sends == 0
        and all(row.status == "sent" for row in out_rows),
    }


def summary(tally: Tally, seconds: float) -> dict[str, Any]:
    span = (tally.last_reply_at or 0) - (tally.first_at or 0)
    return {
        "seconds": round(seconds, 1),
        "turns_posted": tally.posted,
        "turns_answered": tally.answered,
        "throughput_turns_per_second": round(tally.answered / span, 2) if span > 0 else None,
        "latency_p50_s": _pct(tally.latencies, 50),
        "latency_p95_s": _pct(tally.latencies, 95),
        "latency_p99_s": _pct(tally.latencies, 99),
        "latency_mean_s": round(statistics.fmean(tally.latencies), 3) if tally.latencies else None,
        "webhook_retries": tally.retries,
        "unanswered_in_time": tally.unanswered,
        "error_rate": round((tally.retries + tally.unanswered) / max(tally.posted, 1), 4),
    }


async def phase(
    name: str,
    stack: Stack,
    database: Database,
    chats: Chats,
    chat_ids: list[int],
    seconds: float,
    think: tuple[float, float],
    update_ids: itertools.count[int],
    fault: Any = None,
) -> dict[str, Any]:
    print(
        f"[{time.strftime('%H:%M:%S')}] {name}: {len(chat_ids)} contacts, {seconds:.0f} s",
        flush=True,
    )
    before = memory(stack)
    results: dict[str, Any] = {}

    async def injected() -> None:
        results["fault"] = await fault

    began = time.monotonic()
    tally = await crowd(
        chats, chat_ids, seconds, think, stack.base, stack.settings.telegram_secret,
        update_ids, injected() if fault is not None else None,
    )  # fmt: skip
    load = summary(tally, time.monotonic() - began)
    after = memory(stack)
    checked = await verify(database, stack.settings, chats, chat_ids, tally.posted)
    result = {
        "phase": name,
        "contacts": len(chat_ids),
        **results,
        "load": load,
        "check": checked,
        "memory_mb_before": before,
        "memory_mb_after": after,
        "memory_growth_mb": {n: round(after.get(n, 0) - before.get(n, 0), 1) for n in after},
    }
    print(json.dumps(result, indent=1), flush=True)
    return result


async def prepare(database_url: str) -> None:
    """A fresh gateway database, and none for Rasa's tracker store (Rasa makes it)."""
    await create_database(database_url)
    await reset_postgres(database_url)
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    async with database.session() as session:
        await directory.load(
            session, directory.read_directory(ROOT / "directory" / "maldives.yml")
        )
    await database.dispose()
    admin = Database(f"{SERVER}/postgres")
    async with admin.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text('DROP DATABASE IF EXISTS "sahay_load_tracker" WITH (FORCE)'))
    await admin.dispose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        args.contacts, args.minutes, args.fault_minutes = 100, 1.0, 1.0
        args.saturate_seconds, args.fault_after = 30.0, 20.0
    contacts, minutes, fault_minutes = args.contacts, args.minutes, args.fault_minutes
    if not redis_up():
        start_redis()
    await prepare(DATABASE_URL)
    model, _ = ensure_model(ROOT / "var" / "models")
    chats = Chats()
    fake_port, port = unused_port(), unused_port()
    fake = uvicorn.Server(
        uvicorn.Config(chats.app(), port=fake_port, log_level="warning", access_log=False)
    )
    fake_task = asyncio.create_task(fake.serve())
    var = ROOT / "var" / "bench-load"
    settings = Settings(
        sahay_env="production",
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        secret_key=secrets.token_urlsafe(48),
        rasa_token=secrets.token_urlsafe(24),
        encryption_keys=new_key(),
        rasa_url=f"http://127.0.0.1:{unused_port()}",
        action_server_url=f"http://127.0.0.1:{unused_port()}",
        port=port,
        var_dir=var,
        web_processes=2,
        worker_processes=2,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=f"http://127.0.0.1:{fake_port}/bot",
        telegram_webhook_url="https://sahay.example.org/webhooks/telegram",
    )
    env = {
        "SAHAY_ENV": "production",
        "SECRET_KEY": settings.secret_key,
        "RASA_TOKEN": settings.rasa_token,
        "ENCRYPTION_KEYS": settings.encryption_keys,
        "REDIS_URL": REDIS_URL,
        "PORT": str(port),
        "RASA_URL": settings.rasa_url,
        "ACTION_SERVER_URL": settings.action_server_url,
        "VAR_DIR": str(var),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": settings.telegram_api_base_url,
        "TELEGRAM_WEBHOOK_URL": settings.telegram_webhook_url,
        "ANSWER_CONCURRENCY": str(args.answer_concurrency),
    }
    supervisor = Supervisor(var / "log")
    chosen = services(settings, model, settings.rasa_token)
    for service in chosen:
        service.env.update(env)
        supervisor.start(service)
    stack = Stack(
        settings,
        supervisor,
        next(s for s in chosen if s.name == "rasa"),
        f"http://127.0.0.1:{port}",
    )
    database = Database(DATABASE_URL, settings.box())
    ids = itertools.count(1)
    next_chat = itertools.count(6_000_000_000)
    report: dict[str, Any] = {"phases": []}
    try:
        await asyncio.to_thread(wait_healthy, stack.base)
        if not args.no_saturate:
            await saturate(args, stack, database, chats, ids, next_chat, report)
        if args.no_crowd:
            return report
        think = (args.think_min, args.think_max)
        crowd_ids = [next(next_chat) for _ in range(contacts)]
        report["phases"].append(
            await phase("crowd", stack, database, chats, crowd_ids, minutes * 60, think, ids)
        )
        faults = {
            "rasa_killed": lambda: kill_rasa(stack, args.fault_after),
            "postgres_restarted": lambda: restart_postgres(args.fault_after),
            "redis_restarted": lambda: restart_redis(args.fault_after),
        }
        for name, make_fault in faults.items():
            if args.only_faults is not None and name not in args.only_faults:
                continue
            ids_for = [next(next_chat) for _ in range(contacts)]
            report["phases"].append(
                await phase(
                    name, stack, database, chats, ids_for, fault_minutes * 60, think, ids,
                    make_fault(),
                )
            )  # fmt: skip
    finally:
        await database.dispose()
        supervisor.stop_all()
        if not redis_up():
            start_redis()
        fake.should_exit = True
        await fake_task
    return report


async def saturate(
    args: argparse.Namespace,
    stack: Stack,
    database: Database,
    chats: Chats,
    ids: itertools.count[int],
    next_chat: itertools.count[int],
    report: dict[str, Any],
) -> None:
    """Raw Rasa, then Sahay, each by 64 senders without pause: Sahay's share of Rasa's rate."""
    seconds = args.saturate_seconds
    print(f"[{time.strftime('%H:%M:%S')}] raw Rasa REST, 64 senders, {seconds} s", flush=True)
    report["raw_rasa"] = await raw_rasa(stack.settings.rasa_url, 64, seconds)
    print(json.dumps(report["raw_rasa"]), flush=True)
    senders = [next(next_chat) for _ in range(64)]
    saturated = await phase(
        "sahay_saturated", stack, database, chats, senders, seconds, (0.0, 0.0), ids
    )
    report["phases"].append(saturated)
    sahay_rate = saturated["load"]["throughput_turns_per_second"] or 0
    report["ratio_to_raw_rasa"] = round(sahay_rate / report["raw_rasa"]["turns_per_second"], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 contacts, 1-minute phases")
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fault-minutes", type=float, default=3.0)
    parser.add_argument("--fault-after", type=float, default=45.0)
    parser.add_argument("--saturate-seconds", type=float, default=60.0)
    parser.add_argument("--think-min", type=float, default=10.0)
    parser.add_argument("--think-max", type=float, default=30.0)
    parser.add_argument("--only-faults", nargs="*", default=None)
    parser.add_argument("--no-crowd", action="store_true", help="raw Rasa and saturation only")
    parser.add_argument("--no-saturate", action="store_true", help="skip raw Rasa, saturation")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    # What `make run-prod` sets (scripts/run_prod.py).
    parser.add_argument("--answer-concurrency", type=int, default=16)
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report = asyncio.run(run(args))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    result = {
        "started": started,
        "commit": commit.stdout.strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "arguments": vars(args),
        **report,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"Written {args.output}")


if __name__ == "__main__":
    main()
