"""Shared by the NLU benchmarks: Rasa train/test runs and scoring. Pure scoring functions."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.rasa_model import rasa_env
from bot.supervisor import Service, Supervisor

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RESULTS = ROOT / "benchmarks" / "results"
FALLBACK = "nlu_fallback"
TOKEN = "bench"  # noqa: S105 - a throwaway local server
HELDOUT = ROOT / "benchmarks" / "data" / "nlu_heldout"


@dataclass(frozen=True)
class Example:
    text: str
    gold: str
    group: str  # the data set (language) or split it comes from


@dataclass(frozen=True)
class Prediction:
    text: str
    gold: str
    group: str
    predicted: str
    confidence: float


def write_nlu_yaml(path: Path, examples: Mapping[str, Iterable[str]]) -> None:
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in examples.items():
        lines += [f"  - intent: {intent}", "    examples: |"]
        lines += [f"      - {' '.join(t.split())}" for t in texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def train_nlu(config: Path, data: Sequence[Path], out: Path, name: str) -> float:
    """Train an NLU-only model; returns wall-clock seconds."""
    started = time.monotonic()
    with (out / f"{name}-train.log").open("wb") as log:
        subprocess.run(
            [
                str(RASA),
                "train",
                "nlu",
                "--config",
                str(config),
                "--nlu",
                *map(str, data),
                "--out",
                str(out),
                "--fixed-model-name",
                name,
            ],
            cwd=out,
            env={**os.environ, **rasa_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.monotonic() - started


@contextmanager
def rasa_server(model: Path, out: Path) -> Iterator[httpx.Client]:
    """A Rasa server running `model` on a free port; yields a client for its HTTP API."""
    out.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    supervisor = Supervisor(out)
    supervisor.start(
        Service(
            "rasa",
            [
                str(RASA),
                "run",
                "--enable-api",
                # One argument: a token may begin with "-", which argparse takes for an option.
                f"--auth-token={TOKEN}",
                "--model",
                str(model),
                "--interface",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            rasa_env(),
        )
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=60, params={"token": TOKEN}
        ) as http:
            deadline = time.monotonic() + 600
            while True:
                try:
                    if http.get("/status").json().get("model_file"):
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                if time.monotonic() > deadline or supervisor.exited():
                    raise RuntimeError(f"Rasa did not start; see {out}")
                time.sleep(0.5)
            yield http
    finally:
        supervisor.stop_all()


def parse(http: httpx.Client, example: Example) -> Prediction:
    intent = http.post("/model/parse", json={"text": example.text}).json().get("intent") or {}
    return Prediction(
        example.text,
        example.gold,
        example.group,
        intent.get("name") or FALLBACK,
        float(intent.get("confidence") or 0.0),
    )


def test_nlu(model: Path, examples: Sequence[Example], out: Path) -> list[Prediction]:
    """Parse examples through a Rasa server running `model`, as live messages are parsed
    (`rasa test nlu` would undo the FallbackClassifier's predictions)."""
    with rasa_server(model, out) as http:
        return [parse(http, example) for example in examples]


def correct(p: Prediction, off_topic: str) -> bool:
    """A fallback is the right answer to an off-topic message, and wrong for any other."""
    if p.gold == off_topic:
        return p.predicted in (off_topic, FALLBACK)
    return p.predicted == p.gold


def score(predictions: Sequence[Prediction], off_topic: str = "out_of_scope") -> dict[str, object]:
    """Accuracy, macro-F1 over gold intents, off-topic false-accept rate, confused pairs."""
    if not predictions:
        return {"n": 0}
    norm = [
        (p.gold, off_topic if p.predicted == FALLBACK and p.gold == off_topic else p.predicted)
        for p in predictions
    ]
    labels = sorted({g for g, _ in norm})
    f1s = []
    for label in labels:
        tp = sum(1 for g, q in norm if g == label and q == label)
        fp = sum(1 for g, q in norm if g != label and q == label)
        fn = sum(1 for g, q in norm if g == label and q != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    off = [p for p in predictions if p.gold == off_topic]
    accepted = [p for p in off if p.predicted not in (off_topic, FALLBACK)]
    confused = Counter((p.gold, p.predicted) for p in predictions if not correct(p, off_topic))
    return {
        "n": len(predictions),
        "accuracy": round(sum(correct(p, off_topic) for p in predictions) / len(predictions), 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "off_topic_n": len(off),
        "off_topic_false_accept": round(len(accepted) / len(off), 4) if off else None,
        "in_scope_to_fallback": sum(
            1 for p in predictions if p.gold != off_topic and p.predicted == FALLBACK
        ),
        "most_confused": [
            {"gold": g, "predicted": q, "count": n} for (g, q), n in confused.most_common(5)
        ],
    }


def per_intent(
    predictions: Sequence[Prediction], intents: Iterable[str], off_topic: str = "out_of_scope"
) -> dict[str, dict[str, object]]:
    """Per gold intent: recall (accuracy on its examples), precision, F1 and what it was
    most often mistaken for."""
    report: dict[str, dict[str, object]] = {}
    for intent in intents:
        mine = [p for p in predictions if p.gold == intent]
        hits = sum(correct(p, off_topic) for p in mine)
        claimed = [p for p in predictions if p.predicted == intent]
        precision = sum(p.gold == intent for p in claimed) / len(claimed) if claimed else 0.0
        recall = hits / len(mine) if mine else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        mistaken = Counter(p.predicted for p in mine if not correct(p, off_topic))
        report[intent] = {
            "n": len(mine),
            "accuracy": round(recall, 4),
            "precision": round(precision, 4),
            "f1": round(f1, 4),
            "mistaken_for": dict(mistaken.most_common(3)),
        }
    return report


def by_group(predictions: Sequence[Prediction]) -> dict[str, list[Prediction]]:
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        groups[p.group].append(p)
    return dict(groups)


def heldout_examples() -> list[Example]:
    """Every held-out example, with the data set (language) it belongs to."""
    from nlu.intents import DATA_SETS
    from nlu.training_data import read_examples

    return [
        Example(text, intent, name)
        for name in DATA_SETS
        for intent, texts in read_examples(HELDOUT / f"{name}.yml").items()
        for text in texts
    ]
