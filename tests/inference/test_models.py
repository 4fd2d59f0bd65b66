"""The model catalog: a GGUF is used only when it is the release (size and SHA-256), and a
model that cannot be had falls back to the default with the reason in one sentence."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from inference import models

pytestmark = pytest.mark.unit


@pytest.fixture
def small_model(tmp_path, monkeypatch):
    """A catalog entry for a 1 KB 'model' in a temporary cache."""
    data = bytes(range(256)) * 4
    monkeypatch.setenv("FRONTDESK_MODEL_CACHE", str(tmp_path))
    spec = dataclasses.replace(
        models.MODELS["qwen2.5-1.5b"],
        name="tiny",
        file="tiny.gguf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    monkeypatch.setitem(models.MODELS, "tiny", spec)
    return tmp_path / "tiny.gguf", data


def test_the_release_is_accepted_and_remembered(small_model):
    path, data = small_model
    path.write_bytes(data)
    assert models.installed_path("tiny") == path
    note = json.loads(path.with_name("tiny.gguf.verified").read_text())
    assert note["sha256"] == models.MODELS["tiny"].sha256 and note["size"] == len(data)


def test_a_file_that_is_not_the_release_is_refused(small_model):
    path, data = small_model
    path.write_bytes(data[:-1] + b"x")  # same size, other bytes
    with pytest.raises(models.ModelUnavailable, match="is not the tiny release"):
        models.installed_path("tiny")


def test_a_file_changed_after_it_was_verified_is_hashed_again(small_model):
    path, data = small_model
    path.write_bytes(data)
    models.installed_path("tiny")
    path.write_bytes(data[::-1])  # new mtime: the note no longer applies
    with pytest.raises(models.ModelUnavailable):
        models.installed_path("tiny")


def test_a_missing_or_unknown_model_falls_back_to_the_default_in_one_sentence(small_model):
    spec, path, problem = models.resolve("tiny")
    assert spec.name == models.DEFAULT_MODEL and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert problem == "model tiny is not downloaded yet: run `frontdesk model fetch tiny`; using smollm2-135m instead"
    spec, _, problem = models.resolve("gpt-9")
    assert spec.name == models.DEFAULT_MODEL and problem.startswith("unknown model 'gpt-9'")


def test_the_capable_model_is_pinned_to_the_official_release():
    qwen = models.MODELS["qwen2.5-1.5b"]
    assert qwen.size == 1_117_320_768
    assert qwen.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert len(qwen.parts) == 22 and all(len(p.sha256) == 64 for p in qwen.parts)
    assert qwen.writes and qwen.tools and not models.MODELS["smollm2-135m"].writes
