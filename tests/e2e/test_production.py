"""`make run-prod` as an operator runs it on this machine: PostgreSQL and Redis, two `sahay web`
processes on one port and two delivery workers, SAHAY_ENV=production. Rasa keeps its
conversations in PostgreSQL and takes its locks in Redis; /metrics counts over every process;
Ctrl-C stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis
import yaml
from sqlalchemy.engine import make_url

from bot.pseudonym import contact_id
from tests.conftest import postgres_url_or_skip, redis_url_or_skip, unused_port
from tests.e2e.test_make_run import alive, descendants, start_make, wait_ready

pytestmark = pytest.mark.e2e


async def _drop(server: dict[str, object], *names: str) -> None:
    conn = await asyncpg.connect(database="postgres", **server)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _tracker_senders(server: dict[str, object], name: str) -> set[str]:
    conn = await asyncpg.connect(database=name, **server)
    try:
        return {r["sender_id"] for r in await conn.fetch("SELECT DISTINCT sender_id FROM events")}
    finally:
        await conn.close()


def _processes(root: int, command: str) -> list[int]:
    found = []
    for pid in descendants(root):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        if [a.decode() for a in argv[-2:]] == ["bot.cli", command]:
            found.append(pid)
    return found


def test_run_prod_serves_from_several_processes_on_postgresql_and_redis(
    model: Path, tmp_path: Path
) -> None:
    test_db = make_url(postgres_url_or_skip())
    name = f"sahay_prod_{secrets.token_hex(4)}"
    server = {"host": test_db.host, "port": test_db.port or 5432, "user": test_db.username}
    port = unused_port()
    env = {
        **os.environ,
        "PROD_DATABASE_URL": test_db.set(database=name).render_as_string(hide_password=False),
        "PROD_REDIS_URL": redis_url_or_skip(),
        "PROD_VAR_DIR": str(tmp_path),
        "PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{unused_port()}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{unused_port()}",
    }
    output = tmp_path / "run-prod.out"
    make = start_make("run-prod", env, output)
    base = f"http://127.0.0.1:{port}"
    started: set[int] = set()
    try:
        wait_ready(base, make, output, 300)
        assert (tmp_path / "prod.env").stat().st_mode & 0o077 == 0  # its secrets: owner only

        webs, workers = _processes(make.pid, "web"), _processes(make.pid, "worker")
        assert len(webs) == 2
        assert len(workers) >= 2  # each with its pre-forked sending child
        senders = [f"prod-{n}" for n in range(24)]
        for sender in senders:  # a new connection each: the kernel spreads them
            with httpx.Client() as client:
                reply = client.post(
                    f"{base}/api/chat/messages", json={"sender": sender, "text": "hello"}
                )
            assert reply.json()["messages"][0]["text"].startswith("Hello, I am Sahay")

        scraped = httpx.get(f"{base}/metrics").text
        counted = re.search(r'sahay_messages_in_total\{channel="webchat"\} ([0-9.]+)', scraped)
        assert counted, scraped[:2000]
        assert float(counted.group(1)) == len(senders)  # summed over both web processes
        assert 'sahay_queue_depth{queue="inbound"}' in scraped
        wrote = {
            p.name.split("_")[-1].removesuffix(".db")
            for p in (tmp_path / "metrics").glob("counter_*.db")
        }
        assert {str(pid) for pid in webs} <= wrote  # both web processes answered some

        endpoints = yaml.safe_load((tmp_path / "rasa" / "endpoints.yml").read_text())
        assert endpoints["tracker_store"]["dialect"] == "postgresql"
        assert endpoints["lock_store"]["type"] == "redis"
        ids = {contact_id(_secret(tmp_path), "webchat", s) for s in senders}
        assert ids <= asyncio.run(_tracker_senders(server, f"{name}_tracker"))

        # Rasa takes each conversation's lock in Redis: seen on the wire.
        locked = f"sahay:lock:{contact_id(_secret(tmp_path), 'webchat', 'prod-lock')}"
        with _redis_commands(redis_url_or_skip()) as seen:
            httpx.post(f"{base}/api/chat/messages", json={"sender": "prod-lock", "text": "hi"})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(locked in c for c in seen):
                time.sleep(0.1)
        assert any(locked in c for c in seen), seen[-20:]

        login = httpx.get(f"{base}/login")
        assert "secure" in login.headers["set-cookie"].lower()  # production cookies
        started = descendants(make.pid)
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=90)
        asyncio.run(_drop(server, name, f"{name}_tracker"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in started):
        time.sleep(0.5)
    assert [p for p in started if alive(p)] == []


@contextlib.contextmanager
def _redis_commands(url: str) -> Iterator[list[str]]:
    """Every command Redis runs meanwhile, as MONITOR prints it (from a thread)."""
    seen: list[str] = []
    done = threading.Event()
    client = redis.Redis.from_url(url)

    def listen() -> None:
        with (
            contextlib.suppress(redis.RedisError, OSError, ValueError),
            client.monitor() as monitor,
        ):
            while not done.is_set():
                seen.append(str(monitor.next_command().get("command", "")))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(0.5)
    try:
        yield seen
    finally:
        done.set()
        client.ping()  # one more command: the listener wakes, sees `done` and stops
        thread.join(timeout=5)
        client.close()


def _secret(var_dir: Path) -> str:
    lines = (var_dir / "prod.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)["SECRET_KEY"]
