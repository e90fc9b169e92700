"""Policy config as the CLI handles it: read a --policy-pack-config file, reconcile it with the pack.

A port of pulumi/pulumi pkg/resource/analyzer/config.go (commit 1b5949891b, v3.259.0+14):
`parsePolicyPackConfig`, `extractEnforcementLevel`, `ReconcilePolicyPackConfig` and
`applyConfig`, and of pkg/resource/plugin/analyzer_plugin.go `Configure` and
`convertPolicyConfig`. An entry's level is "" when the entry gives none; the CLI then keeps the
level the policy already has (its own, or the pack's initial config's), never "advisory".
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .protocol import LEVELS, AnalyzerInfo
from .schema import errors as schema_errors

Entry = tuple[str, dict[str, Any]]
"""(enforcement level, "" when the entry gives none; properties)."""


class PolicyConfigError(ValueError):
    """A policy config file does not match the pack (unknown policy/knob, or schema violation)."""


def _level(name: str, value: Any) -> str:
    """`extractEnforcementLevel`: a string that is a valid level, else an error naming ``name``."""
    if not isinstance(value, str):
        raise PolicyConfigError(f"parsing enforcement level for {name!r}: {value!r} is not a valid enforcement level")
    if value not in LEVELS:
        raise PolicyConfigError(f"parsing enforcement level for {name!r}: {value!r} is not a valid enforcement level")
    return value


def parse_policy_config(data: Mapping[str, Any]) -> dict[str, Entry]:
    """`parsePolicyPackConfig` on decoded JSON: `environments` set aside, entries with neither a
    level nor properties dropped, anything else that is not a level or an object an error."""
    result: dict[str, Entry] = {}
    for name, value in data.items():
        if name == "environments":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PolicyConfigError('"environments" must be an array of strings')
            continue
        if isinstance(value, str):
            level, props = _level(name, value), {}
        elif isinstance(value, Mapping):
            props = dict(value)
            level = _level(name, props.pop("enforcementLevel")) if "enforcementLevel" in props else ""
        else:
            raise PolicyConfigError(f"parsing {name!r}: {value!r} is not a valid value; must be a string or object")
        if level or props:
            result[name] = (level, props)
    return result


def load_policy_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``--policy-pack-config`` JSON file (an empty file is an empty config)."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.strip():
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: policy config must be a JSON object")
    return data


def apply_config(result: dict[str, Entry], given: Mapping[str, Entry]) -> None:
    """`applyConfig`: "all" with a level sets every policy's level first; then each entry (the
    "all" entry and unknown names included, as the CLI does) keeps the level it has unless the
    entry gives one, and merges its properties."""
    everyone = given.get("all")
    if everyone is not None and everyone[0] in LEVELS:
        for name, (_, props) in list(result.items()):
            result[name] = (everyone[0], props)
    for name, (level, props) in given.items():
        current_level, current_props = result.get(name, ("", {}))
        result[name] = (level if level in LEVELS else current_level, {**current_props, **props})


def reconcile_config(info: AnalyzerInfo, config: Mapping[str, Any], *, strict: bool = True) -> dict[str, Entry]:
    """What the CLI sends with ``Configure`` for the ``--policy-pack-config`` ``config``.

    Schema defaults and each policy's own level, then the pack's initial config, then ``config``;
    every policy's properties validated against its schema (`schema.errors`), and every
    entry checked for a valid level as the CLI's `Configure` does. With ``strict`` (default),
    unknown policy names and knobs missing from a schema are errors too: the CLI ignores them,
    which hides typos.
    """
    result: dict[str, Entry] = {}
    for p in info.policies:
        defaults = {k: v["default"] for k, v in p.config_schema.items() if isinstance(v, dict) and "default" in v}
        result[p.name] = (p.enforcement_level, defaults)
    apply_config(result, info.initial_config)
    parsed = parse_policy_config(config)
    apply_config(result, parsed)

    known = {p.name for p in info.policies}
    errors: list[str] = []
    if strict:
        errors += [f"policy config names unknown policy '{n}'" for n in parsed if n not in known and n != "all"]
    for p in info.policies:
        props = result[p.name][1]
        if strict:
            errors += [f"{p.name}: unknown config '{k}'" for k in props if k not in p.config_schema]
        # The CLI adds the level to each schema (analyzer_plugin.go `GetAnalyzerInfo`).
        level_schema = {"type": "string", "enum": list(LEVELS)}
        schema: dict[str, Any] = {"type": "object", "properties": {**p.config_schema, "enforcementLevel": level_schema}}
        if p.required:
            schema["required"] = list(p.required)
        errors += [f"{p.name}: {message}" for message in schema_errors(props, schema)]
    if errors:
        raise PolicyConfigError("; ".join(sorted(errors)))
    invalid = sorted(name for name, (level, _) in result.items() if level not in LEVELS)
    if invalid:
        raise PolicyConfigError(f'invalid enforcement level "" for {", ".join(repr(n) for n in invalid)}')
    return result
