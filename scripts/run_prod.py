"""`make run-prod`: Sahay in production mode on this machine.

PostgreSQL (the gateway's tables, and Rasa's tracker store in a database of its own) and
Redis (shared broadcast pacing, Rasa's lock store), two `sahay web` processes sharing one
port and two delivery workers, with SAHAY_ENV=production: secrets required, Secure cookies.

The secrets are made once and kept in <var>/prod.env (owner-only); the database is created
when missing. Override with PROD_DATABASE_URL, PROD_REDIS_URL, PROD_VAR_DIR, WEB_PROCESSES,
WORKER_PROCESSES, PORT; anything else Sahay reads (TELEGRAM_BOT_TOKEN...) passes through.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.crypto import new_key  # noqa: E402 - after the path is set
from storage.migrate import create_database  # noqa: E402

DATABASE_URL = os.environ.get(
    "PROD_DATABASE_URL", "postgresql+asyncpg://root@127.0.0.1:5432/sahay"
)
REDIS_URL = os.environ.get("PROD_REDIS_URL", "redis://127.0.0.1:6379/1")
VAR_DIR = Path(os.environ.get("PROD_VAR_DIR", ROOT / "var" / "prod"))


def secrets_file(var_dir: Path) -> dict[str, str]:
    """SECRET_KEY, RASA_TOKEN and ENCRYPTION_KEYS: made on the first run, then kept."""
    path = var_dir / "prod.env"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(48)}\n"
            f"RASA_TOKEN={secrets.token_urlsafe(24)}\n"
            f"ENCRYPTION_KEYS={new_key()}\n"
        )
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def main() -> int:
    if asyncio.run(create_database(DATABASE_URL)):
        print(f"Created database {make_url(DATABASE_URL).database}", flush=True)
    env = {
        **os.environ,
        **secrets_file(VAR_DIR),
        "SAHAY_ENV": "production",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "VAR_DIR": str(VAR_DIR),
        "WEB_PROCESSES": os.environ.get("WEB_PROCESSES", "2"),
        "WORKER_PROCESSES": os.environ.get("WORKER_PROCESSES", "2"),
        # Enough turns in flight to keep Rasa busy: bench-load measured 0.83 of raw Rasa's
        # throughput at 16, 0.72 at the default 4 (benchmarks/README.md).
        "ANSWER_CONCURRENCY": os.environ.get("ANSWER_CONCURRENCY", "16"),
    }
    sahay = str(ROOT / ".venv" / "bin" / "sahay")
    os.execve(sahay, [sahay, "run"], env)  # noqa: S606 - our own entry point, no shell


if __name__ == "__main__":
    sys.exit(main())
