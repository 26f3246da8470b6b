"""Reads Sahay's Rasa NLU YAML (training and held-out) without Rasa, and checks it: every
intent of the contract with enough examples, no example under two intents, no held-out
example in the training data. `scripts/check_nlu_data.py` prints the check; tests enforce it."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from nlu.intents import DATA_SETS, INTENTS, MIN_TRAIN

NLU_DATA = Path(__file__).resolve().parent / "data"
ROOT = NLU_DATA.parent.parent
HELDOUT = ROOT / "benchmarks" / "data" / "nlu_heldout"


# libyaml's safe loader when PyYAML has it (ten times faster on 40,000 examples).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Rasa's entity annotation: [text](entity) or [text]{"entity": ...}
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def read_examples(path: Path) -> dict[str, list[str]]:
    """intent → example texts (entity annotations removed) of one NLU YAML file."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}  # noqa: S506
    found: dict[str, list[str]] = defaultdict(list)
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                found[block["intent"]].append(_ANNOTATION.sub(r"\1", line[2:].strip()))
    return dict(found)


def read_data_set(name: str, root: Path = NLU_DATA) -> dict[str, list[str]]:
    """intent → examples of one data set folder (e.g. `bn`, `hi_latn`)."""
    merged: dict[str, list[str]] = defaultdict(list)
    for path in sorted((root / name).glob("*.yml")):
        for intent, examples in read_examples(path).items():
            merged[intent].extend(examples)
    return dict(merged)


def examples_by_language(root: Path = NLU_DATA) -> dict[str, list[str]]:
    """Language code → every training text in it, in any script (`bn` and `bn_latn` are
    both Bengali)."""
    result: dict[str, list[str]] = defaultdict(list)
    for name in DATA_SETS:
        for examples in read_data_set(name, root).values():
            result[name.removesuffix("_latn")].extend(examples)
    return dict(result)


def normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def check(name: str) -> list[str]:
    problems = []
    train: dict[str, list[str]] = defaultdict(list)
    files = sorted((NLU_DATA / name).glob("*.yml"))
    if not files:
        return [f"{name}: no training files in nlu/data/{name}/"]
    for path in files:
        for intent, examples in read_examples(path).items():
            train[intent].extend(examples)
    unknown = set(train) - set(INTENTS)
    if unknown:
        problems.append(f"{name}: intents not in the contract: {sorted(unknown)}")
    for intent in INTENTS:
        n = len({normal(e) for e in train.get(intent, [])})
        if n < MIN_TRAIN[name]:
            problems.append(f"{name}: {intent} has {n} distinct examples, needs {MIN_TRAIN[name]}")
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, examples in train.items():
        for e in examples:
            owners[normal(e)].add(intent)
    for text, intents in owners.items():
        if len(intents) > 1:
            problems.append(f"{name}: {text!r} is under several intents: {sorted(intents)}")
    heldout_path = HELDOUT / f"{name}.yml"
    if not heldout_path.exists():
        problems.append(f"{name}: no held-out file {heldout_path.relative_to(ROOT)}")
    else:
        heldout = read_examples(heldout_path)
        for intent in INTENTS:
            if not heldout.get(intent):
                problems.append(f"{name}: held-out has no {intent}")
        for examples in heldout.values():
            for e in examples:
                if normal(e) in owners:
                    problems.append(f"{name}: held-out {e!r} is also training data")
    return problems


def summary(name: str) -> str:
    train: Counter[str] = Counter()
    for path in sorted((NLU_DATA / name).glob("*.yml")):
        for intent, examples in read_examples(path).items():
            train[intent] += len(examples)
    heldout_path = HELDOUT / f"{name}.yml"
    held = (
        sum(len(v) for v in read_examples(heldout_path).values()) if heldout_path.exists() else 0
    )
    return f"{name}: {sum(train.values())} training examples, {held} held-out"
