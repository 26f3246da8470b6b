"""Sahay's NLU pipeline against Rasa's default pipeline (the config `rasa init` writes), side
by side in one run: on Sahay's own data (accuracy per language, training time) and on CLINC150
(small split: in-scope accuracy on `test`, out-of-scope recall on `oos_test`).

    make bench-nlu    (or: benchmarks/bench_nlu.py --datasets sahay --pipelines sahay)

Rasa's default pipeline trains DIET for 100 epochs: on Sahay's 40,000 examples that is over
three hours on this machine. `--default-epochs N` trains that same pipeline for N epochs
instead (written out explicitly, everything else as `rasa init` has it) and records N.

Writes benchmarks/results/bench_nlu.json (updated after every run, so a long run keeps what it
finished).
"""

from __future__ import annotations

import argparse
import json
import platform
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
    score,
    test_nlu,
    train_nlu,
    write_nlu_yaml,
)

CLINC = ROOT.parent / "shared" / "data" / "clinc150" / "data_small.json"
PIPELINES = {
    "sahay": ROOT / "nlu" / "config.yml",
    "rasa_default": RASA.parent.parent
    / "lib"
    / "python3.10"
    / "site-packages"
    / "rasa"
    / "cli"
    / "initial_project"
    / "config.yml",
}
OUTPUT = RESULTS / "bench_nlu.json"
DEFAULT_EPOCHS = 100
# The pipeline `rasa init` leaves commented out, which Rasa then uses; epochs set by us.
DEFAULT_PIPELINE = """recipe: default.v1
assistant_id: rasa_default_pipeline
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: {epochs}
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: {epochs}
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
"""


Prepared = tuple[list[Path], list[Example], str]


def prepare_sahay(work: Path) -> Prepared:
    """Training data: nlu/data as it is. Test: every held-out file, each text's data set."""
    return [ROOT / "nlu" / "data"], heldout_examples(), "out_of_scope"


def prepare_clinc(work: Path) -> Prepared:
    data = json.loads(CLINC.read_text())
    train: dict[str, list[str]] = {}
    for text, intent in data["train"] + data["oos_train"]:
        train.setdefault(intent, []).append(text)
    examples = [
        Example(text, intent, split)
        for split in ("test", "oos_test")
        for text, intent in data[split]
    ]
    train_file = work / "clinc-train.yml"
    write_nlu_yaml(train_file, train)
    return [train_file], examples, "oos"


def pipeline_config(pipeline: str, epochs: int, work: Path) -> Path:
    if pipeline != "rasa_default" or epochs == DEFAULT_EPOCHS:
        return PIPELINES[pipeline]
    config = work / "rasa-default-config.yml"
    config.write_text(DEFAULT_PIPELINE.format(epochs=epochs))
    return config


def run(dataset: str, pipeline: str, work: Path, epochs: int) -> dict[str, object]:
    prepare = prepare_sahay if dataset == "sahay" else prepare_clinc
    train_files, examples, off_topic = prepare(work)
    name = f"{dataset}-{pipeline}"
    seconds = train_nlu(pipeline_config(pipeline, epochs, work), train_files, work, name)
    predictions: list[Prediction] = test_nlu(work / f"{name}.tar.gz", examples, work / name)
    groups = by_group(predictions)
    result: dict[str, object] = {
        "train_seconds": round(seconds, 1),
        **({"epochs": epochs} if pipeline == "rasa_default" else {}),
        "overall": score(predictions, off_topic),
        "groups": {g: score(ps, off_topic) for g, ps in sorted(groups.items())},
    }
    if dataset == "clinc150":
        oos = groups.get("oos_test", [])
        result["in_scope_accuracy"] = score(groups.get("test", []), off_topic).get("accuracy")
        result["oos_recall"] = (
            round(sum(p.predicted in ("oos", "nlu_fallback") for p in oos) / len(oos), 4)
            if oos
            else None
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="sahay,clinc150")
    parser.add_argument("--pipelines", default="sahay,rasa_default")
    parser.add_argument(
        "--default-epochs",
        default=f"sahay:{DEFAULT_EPOCHS},clinc150:{DEFAULT_EPOCHS}",
        help="DIET epochs of Rasa's default pipeline per data set, e.g. sahay:10,clinc150:100",
    )
    args = parser.parse_args()
    epochs = {k: int(v) for k, v in (p.split(":") for p in args.default_epochs.split(","))}
    results = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {}
    results["machine"] = {"platform": platform.platform(), "note": "2 cores, shared"}
    with tempfile.TemporaryDirectory(prefix="sahay-bench-nlu-") as tmp:
        for dataset in args.datasets.split(","):
            for pipeline in args.pipelines.split(","):
                work = Path(tmp) / f"{dataset}-{pipeline}"
                work.mkdir()
                started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                result = run(dataset, pipeline, work, epochs.get(dataset, DEFAULT_EPOCHS))
                result["when"] = started
                results.setdefault(dataset, {})[pipeline] = result
                OUTPUT.parent.mkdir(parents=True, exist_ok=True)
                OUTPUT.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
                print(
                    dataset,
                    pipeline,
                    json.dumps(result["overall"]),
                    result["train_seconds"],
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
