"""The README's "Add a model" example works as written: the stack file it shows passes once the
model is locked, and `make lock` reads it from Hugging Face's registry (hand-written URL)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from stack.models.lock import registry_ref
from stack.settings import SettingsError
from tools.stackfile import stack_settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _example() -> dict[str, object]:
    section = README.split("### Add a model", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "the section shows a stack-file example"
    doc: dict[str, object] = yaml.safe_load(re.sub(r"^   ", "", block[1], flags=re.M))
    return doc


def _text(extra: dict[str, object]) -> str:
    config = {"ai-stack:host": {"cpus": 8, "memory": "16Gi"}, **extra}
    text: str = yaml.safe_dump({"config": config})
    return text


def test_the_example_needs_make_lock_first_then_passes(more_models: Path) -> None:
    config = _example()["config"]
    assert isinstance(config, dict)
    ref = "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
    assert ref in config["ai-stack:models"]
    assert stack_settings("dev", text=_text(config)).models == config["ai-stack:models"]


def test_without_the_lock_the_example_says_to_run_make_lock() -> None:
    config = _example()["config"]
    assert isinstance(config, dict)
    refused = r"Q4_K_M is not in models\.lock\.json: run `make lock STACK=dev`"
    with pytest.raises(SettingsError, match=refused):
        stack_settings("dev", text=_text(config))


def test_make_lock_reads_it_from_hugging_face() -> None:
    where = registry_ref("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
    # Ollama pulls hf.co models over the same OCI API: https://hf.co/v2/<user>/<repo>/manifests/<quant>.
    assert (where.base, where.repository, where.tag) == (
        "https://hf.co",
        "bartowski/Llama-3.2-1B-Instruct-GGUF",
        "Q4_K_M",
    )
