"""Checks the NLU training and held-out data: every intent of the contract present with enough
examples, no example under two intents, no held-out example in the training data.

    .venv/bin/python scripts/check_nlu_data.py [data-set ...]     (default: all)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.intents import DATA_SETS  # noqa: E402
from nlu.training_data import check, summary  # noqa: E402


def main(argv: list[str]) -> int:
    names = argv or list(DATA_SETS)
    problems = [p for name in names for p in check(name)]
    for name in names:
        print(summary(name))
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
