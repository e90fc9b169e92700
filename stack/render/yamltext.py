"""The text of a rendered YAML file: libyaml's emitter when PyYAML has it, PyYAML's own otherwise.

Both write the same text for every file the program renders (tests/stack/test_yamltext.py), and
libyaml's is a fraction of the cost: the monitoring files alone were a tenth of an evaluation.
"""

from __future__ import annotations

from typing import Any

import yaml

DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(doc: Any, **options: Any) -> str:
    """`yaml.safe_dump(doc, **options)`, with the faster emitter."""
    text: str = yaml.dump(doc, Dumper=DUMPER, **options)
    return text
