"""A pre-forking parent for `sahay worker`, as gunicorn is for web servers.

The parent imports the worker's code once (about 1.5 s on this machine) and forks a child that
runs it; if the child dies (kill -9, the OOM killer, a crash) the parent forks a new one at
once, already imported, so sending resumes in a fraction of a second instead of after a cold
start. The parent holds no event loop, thread, connection or personal data: it only forks,
waits and forwards SIGTERM/SIGINT. A child that keeps dying is restarted with a growing pause
(up to 30 s) so a broken deployment does not spin a core. The child's claims and in-flight
sends are recovered by the ledger as after any crash (storage/ledger.py)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import itertools
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable
from types import FrameType

logger = logging.getLogger(__name__)
# A child that lived this long got to work (a fork is at work in about 0.3 s): its death
# does not count towards the back-off. A crash at start-up comes sooner.
HEALTHY_SECONDS = 2.0
MAX_PAUSE = 30.0
FREE_RESTARTS = 3  # as systemd's burst: a few restarts at once, then a back-off
PR_SET_PDEATHSIG = 1


def pause_after(rapid_deaths: int) -> float:
    """Seconds to wait before the next fork: none for the first FREE_RESTARTS deaths in a row
    that came soon after birth, then doubling from 0.5 s up to MAX_PAUSE."""
    if rapid_deaths <= FREE_RESTARTS:
        return 0.0
    return float(min(MAX_PAUSE, 0.5 * 2 ** (rapid_deaths - FREE_RESTARTS - 1)))


def preload(modules: Iterable[str]) -> None:
    """Import, in the parent, what a child would import on its first connection, and freeze
    what the parent holds out of the garbage collector's reach: every fork starts warm and
    its collections do not walk the parent's objects (nor copy their pages by touching them)."""
    for name in modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    gc.collect()
    gc.freeze()


def supervise(child: Callable[[int], int]) -> int:
    """Run `child(life)` in forked processes, life 0, 1, 2…, until one exits by itself
    (returns its exit code) or the supervisor is asked to stop (forwards the signal, waits,
    returns the child's code). When life n starts, life n - 1 is certainly dead."""
    stopping = False
    pid = 0

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if pid:
            with contextlib.suppress(ProcessLookupError):  # it died a moment ago
                os.kill(pid, signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    rapid_deaths = 0
    for life in itertools.count():
        born = time.monotonic()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: default signal handling, run, never return into the loop
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            _stop_with_parent(parent)
            code = 1
            try:
                code = child(life)
            except BaseException:  # noqa: BLE001 - reported here: os._exit skips the traceback
                logger.exception("Worker process failed")
            finally:
                logging.shutdown()
                os._exit(code)
        _, status = _wait(pid)
        code = os.waitstatus_to_exitcode(status)
        if stopping or code == 0:
            return max(code, 0)
        rapid_deaths = 1 if time.monotonic() - born >= HEALTHY_SECONDS else rapid_deaths + 1
        pause = pause_after(rapid_deaths)
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        logger.error("Worker process died (%s); starting another in %.1f s", how, pause)
        if pause:
            time.sleep(pause)
            if stopping:
                return 1
    raise AssertionError("unreachable")  # pragma: no cover - itertools.count() is endless


def _stop_with_parent(parent: int) -> None:
    """SIGTERM when the parent dies (even by kill -9), so no orphan keeps sending beside the
    worker that replaces it; the child then finishes its sends and stops."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _wait(pid: int) -> tuple[int, int]:
    while True:
        try:
            return os.waitpid(pid, 0)
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue
