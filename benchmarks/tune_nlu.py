"""How nlu/config.yml's intent-classifier settings were chosen: stratified k-fold
cross-validation on the TRAINING data only (the held-out split is never used here), with the
exact model Rasa runs (nlu/components/linear.py).

For each SVM regularisation `c`, softmax `scale` and fallback `threshold` it reports intent
accuracy per data set (an out-of-scope example counts as right when it is rejected) and the
share of out-of-scope examples accepted as some in-scope intent. Runs in Rasa's environment,
which has scikit-learn:

    make tune-nlu     (writes benchmarks/results/tune_nlu.json)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.components.linear import LinearIntentModel  # noqa: E402
from nlu.intents import DATA_SETS  # noqa: E402
from nlu.training_data import read_data_set  # noqa: E402

OUTPUT = ROOT / "benchmarks" / "results" / "tune_nlu.json"
OFF_TOPIC = "out_of_scope"
REJECTED = (OFF_TOPIC, "nlu_fallback")


def training_rows() -> tuple[list[str], np.ndarray, np.ndarray]:
    texts, intents, sets = [], [], []
    for name in DATA_SETS:
        for intent, examples in read_data_set(name).items():
            texts += examples
            intents += [intent] * len(examples)
            sets += [name] * len(examples)
    return texts, np.array(intents), np.array(sets)


def fold_probabilities(
    texts: list[str], intents: np.ndarray, c: float, scales: list[float], folds: int
) -> tuple[dict[float, np.ndarray], np.ndarray, float]:
    """Out-of-fold probabilities for every example, per softmax scale."""
    by_scale = {s: np.zeros((len(texts), len(set(intents)))) for s in scales}
    labels = np.array(sorted(set(intents)))
    started = time.monotonic()
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=7).split(texts, intents):
        model = LinearIntentModel(c=c).fit([texts[i] for i in train], intents[train])
        assert list(model.labels) == list(labels)  # noqa: S101
        held = [texts[i] for i in test]
        for s in scales:
            model.scale = s
            by_scale[s][test] = model.probabilities(held)
    return by_scale, labels, (time.monotonic() - started) / folds


def score(
    probabilities: np.ndarray, labels: np.ndarray, intents: np.ndarray, sets: np.ndarray, th: float
) -> dict[str, object]:
    predicted = np.where(
        probabilities.max(axis=1) < th, "nlu_fallback", labels[probabilities.argmax(axis=1)]
    )
    off = intents == OFF_TOPIC
    right = np.where(off, np.isin(predicted, REJECTED), predicted == intents)
    per_set = {
        name: {
            "accuracy": round(float(right[sets == name].mean()), 4),
            "off_topic_false_accept": round(
                float((~np.isin(predicted[off & (sets == name)], REJECTED)).mean()), 4
            ),
        }
        for name in DATA_SETS
    }
    return {
        "accuracy": round(float(right.mean()), 4),
        "off_topic_false_accept": round(float((~np.isin(predicted[off], REJECTED)).mean()), 4),
        "worst_accuracy": min(v["accuracy"] for v in per_set.values()),
        "worst_false_accept": max(v["off_topic_false_accept"] for v in per_set.values()),
        "per_set": per_set,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--c", default="0.5,1,2")
    parser.add_argument("--scale", default="2,3,5")
    parser.add_argument("--threshold", default="0,0.2,0.25,0.3,0.35")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    texts, intents, sets = training_rows()
    scales = [float(v) for v in args.scale.split(",")]
    results = []
    for c in (float(v) for v in args.c.split(",")):
        by_scale, labels, fit_seconds = fold_probabilities(texts, intents, c, scales, args.folds)
        for s, probabilities in by_scale.items():
            for th in (float(v) for v in args.threshold.split(",")):
                result = score(probabilities, labels, intents, sets, th)
                results.append({"c": c, "scale": s, "threshold": th, **result})
                print(
                    f"c={c:<4} scale={s:<4} threshold={th:<5} "
                    f"accuracy={result['accuracy']:.3f} worst={result['worst_accuracy']:.3f} "
                    f"false-accept={result['off_topic_false_accept']:.3f} "
                    f"worst-fa={result['worst_false_accept']:.3f} fit={fit_seconds:.0f}s",
                    flush=True,
                )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "examples": len(texts),
                "folds": args.folds,
                "results": results,
            },
            indent=1,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
