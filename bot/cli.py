"""The `sahay` command: run, web, worker, chat, db upgrade, train, report monthly."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import socket
import sys
import time
from types import FrameType

from bot.messages import LANGUAGE_NAMES
from bot.settings import Settings

logger = logging.getLogger("sahay")


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every URL at INFO (Rasa's token is a query parameter); alembic is chatty.
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_web(settings: Settings) -> int:
    import uvicorn

    from web.app import create_app

    # No access log: web-chat URLs carry the sender's id, and logs never hold personal data.
    config = uvicorn.Config(
        create_app(settings), access_log=False, log_level=settings.log_level.lower()
    )
    # SO_REUSEPORT: several `sahay web` processes listen on one port and the kernel shares
    # the connections between them; one that dies leaves the others serving.
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.port))
    uvicorn.Server(config).run(sockets=[sock])
    return 0


# What a worker process imports on its first connections, loaded before it is forked.
WORKER_PRELOAD = (
    "asyncpg",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "aiosqlite",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "redis.asyncio",
    "httpcore",
    "h11",
    "h2",
    "anyio",
    "certifi",
)


def cmd_worker(settings: Settings) -> int:
    import uvloop  # the event loop uvicorn runs `sahay web` on: about twice asyncio's I/O

    from bot.prefork import preload, supervise
    from bot.worker import run_worker, worker_name

    preload(WORKER_PRELOAD)

    # Each life of the worker process has its own id; the next life knows the last is dead and
    # takes its rows back at once, without waiting for its heartbeat to age (storage/ledger).
    lineage = worker_name()

    def child(life: int) -> int:
        dead = f"{lineage}-{life - 1}" if life else None
        uvloop.run(run_worker(settings, worker_id=f"{lineage}-{life}", predecessor=dead))
        return 0

    # Imported once, forked per life: a worker killed mid-broadcast is back within a second.
    return supervise(child)


def cmd_chat(settings: Settings) -> int:
    import httpx

    from bot.channels.terminal import chat
    from storage.db import Database
    from web.app import build_pipeline

    async def main() -> None:
        database = Database(settings.database_url, settings.box())
        async with httpx.AsyncClient() as http:
            await chat(build_pipeline(settings, database, http))
        await database.dispose()

    asyncio.run(main())
    return 0


def cmd_db_upgrade(settings: Settings) -> int:
    from storage.migrate import upgrade

    upgrade(settings.database_url)
    return 0


def cmd_directory_load(settings: Settings, only_if_empty: bool = False) -> int:
    """Load the deployment's service directory (YAML) into the database."""
    from storage import directory
    from storage.db import Database

    data = directory.read_directory(settings.directory_path)

    async def main() -> int:
        database = Database(settings.database_url, settings.box())
        try:
            async with database.session() as session:
                if only_if_empty and not await directory.is_empty(session, data.deployment):
                    return -1
                return await directory.load(session, data)
        finally:
            await database.dispose()

    loaded = asyncio.run(main())
    if loaded >= 0:
        sample = " (SAMPLE DATA)" if data.sample else ""
        print(f"Loaded {loaded} directory entries for {data.deployment}{sample}", flush=True)
    return 0


def cmd_keys(settings: Settings, action: str) -> int:
    """`new`: print a fresh Fernet key. `rotate`: re-encrypt everything under the first key."""
    from collections import Counter

    from storage import keys
    from storage.crypto import new_key
    from storage.db import Database

    if action == "new":
        print(new_key())
        return 0
    box = settings.box()

    async def main() -> Counter[str]:
        database = Database(settings.database_url, box)
        try:
            return await keys.rotate(database, box)
        finally:
            await database.dispose()

    counts = asyncio.run(main())
    unreadable = counts.pop("unreadable", 0)
    done = ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "nothing stored"
    print(f"Re-encrypted under the newest key: {done}", flush=True)
    if unreadable:
        print(
            f"error: {unreadable} values no configured key decrypts; they were left as they are",
            file=sys.stderr,
        )
        return 1
    print("No value needs an older key now: older keys can be removed.", flush=True)
    return 0


def cmd_report_monthly(
    settings: Settings, month: str, output: str, location: str | None = None
) -> int:
    """The monthly report as files in `output`: an XLSX workbook and a printable HTML page."""
    from pathlib import Path

    from bot.i18n import Renderer, load_catalogues
    from storage import casework
    from storage.db import Database
    from storage.figures import Period
    from web.queue import labels
    from web.report import Words, month_period, monthly
    from web.report_files import write_files

    try:
        period = month_period(month)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    words = Words(labels(Renderer(load_catalogues()), "en"))

    async def main() -> list[Path]:
        database = Database(settings.database_url, settings.box())
        try:
            async with database.session() as session:
                report = await monthly(session, Period(period.start, period.end, location), words)
                await casework.audit(
                    session, None, "export", "report", month, format="files", location=location
                )
            return write_files(report, Path(output))
        finally:
            await database.dispose()

    for path in asyncio.run(main()):
        print(f"Wrote {path}", flush=True)
    return 0


def cmd_users_create(settings: Settings, email: str, role: str, language: str = "en") -> int:
    """Create a staff account; the password comes from SAHAY_PASSWORD or a prompt."""
    import getpass
    import os

    from storage import staff
    from storage.db import Database
    from storage.models import StaffRole

    password = os.environ.get("SAHAY_PASSWORD")
    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 1

    async def main() -> None:
        database = Database(settings.database_url, settings.box())
        try:
            async with database.session() as session:
                await staff.create_user(session, email, password, StaffRole(role), language)
        finally:
            await database.dispose()

    try:
        asyncio.run(main())
    except staff.StaffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Created {role} {email.strip().lower()}", flush=True)
    return 0


def cmd_i18n_status(_settings: Settings) -> int:
    """Per language: translated (reviewed), fuzzy (machine drafts), missing."""
    from bot.i18n import catalogue_status

    print(f"{'language':<10}{'translated':>12}{'fuzzy':>8}{'missing':>9}")
    rows = catalogue_status()
    for row in rows:
        print(f"{row.language:<10}{row.translated:>12}{row.fuzzy:>8}{row.missing:>9}")
    return 1 if any(row.missing for row in rows) else 0


def cmd_train(settings: Settings) -> int:
    from bot.rasa_model import ensure_model

    model, trained = ensure_model(settings.model_dir)
    print(f"{'Trained' if trained else 'Up to date'}: {model}")
    return 0


def cmd_run(settings: Settings) -> int:
    """Everything `make run` starts, on the embedded default (SQLite, no tokens)."""
    from bot.rasa_model import TrainingFailed, ensure_model
    from bot.supervisor import Supervisor, services, wait_until_ready

    def _terminate(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Set both explicitly: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGTERM, _terminate)
    print("Migrating the database…", flush=True)
    cmd_db_upgrade(settings)
    cmd_directory_load(settings, only_if_empty=True)
    print("Checking the Rasa model…", flush=True)
    try:
        model, trained = ensure_model(settings.model_dir)
    except TrainingFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{'Trained' if trained else 'Reusing'} model {model.name}", flush=True)
    token = settings.rasa_token or secrets.token_urlsafe(24)
    supervisor = Supervisor(settings.var_dir / "log")
    base = f"http://{settings.host}:{settings.port}"
    try:
        for service in services(settings, model, token):
            supervisor.start(service)
        print("Starting Rasa, the action server, web and worker…", flush=True)
        if wait_until_ready(f"{base}/healthz", supervisor) is None:
            print(
                f"error: Sahay did not become ready: {', '.join(supervisor.exited()) or 'timeout'}"
                f" (logs in {supervisor.log_dir})",
                file=sys.stderr,
            )
            return 1
        print(
            f"\nSahay is ready.\n"
            f"  Web chat:  {base}/chat\n"
            f"  Chat API:  POST {base}/api/chat/messages\n"
            f"  Casework:  {base}/requests (accounts: .venv/bin/sahay users create)\n"
            f"  Health:    {base}/healthz\n"
            f"  API docs:  {base}/docs\n"
            f"{_channel_lines(settings, base)}"
            f"  Logs:      {supervisor.log_dir}/\n"
            f"Press Ctrl-C to stop.",
            flush=True,
        )
        while not supervisor.exited():
            time.sleep(1)
        print(f"error: {', '.join(supervisor.exited())} stopped; stopping Sahay", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Sahay…", flush=True)
        return 0
    finally:
        supervisor.stop_all()
        print("Stopped.", flush=True)


COMMANDS = {
    "run": cmd_run,
    "web": cmd_web,
    "worker": cmd_worker,
    "chat": cmd_chat,
    "train": cmd_train,
}


def _channel_lines(settings: Settings, base: str) -> str:
    lines = ""
    if settings.telegram_enabled:
        mode = "webhook" if settings.telegram_webhook_url else "polling"
        lines += f"  Telegram:  on ({mode})\n"
    if settings.whatsapp_enabled:
        lines += f"  WhatsApp:  webhook {base}/webhooks/whatsapp (make it public for Meta)\n"
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sahay", description="Sahay messaging helpdesk")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start everything (what `make run` does)")
    sub.add_parser("web", help="the web server: webhooks, web chat, staff app, /healthz")
    sub.add_parser("worker", help="answers waiting messages; delivery")
    sub.add_parser("chat", help="talk to the bot in this terminal")
    sub.add_parser("train", help="train the Rasa model if the training data changed")
    db = sub.add_parser("db", help="database")
    db.add_argument("action", choices=["upgrade"])
    nlu = sub.add_parser(
        "nlu",
        help="NLU tools",
        description="parse: reads UTF-8 lines on stdin, prints one JSON object per line "
        '({"text", "intent", "confidence", "language", "entities"}) through the same language '
        "detection and Rasa model as live messages. It uses the Rasa server at RASA_URL "
        "(with RASA_TOKEN) when one answers there, e.g. under `make run`; otherwise it starts "
        "its own Rasa server with the current model, which takes about half a minute (plus two "
        "to three minutes of training first if nlu/ or dialogues/ changed), and stops it at "
        "the end of input.",
    )
    nlu.add_argument("action", choices=["parse"])
    i18n = sub.add_parser("i18n", help="translations")
    i18n.add_argument("action", choices=["status"])
    directory = sub.add_parser("directory", help="service directory")
    directory.add_argument("action", choices=["load"])
    users = sub.add_parser(
        "users",
        help="staff accounts",
        description="create EMAIL --role ROLE: a staff account (password from SAHAY_PASSWORD, "
        "or asked twice)",
    )
    users.add_argument("action", choices=["create"])
    users.add_argument("email")
    users.add_argument("--role", required=True, choices=["admin", "staff", "caseworker"])
    users.add_argument(
        "--language",
        default="en",
        choices=sorted(LANGUAGE_NAMES),
        help="the language this person writes replies in (drafts are translated from it)",
    )
    keys = sub.add_parser(
        "keys",
        help="encryption keys",
        description="new: print a new Fernet key, to put first in ENCRYPTION_KEYS. rotate: "
        "re-encrypt every stored value under the first key of ENCRYPTION_KEYS.",
    )
    keys.add_argument("action", choices=["new", "rotate"])
    report = sub.add_parser(
        "report",
        help="reports for programme managers",
        description="monthly --month YYYY-MM --output DIR: the month's figures, disaggregated, "
        "as an XLSX workbook and a printable HTML page in DIR; counts of people under 5 are "
        "hidden. --location narrows it to one location.",
    )
    report.add_argument("action", choices=["monthly"])
    report.add_argument("--month", required=True, help="e.g. 2026-03")
    report.add_argument("--output", required=True, help="the folder to write the files to")
    report.add_argument("--location", help="only requests and people in this location")
    args = parser.parse_args(argv)
    settings = Settings()
    _configure_logging(settings)
    if args.command == "db":
        return cmd_db_upgrade(settings)
    if args.command == "nlu":
        from bot import nlu_cli

        return nlu_cli.main(settings)
    if args.command == "i18n":
        return cmd_i18n_status(settings)
    if args.command == "directory":
        return cmd_directory_load(settings)
    if args.command == "keys":
        return cmd_keys(settings, args.action)
    if args.command == "report":
        return cmd_report_monthly(settings, args.month, args.output, args.location)
    if args.command == "users":
        return cmd_users_create(settings, args.email, args.role, args.language)
    return COMMANDS[args.command](settings)


if __name__ == "__main__":
    sys.exit(main())
