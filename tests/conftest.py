"""Shared fixtures: each stack's program evaluated once under Pulumi's mocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.models import lock as model_lock
from tools.offline import Evaluation, evaluate

SAME_AS_LLAMA32_1B = (
    "qwen2.5:0.5b",
    "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
    "huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF",
    "registry.ollama.ai/library/llama3.2:1b",
)


@pytest.fixture(scope="session")
def dev() -> Evaluation:
    return evaluate("dev")


@pytest.fixture(scope="session")
def prod() -> Evaluation:
    return evaluate("prod")


@pytest.fixture(params=["dev", "prod"])
def any_stack(request: pytest.FixtureRequest, dev: Evaluation, prod: Evaluation) -> Evaluation:
    return {"dev": dev, "prod": prod}[request.param]


@pytest.fixture
def more_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A lock that also holds the test-only model references (with llama3.2:1b's numbers)."""
    doc = json.loads(model_lock.LOCK_FILE.read_text())
    for ref in SAME_AS_LLAMA32_1B:
        doc["models"][ref] = {**doc["models"]["llama3.2:1b"], "source": "tests: llama3.2:1b's numbers"}
    path = tmp_path / "models.lock.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr(model_lock, "LOCK_FILE", path)
    yield path
