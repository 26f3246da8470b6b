"""`make run` as a person runs it: everything starts, it answers, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from bot.settings import PROJECT_ROOT
from tests.conftest import unused_port

pytestmark = pytest.mark.e2e


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_make(target: str, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    """`make <target>` in its own process group, as a terminal runs it; output to a file."""
    with output.open("wb") as out:
        return subprocess.Popen(
            ["make", "--no-print-directory", target],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(base: str, make: subprocess.Popen[bytes], output: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline and make.poll() is None and status != 200:
        try:
            status = httpx.get(f"{base}/healthz", timeout=5).status_code
        except httpx.HTTPError:
            time.sleep(1)
    assert status == 200, output.read_text()[-3000:]


def test_make_run_answers_hello_and_ctrl_c_leaves_no_process(model: Path, tmp_path: Path) -> None:
    port = unused_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{unused_port()}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{unused_port()}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sahay.db'}",
        "VAR_DIR": str(tmp_path),
    }
    make = start_make("run", env, tmp_path / "make-run.out")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, make, tmp_path / "make-run.out", 240)

        reply = httpx.post(
            f"{base}/api/chat/messages", json={"sender": "make-run-test", "text": "hello"}
        )
        assert reply.json()["messages"][0]["text"].startswith("Hello, I am Sahay")
        time.sleep(1.5)  # the "ready" banner is printed right after /healthz first says 200
        printed = (tmp_path / "make-run.out").read_text()
        assert f"{base}/chat" in printed

        started = descendants(make.pid)
        assert len(started) >= 5  # sahay run, rasa, action server, web, worker
    finally:
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        make.wait(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in started):
        time.sleep(0.5)
    assert [p for p in started if alive(p)] == []
    assert "Stopped." in (tmp_path / "make-run.out").read_text()
