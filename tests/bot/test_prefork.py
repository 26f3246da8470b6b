"""`sahay worker` runs under a pre-forking parent: a worker process killed mid-broadcast is
replaced at once by a fork that is already imported, and nothing outlives the parent."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.prefork import FREE_RESTARTS, MAX_PAUSE, pause_after
from storage.migrate import upgrade
from tests.conftest import sqlite_url, unused_port

SAHAY = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sahay"


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(condition: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    url = sqlite_url(tmp_path)
    upgrade(url)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RASA_URL": f"http://127.0.0.1:{unused_port()}",
        "SECRET_KEY": "prefork-test-secret-key-0123456789abcdef",
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen([str(SAHAY), "worker"], env=env, stdout=out, stderr=out)
    try:
        wait_for(lambda: "Worker started" in log.read_text())
        yield proc, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_killed_worker_process_is_replaced_and_sigterm_stops_both(
    worker: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, log = worker
    [first] = children(proc.pid)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: log.read_text().count("Worker started") == 2)
    [second] = children(proc.pid)
    assert second != first
    assert "Worker process died (signal 9)" in log.read_text()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert not alive(second)
    assert "Worker stopped" in log.read_text()


def test_the_worker_process_stops_when_its_parent_is_killed(
    worker: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, log = worker
    [child] = children(proc.pid)
    proc.kill()
    proc.wait()
    wait_for(lambda: not alive(child))
    assert "Worker stopped" in log.read_text()  # SIGTERM: it finished its sends first


def test_a_worker_that_keeps_dying_is_restarted_ever_more_slowly() -> None:
    # A few deaths soon after birth (a kill, an OOM): back at once.
    assert [pause_after(n) for n in range(1, FREE_RESTARTS + 1)] == [0.0] * FREE_RESTARTS
    pauses = [pause_after(n) for n in range(FREE_RESTARTS + 1, FREE_RESTARTS + 12)]
    assert pauses == sorted(pauses)
    assert pauses[0] == 0.5
    assert pauses[-1] == MAX_PAUSE
