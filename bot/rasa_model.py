"""The Rasa model: trained from nlu/ and dialogues/ only when they changed."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

RASA_BIN = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
CONFIG = PROJECT_ROOT / "nlu" / "config.yml"
DOMAIN = PROJECT_ROOT / "dialogues" / "domain.yml"
DATA_DIRS = (PROJECT_ROOT / "nlu", PROJECT_ROOT / "dialogues")


class TrainingFailed(RuntimeError):
    pass


def rasa_env() -> dict[str, str]:
    """What Rasa processes add to the environment: they import Sahay's own NLU components
    (nlu/components/) from the project root."""
    paths = [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


def training_files(dirs: Iterable[Path] = DATA_DIRS) -> list[Path]:
    """What the model is made of: training data and config, and Sahay's own components."""
    files = [p for d in dirs for p in d.rglob("*.yml") if p.is_file()]
    files += [p for d in dirs for p in d.glob("components/*.py")]
    return sorted(files)


def fingerprint(files: Iterable[Path], root: Path = PROJECT_ROOT) -> str:
    """A hash of the training data's paths and contents. Pure function of the files."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(model_dir: Path, files: Iterable[Path] | None = None) -> Path:
    files = training_files() if files is None else files
    return model_dir / f"sahay-{fingerprint(files)}.tar.gz"


def train_command(rasa_bin: Path, out: Path, name: str) -> list[str]:
    """`rasa train` of the whole model (NLU and dialogue policies) into `out`/`name`.tar.gz."""
    return [
        str(rasa_bin),
        "train",
        "--config",
        str(CONFIG),
        "--domain",
        str(DOMAIN),
        "--data",
        *(str(d) for d in DATA_DIRS),
        "--out",
        str(out),
        "--fixed-model-name",
        name,
    ]


def ensure_model(model_dir: Path, rasa_bin: Path = RASA_BIN) -> tuple[Path, bool]:
    """Return (model, trained_now). Trains only when no model matches the training data."""
    model_dir = model_dir.resolve()
    target = model_path(model_dir)
    if target.exists():
        return target, False
    model_dir.mkdir(parents=True, exist_ok=True)
    logger.info("Training data changed: training the Rasa model (two to three minutes)")
    log_file = model_dir / "train.log"
    with log_file.open("wb") as log:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            train_command(rasa_bin, model_dir, target.name.removesuffix(".tar.gz")),
            cwd=model_dir,
            env={**os.environ, **rasa_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0 or not target.exists():
        raise TrainingFailed(f"rasa train failed (exit {result.returncode}); see {log_file}")
    for old in model_dir.glob("sahay-*.tar.gz"):
        if old != target:
            old.unlink()
    return target, True
