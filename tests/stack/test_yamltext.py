"""The rendered YAML files are written by libyaml's emitter (stack/render/yamltext.py) when PyYAML
has it: it must write exactly the text PyYAML's own emitter writes, for every file of every
stack, or switching emitters would change the uploads and replace their containers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.render import yamltext
from tools.offline import ROOT, evaluate

DATA = ROOT / "tests" / "stack" / "data"
STACKS = [("dev", ROOT), ("prod", ROOT)] + [
    (p.name.split(".")[1], DATA) for p in sorted(DATA.glob("Pulumi.*.yaml")) if p.name.split(".")[1] != "flow"
]


def test_libyaml_is_the_emitter_where_pyyaml_has_it() -> None:
    assert yamltext.DUMPER is (yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper)


@pytest.mark.parametrize(("stack", "root"), STACKS, ids=[s for s, _ in STACKS])
def test_every_rendered_file_reads_as_pyyamls_own_emitter_writes_it(
    stack: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[tuple[str, str]] = []
    dump = yamltext.dump

    def both(doc: Any, **options: Any) -> str:
        text = dump(doc, **options)
        written.append((text, yaml.safe_dump(doc, **options)))
        return text

    monkeypatch.setattr(yamltext, "dump", both)
    evaluate(stack, root=root)
    assert written  # LiteLLM's config.yaml at least
    for fast, own in written:
        assert fast == own
