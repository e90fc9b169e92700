"""Policy config as the CLI handles it: read a --policy-pack-config file, reconcile it with the pack."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .protocol import LEVELS, AnalyzerInfo


class PolicyConfigError(ValueError):
    """A policy config file does not match the pack (unknown policy/knob, or schema violation)."""


def load_policy_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``--policy-pack-config`` JSON file (an empty file is an empty config)."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.strip():
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: policy config must be a JSON object")
    return data


def reconcile_config(
    info: AnalyzerInfo, config: Mapping[str, Any], *, strict: bool = True
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Merge schema defaults, the pack's initial config and ``config`` the way the CLI does.

    Values are an enforcement level string or an object with ``enforcementLevel`` plus knobs; the
    key ``all`` sets the level of every policy. The result is validated against each policy's
    config schema (needs ``jsonschema``). With ``strict`` (default), unknown policy names and
    knobs missing from a schema are errors too: the CLI ignores them, which hides typos.
    """
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for p in info.policies:
        defaults = {k: v["default"] for k, v in p.config_schema.items() if isinstance(v, dict) and "default" in v}
        result[p.name] = (p.enforcement_level, defaults)

    def apply(entries: Mapping[str, tuple[str | None, dict[str, Any]]]) -> None:
        if "all" in entries and entries["all"][0]:
            for name, (_, props) in result.items():
                result[name] = (entries["all"][0] or "", props)
        for name, (level, props) in entries.items():
            if name == "all":
                continue
            if name not in result:
                if strict:
                    raise PolicyConfigError(f"policy config names unknown policy '{name}'")
                continue
            current_level, current_props = result[name]
            result[name] = (level or current_level, {**current_props, **props})

    apply(info.initial_config)
    parsed: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for name, value in config.items():
        if isinstance(value, str):
            level, props = value, {}
        elif isinstance(value, Mapping):
            props = dict(value)
            level = props.pop("enforcementLevel", None)
        else:
            raise PolicyConfigError(f"'{name}': must be an enforcement level string or an object")
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(f"'{name}': {level!r} is not a valid enforcement level")
        parsed[name] = (level, props)
    apply(parsed)

    # Imported here, not at the top: it is the slowest import of the offline gate, which
    # loads it while the pack boots (see gate.run).
    import jsonschema

    errors: list[str] = []
    for p in info.policies:
        props = result[p.name][1]
        if strict:
            errors += [f"{p.name}: unknown config '{k}'" for k in props if k not in p.config_schema]
        schema: dict[str, Any] = {"type": "object", "properties": p.config_schema}
        if p.required:
            schema["required"] = list(p.required)
        validator = jsonschema.Draft7Validator(schema)
        errors += [f"{p.name}: {e.message}" for e in validator.iter_errors(props)]
    if errors:
        raise PolicyConfigError("; ".join(errors))
    return result
