"""`sahay nlu parse`: one JSON line per input line, through the live preprocessing and model.

It uses the Rasa server at RASA_URL when one answers there (e.g. under `make run`); otherwise it
starts its own Rasa server with the current model (trained first if the data changed) on a
free port, and stops it when stdin ends.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import httpx

from bot.rasa_model import ensure_model
from bot.settings import Settings
from bot.supervisor import Supervisor, services
from nlu.language import LanguageGuesser
from nlu.training_data import examples_by_language

MAX_LINE = 4096


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model_loaded(http: httpx.Client, url: str, token: str) -> bool:
    try:
        status = http.get(f"{url}/status", params={"token": token}, timeout=3).json()
    except (httpx.HTTPError, ValueError):
        return False
    return bool(status.get("model_file"))


@contextmanager
def rasa_server(settings: Settings) -> Iterator[tuple[str, str]]:
    """(url, token) of a Rasa server with a model loaded: the configured one, or our own."""
    with httpx.Client() as http:
        if settings.rasa_token and _model_loaded(http, settings.rasa_url, settings.rasa_token):
            yield settings.rasa_url, settings.rasa_token
            return
        model, _ = ensure_model(settings.model_dir)
        token = secrets.token_urlsafe(16)
        own = with_rasa_url(settings, f"http://127.0.0.1:{_free_port()}")
        supervisor = Supervisor(settings.var_dir / "log" / "nlu-parse")
        rasa = next(s for s in services(own, model, token) if s.name == "rasa")
        supervisor.start(rasa)
        try:
            deadline = time.monotonic() + 300
            while not _model_loaded(http, own.rasa_url, token):
                if supervisor.exited() or time.monotonic() > deadline:
                    raise RuntimeError(f"Rasa did not start; see {supervisor.log_dir}")
                time.sleep(0.5)
            yield own.rasa_url, token
        finally:
            supervisor.stop_all()


def with_rasa_url(settings: Settings, rasa_url: str) -> Settings:
    return settings.model_copy(update={"rasa_url": rasa_url})


def parse_lines(lines: IO[str], out: IO[str], url: str, token: str) -> int:
    guesser = LanguageGuesser(examples_by_language())
    count = 0
    with httpx.Client(base_url=url, timeout=30) as http:
        for raw in lines:
            text = raw.rstrip("\n")[:MAX_LINE]
            result: dict[str, Any] = {
                "text": text,
                "intent": None,
                "confidence": 0.0,
                "language": guesser.guess(text),
            }
            if text.strip():
                parsed = http.post(
                    "/model/parse", params={"token": token}, json={"text": text}
                ).json()
                intent = parsed.get("intent") or {}
                result["intent"] = intent.get("name")
                result["confidence"] = round(float(intent.get("confidence") or 0.0), 4)
                result["entities"] = [
                    {"entity": e["entity"], "value": e["value"]}
                    for e in parsed.get("entities", [])
                ]
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
            count += 1
    return count


def main(settings: Settings) -> int:
    with rasa_server(settings) as (url, token):
        parse_lines(sys.stdin, sys.stdout, url, token)
    return 0
