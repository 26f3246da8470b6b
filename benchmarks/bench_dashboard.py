"""How long the dashboard and the monthly report take over a year of a busy helpline.

    make bench-dashboard   (or: benchmarks/bench_dashboard.py --requests 30000 --rounds 5)

Seeds one database (PostgreSQL: its own database `sahay_bench_dashboard` on TEST_DATABASE_URL's
server, or this machine's; and SQLite, the embedded default) with a made-up year: contacts,
requests with their events, messages with Sahay's replies (a quarter of them the fallback),
and broadcasts with their ledgers. Then times, side by side in one run, the figures the
dashboard shows for the last 12 weeks and for the whole year, the monthly report, and the
workbook and printable page made from it: the median and the slowest of `rounds` runs, and
the process's peak memory. Results: benchmarks/results/dashboard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.i18n import Renderer, load_catalogues  # noqa: E402
from storage.broadcast_models import Broadcast, BroadcastDelivery, LedgerState  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.figures import Period  # noqa: E402
from storage.migrate import create_database, upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Contact,
    HelpRequest,
    InboundRecord,
    InboundStatus,
    OutboundRecord,
    OutboundStatus,
    RequestEvent,
    RequestStatus,
    StaffRole,
    Urgency,
)
from storage.staff import create_user  # noqa: E402
from tests.conftest import TEST_BOX, reset_postgres  # noqa: E402
from web.queue import labels  # noqa: E402
from web.report import Words, gather, month_period, monthly  # noqa: E402
from web.report_files import render_html, workbook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "benchmarks" / "results" / "dashboard.json"
PG_SERVER = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")
YEAR_START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
DAYS = 364
PLACES = ("Male", "Addu", "Hulhumale", "Kulhudhuffushi", "Fuvahmulah", "Thinadhoo")
CATEGORIES = ("food_relief", "health_services", "legal_aid", "documents", "shelter", "employment")
LANGUAGES = ("bn", "hi", "ne", "ta", "si", "en", "dv", "es")
SAID = ("salary nai", "visa problem hai", "passport lost", "khabar chai", "doctor lagbe", "hi")
CHUNK = 5000


def _at(rng: random.Random) -> datetime:
    return YEAR_START + timedelta(seconds=rng.randrange(DAYS * 86400))


async def seed(database: Database, requests: int, seed_value: int = 8) -> dict[str, int]:
    """A year: `requests` requests by as many contacts, 5 messages per request (each with a
    reply), 24 broadcasts to 5,000 people each."""
    rng = random.Random(seed_value)  # noqa: S311 (a made-up year, the same every run)
    async with database.session() as session:
        worker = (await create_user(session, "bench@sahay.test", "x" * 12, StaffRole.STAFF)).id
    contacts, opened, events, inbound, outbound = [], [], [], [], []
    for n in range(requests):
        at = _at(rng)
        cid = f"bench-{n}"
        place = rng.choice(PLACES)
        contacts.append({"id": cid, "channel": "telegram", "created_at": at, "location": place,
                         "last_seen_at": at})  # fmt: skip
        opened.append(
            {
                "id": n + 1, "reference": f"MV-{n:06d}", "idempotency_key": f"bench-{n}",
                "contact_id": cid, "channel": "telegram", "language": rng.choice(LANGUAGES),
                "category": rng.choice(CATEGORIES), "location": place,
                "gender": rng.choice(("woman", "man", None)),
                "age_group": rng.choice(("18_59", "60_plus", "under_18", None)),
                "nationality": rng.choice(("BD", "IN", "LK", "NP", None)),
                "urgency": Urgency.NORMAL, "status": RequestStatus.RESOLVED,
                "created_at": at, "updated_at": at, "contact_method": "chat",
                "consent_share": True, "safeguarding": False,
            }
        )  # fmt: skip
        events.append({"request_id": n + 1, "kind": "assigned", "actor_id": worker,
                       "at": at + timedelta(hours=rng.uniform(1, 30)), "data": {}})  # fmt: skip
        events.append({"request_id": n + 1, "kind": "status", "actor_id": worker,
                       "at": at + timedelta(hours=rng.uniform(30, 300)),
                       "data": {"from": "in_progress", "to": "resolved"}})  # fmt: skip
        for m in range(5):
            message_id = n * 5 + m + 1
            inbound.append(
                {
                    "id": message_id, "channel": "telegram",
                    "platform_message_id": f"b{message_id}", "contact_id": cid,
                    "text": rng.choice(SAID), "status": InboundStatus.DONE, "attempts": 1,
                    "received_at": at + timedelta(minutes=m),
                }
            )  # fmt: skip
            outbound.append(
                {
                    "contact_id": cid, "channel": "telegram", "in_reply_to": message_id,
                    "message_key": "fallback" if rng.random() < 0.25 else "menu",
                    "language": opened[-1]["language"], "text": "...", "buttons": [],
                    "status": OutboundStatus.SENT, "created_at": at, "priority": 0,
                }
            )  # fmt: skip
    async with database.session() as session:
        for model, rows in (
            (Contact, contacts),
            (HelpRequest, opened),
            (RequestEvent, events),
            (InboundRecord, inbound),
            (OutboundRecord, outbound),
        ):
            for start in range(0, len(rows), CHUNK):
                await session.execute(insert(model), rows[start : start + CHUNK])
        deliveries = 0
        for b in range(24):
            started = YEAR_START + timedelta(days=15 * b + 3)
            alert = Broadcast(title=f"Alert {b}", topic="health", started_at=started)
            session.add(alert)
            await session.flush()
            rows = [
                {"broadcast_id": alert.id, "contact_id": f"bench-{n}", "channel": "telegram",
                 "language": "en", "state": LedgerState.SENT, "sent_at": started}
                for n in rng.sample(range(requests), min(5000, requests))
            ]  # fmt: skip
            await session.execute(insert(BroadcastDelivery), rows)
            deliveries += len(rows)
    return {
        "contacts": len(contacts),
        "requests": len(opened),
        "request_events": len(events),
        "messages": len(inbound),
        "replies": len(outbound),
        "broadcast_deliveries": deliveries,
    }


async def timed(rounds: int, make: Any) -> dict[str, float]:
    spans = []
    for _ in range(rounds):
        began = time.perf_counter()
        await make()
        spans.append(time.perf_counter() - began)
    return {"median_s": round(statistics.median(spans), 3), "max_s": round(max(spans), 3)}


async def measure(database: Database, rounds: int) -> dict[str, Any]:
    words = Words(labels(Renderer(load_catalogues()), "en"))
    end = YEAR_START + timedelta(days=DAYS)
    quarter = Period(end - timedelta(weeks=12), end)
    year = Period(YEAR_START, end)
    march = month_period("2025-03")
    made: dict[str, Any] = {}

    async def dashboard(period: Period) -> None:
        async with database.session() as session:
            report = await gather(session, period, words)
        for chart in report.charts:
            chart.svg()

    async def report() -> None:
        async with database.session() as session:
            made["report"] = await monthly(session, march, words)

    async def files() -> None:
        made["xlsx"] = len(workbook(made["report"]))
        made["html"] = len(render_html(made["report"]).encode())

    results = {
        "dashboard_12_weeks": await timed(rounds, lambda: dashboard(quarter)),
        "dashboard_12_weeks_one_location": await timed(
            rounds, lambda: dashboard(Period(quarter.start, quarter.end, "Male"))
        ),
        "dashboard_year": await timed(rounds, lambda: dashboard(year)),
        "monthly_report_figures": await timed(rounds, report),
        "monthly_report_files": await timed(rounds, files),
    }
    results["workbook_bytes"] = made["xlsx"]
    results["printable_page_bytes"] = made["html"]
    return results


async def run(requests: int, rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pg = (
        make_url(PG_SERVER)
        .set(database="sahay_bench_dashboard")
        .render_as_string(hide_password=False)
    )
    await create_database(pg)
    await reset_postgres(pg)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite+aiosqlite:///{folder}/bench.db"
        for name, url in (("postgresql", pg), ("sqlite", sqlite)):
            await asyncio.to_thread(upgrade, url)
            database = Database(url, TEST_BOX)
            began = time.perf_counter()
            counts = await seed(database, requests)
            seeded = round(time.perf_counter() - began, 1)
            out[name] = {"seeded": counts, "seed_s": seeded, **await measure(database, rounds)}
            await database.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(run(args.requests, args.rounds))
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["when"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    OUTPUT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
