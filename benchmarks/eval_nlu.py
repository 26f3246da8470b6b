"""Sahay's NLU on held-out data it was never trained or tuned on, plus cross-validation.

Reports per language (data set) and per intent: accuracy, macro-F1, most confused pairs and the
off-topic false-accept rate; also how long the whole model (NLU and dialogue policies) takes to
train, and parse latency through the Rasa server. Writes benchmarks/results/nlu.json.

    make eval-nlu
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.nlu_common import (  # noqa: E402
    RASA,
    RESULTS,
    ROOT,
    Example,
    Prediction,
    by_group,
    heldout_examples,
    parse,
    per_intent,
    rasa_server,
    score,
)
from bot.rasa_model import CONFIG, rasa_env, train_command  # noqa: E402
from nlu.intents import DATA_SETS, INTENTS  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "data" / "nlu_heldout"
OUTPUT = RESULTS / "nlu.json"


def train_full(out: Path) -> tuple[Path, float]:
    started = time.monotonic()
    with (out / "train.log").open("wb") as log:
        subprocess.run(
            train_command(RASA, out, "eval"),
            cwd=out,
            env={**os.environ, **rasa_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return out / "eval.tar.gz", time.monotonic() - started


def cross_validation(out: Path, folds: int = 3) -> dict[str, object]:
    with (out / "cv.log").open("wb") as log:
        subprocess.run(
            [
                str(RASA),
                "test",
                "nlu",
                "--nlu",
                str(ROOT / "nlu" / "data"),
                "--config",
                str(CONFIG),
                "--cross-validation",
                "--folds",
                str(folds),
                "--out",
                str(out / "cv"),
                "--no-plot",
            ],
            cwd=out,
            env={**os.environ, **rasa_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    report = json.loads((out / "cv" / "intent_report.json").read_text())
    return {
        "folds": folds,
        "accuracy": round(report["accuracy"], 4),
        "macro_f1": round(report["macro avg"]["f1-score"], 4),
    }


def latency_and_predictions(
    model: Path, examples: list[Example], out: Path
) -> tuple[list[Prediction], dict[str, float]]:
    """Every held-out prediction, and the parse round-trip time of each (milliseconds)."""
    timings = []
    predictions = []
    with rasa_server(model, out) as http:
        for example in examples[:20]:  # warm up
            parse(http, example)
        for example in examples:
            started = time.perf_counter()
            predictions.append(parse(http, example))
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return predictions, {
        "samples": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
    }


def language_identification() -> dict[str, dict[str, float]]:
    """Per held-out data set: how often the first-message guess names its language, and how
    often there is no guess (the reply comes in the default language, with the picker)."""
    from nlu.language import LanguageGuesser
    from nlu.training_data import examples_by_language, read_examples

    guesser = LanguageGuesser(examples_by_language())
    report = {}
    for name in DATA_SETS:
        texts = [t for ts in read_examples(HELDOUT / f"{name}.yml").values() for t in ts]
        guesses = [guesser.guess(t) for t in texts]
        language = name.removesuffix("_latn")
        report[name] = {
            "n": len(texts),
            "correct": round(sum(g == language for g in guesses) / len(texts), 4),
            "no_guess": round(sum(g is None for g in guesses) / len(texts), 4),
        }
    return report


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sahay-eval-nlu-") as tmp:
        work = Path(tmp)
        model, train_seconds = train_full(work)
        print(f"whole model trained in {train_seconds:.0f} s", flush=True)
        examples = heldout_examples()
        predictions, latency = latency_and_predictions(model, examples, work / "heldout")
        per_language = {g: score(ps) for g, ps in sorted(by_group(predictions).items())}
        intents = per_intent(predictions, INTENTS)
        cv = cross_validation(work)
        print(f"cross-validation: {cv}", flush=True)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "whole_model_train_seconds": round(train_seconds, 1),
        "heldout": {
            "overall": score(predictions),
            "per_language": per_language,
            "per_intent": intents,
        },
        "cross_validation": cv,
        "language_identification": language_identification(),
        "parse_latency": latency,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"{'set':<9}{'n':>5}{'acc':>7}{'F1':>7}{'off-topic accepted':>20}")
    for name, r in per_language.items():
        print(
            f"{name:<9}{r['n']:>5}{r['accuracy']:>7}{r['macro_f1']:>7}"
            f"{r['off_topic_false_accept']!s:>20}"
        )
    print(f"parse latency: {latency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
