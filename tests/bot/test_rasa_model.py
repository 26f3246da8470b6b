"""The model is retrained only when the training data changed."""

from __future__ import annotations

from pathlib import Path

from bot.pseudonym import contact_id
from bot.rasa_model import fingerprint, model_path, training_files


def test_fingerprint_changes_with_content_and_only_then(tmp_path: Path) -> None:
    data = tmp_path / "nlu"
    data.mkdir()
    (data / "a.yml").write_text("nlu: []\n")
    files = training_files([data])
    first = fingerprint(files, tmp_path)
    assert fingerprint(training_files([data]), tmp_path) == first
    (data / "a.yml").write_text("nlu: [x]\n")
    assert fingerprint(files, tmp_path) != first


def test_model_name_follows_the_project_training_data(tmp_path: Path) -> None:
    name = model_path(tmp_path).name
    assert name.startswith("sahay-")
    assert name.endswith(".tar.gz")
    assert model_path(tmp_path) == model_path(tmp_path)


def test_contact_ids_are_pseudonymous_and_stable() -> None:
    a = contact_id("key-1", "telegram", "123456")
    assert a == contact_id("key-1", "telegram", "123456")
    assert "123456" not in a
    assert a != contact_id("key-2", "telegram", "123456")
    assert a != contact_id("key-1", "whatsapp", "123456")
