"""How long `make run` takes until /healthz is 200: on a fresh clone (empty package cache,
no environments, no model) and on a second start (everything reused).

Writes benchmarks/results/startup.json. Run with `make bench-startup`.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "startup.json"
SECOND_STARTS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_make_run(clone: Path, env: dict[str, str], log: Path) -> float:
    port = free_port()
    env = {
        **env,
        "PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
    }
    started = time.monotonic()
    with log.open("ab") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while make.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    elapsed = time.monotonic() - started
                    reply = httpx.post(
                        f"http://127.0.0.1:{port}/api/chat/messages",
                        json={"sender": f"bench-{port}", "text": "hello"},
                        timeout=30,
                    ).json()
                    if not reply["messages"][0]["text"].startswith("Hello"):
                        raise RuntimeError(f"unexpected answer to hello: {reply}")
                    return elapsed
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"make run exited with {make.returncode}; see {log}")
    finally:
        os.killpg(make.pid, signal.SIGINT)
        try:
            make.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            print(f"make run did not stop on SIGINT; see {log}", file=sys.stderr)
            raise


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sahay-bench-") as tmp:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        clone = Path(tmp) / "sahay"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        # An empty uv cache: every package is downloaded, as on a new machine.
        env = {**os.environ, "UV_CACHE_DIR": str(Path(tmp) / "uv-cache")}
        log = Path(tmp) / "make-run.log"
        fresh = time_make_run(clone, env, log)
        print(f"fresh clone: {fresh:.1f} s to /healthz 200")
        seconds = [time_make_run(clone, env, log) for _ in range(SECOND_STARTS)]
        print(f"second start: median {statistics.median(seconds):.1f} s of {seconds}")
    result = {
        "what": "make run until GET /healthz is 200 (then one 'hello' answered)",
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "fresh_clone_seconds": round(fresh, 1),
        "second_start_seconds": [round(s, 1) for s in seconds],
        "second_start_median_seconds": round(statistics.median(seconds), 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
