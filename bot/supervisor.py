"""`sahay run`: start Rasa, the action server, `sahay web` and `sahay worker`; stop them all.

Each child runs in its own process group, so stopping it also stops anything it spawned;
each child also gets SIGTERM if this supervisor dies (Linux parent-death signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import make_url

from bot.rasa_model import RASA_BIN, rasa_env
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Supervisor:
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, service: Service) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{service.name}.log").open("ab")
        self.processes[service.name] = subprocess.Popen(  # noqa: S603 - argv from our code
            service.argv,
            env={**os.environ, **service.env},
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads run at this point
        )
        log.close()

    def exited(self) -> list[str]:
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def stop(self, name: str, grace_seconds: float = 15.0) -> None:
        """Stop one process (SIGTERM, then SIGKILL after the grace period)."""
        process = self.processes.pop(name)
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()

    def stop_all(self, grace_seconds: float = 15.0) -> None:
        """SIGTERM every process group, then SIGKILL whatever is left after the grace period."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("Process %d did not stop in time; killing it", process.pid)
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # also reaps grandchildren left behind
            process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _port(url: str) -> str:
    return str(urlsplit(url).port or 80)


def _tracker_store(settings: Settings) -> str:
    url = make_url(settings.tracker_store_url)
    if url.get_backend_name() != "postgresql":
        return f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {url.database}\n"
    lines = [
        "tracker_store:",
        "  type: SQL",
        "  dialect: postgresql",
        f"  url: {url.host or '127.0.0.1'}",
        f"  port: {url.port or 5432}",
        f"  db: {url.database}",
        # Rasa creates its database, logged in to the gateway's.
        f"  login_db: {make_url(settings.database_url).database}",
    ]
    if url.username:
        lines.append(f"  username: {url.username}")
    if url.password:
        lines.append(f"  password: {url.password}")
    return "\n".join(lines) + "\n"


def _lock_store(settings: Settings) -> str:
    """With Redis, every Rasa server shares one lock per conversation (several may run)."""
    if not settings.redis_url:
        return ""
    url = urlsplit(settings.redis_url)
    lines = [
        "lock_store:",
        "  type: redis",
        f"  url: {url.hostname or '127.0.0.1'}",
        f"  port: {url.port or 6379}",
        f"  db: {(url.path or '/0').strip('/') or 0}",
        "  key_prefix: sahay",
    ]
    if url.password:
        lines.append(f"  password: {url.password}")
    return "\n".join(lines) + "\n"


def write_rasa_config(settings: Settings, directory: Path) -> tuple[Path, Path]:
    """endpoints.yml (action server, SQL tracker store, Redis lock store when REDIS_URL is
    set) and credentials.yml (REST). The file can hold a database password: owner-only."""
    directory.mkdir(parents=True, exist_ok=True)
    endpoints = directory / "endpoints.yml"
    endpoints.touch(mode=0o600)
    endpoints.chmod(0o600)  # also when an older file is there
    endpoints.write_text(
        "action_endpoint:\n"
        f"  url: {settings.action_server_url.rstrip('/')}/webhook\n"
        + _tracker_store(settings)
        + _lock_store(settings)
    )
    credentials = directory / "credentials.yml"
    credentials.write_text("rest:\n")
    (directory / "logging.yml").write_text(RASA_LOGGING)
    return endpoints, credentials


# Rasa's REST channel writes the person's message into its error lines when a turn fails (a
# lock store down, a timeout): those lines are dropped. Sahay logs each failure itself, by
# message id (bot/pipeline.py), and logs never hold what people wrote.
RASA_LOGGING = """version: 1
disable_existing_loggers: false
loggers:
  rasa.core.channels.rest:
    level: CRITICAL
"""


def services(settings: Settings, model: Path, token: str) -> list[Service]:
    endpoints, credentials = write_rasa_config(settings, settings.var_dir / "rasa")
    app_env = {
        "RASA_TOKEN": token,
        "DATABASE_URL": settings.database_url,
        # The store Rasa is configured with: where the gateway erases and purges.
        "TRACKER_STORE_URL": settings.tracker_store_url,
        "PROMETHEUS_MULTIPROC_DIR": str(fresh_metrics_dir(settings)),
    }
    python = sys.executable
    return [
        Service(
            "rasa",
            [
                str(RASA_BIN),
                "run",
                "--enable-api",
                # One argument: a token may begin with "-", which argparse takes for an option.
                f"--auth-token={token}",
                "--model",
                str(model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials),
                "--logging-config-file",
                str(credentials.parent / "logging.yml"),
                "--interface",
                urlsplit(settings.rasa_url).hostname or "127.0.0.1",
                "--port",
                _port(settings.rasa_url),
            ],
            rasa_env(),
        ),
        Service(
            "actions",
            [
                python,
                "-m",
                "rasa_sdk",
                "--actions",
                "dialogues.actions",
                "--port",
                _port(settings.action_server_url),
            ],
            {**app_env, "SANIC_HOST": urlsplit(settings.action_server_url).hostname or ""},
        ),
        *(
            Service(
                _nth(kind, n),
                [python, "-m", "bot.cli", kind],
                # One getUpdates loop per bot: Telegram refuses a second (409 Conflict).
                app_env if n == 1 else {**app_env, "TELEGRAM_POLL": "false"},
            )
            for kind, count in (
                ("web", settings.web_processes),
                ("worker", settings.worker_processes),
            )
            for n in range(1, count + 1)
        ),
    ]


def _nth(kind: str, n: int) -> str:
    """web, web-2, web-3...: the first of each keeps its plain name (and log file)."""
    return kind if n == 1 else f"{kind}-{n}"


def fresh_metrics_dir(settings: Settings) -> Path:
    """prometheus_client's multiprocess files for this run: every web and worker process
    writes its counters there, /metrics sums them. Emptied at each start."""
    directory = settings.var_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def wait_until_ready(
    url: str, supervisor: Supervisor, timeout: float = 300.0
) -> dict[str, object] | None:
    """Poll /healthz until it answers 200; None if a process died or time ran out."""
    deadline = time.monotonic() + timeout
    last: dict[str, object] | None = None
    while time.monotonic() < deadline and not supervisor.exited():
        try:
            response = httpx.get(url, timeout=5)
            last = response.json()
            if response.status_code == 200:
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    logger.error("Not ready; last health report: %s", last)
    return None
