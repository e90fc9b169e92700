"""Stack files as the language host hands them to the program, and as Settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from stack.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "ai-stack"
SECRET_PLACEHOLDER = "offline-placeholder-secret"


class StackFileError(Exception):
    """A stack file that cannot be read at all (missing, not YAML, wrong shape)."""


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def _strip_secure(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER
        return {k: _strip_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v) for v in value]
    return value


def stack_config(stack: str, root: Path = ROOT, text: str | None = None) -> tuple[dict[str, str], list[str]]:
    """Config as the language host hands it to the program: strings, JSON for structures.

    Encrypted (`secure:`) values cannot be read offline; they become a placeholder that is
    marked secret, so everything downstream still treats them as secrets.
    """
    path = root / f"Pulumi.{stack}.yaml"
    if text is None:
        if not path.exists():
            raise StackFileError(f"{path.name}: no such stack file in {root}")
        text = path.read_text()
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise StackFileError(f"{path.name}: not valid YAML: {err}") from None
    raw = doc.get("config") or {}
    if not isinstance(doc, dict) or not isinstance(raw, dict):
        raise StackFileError(f"{path.name}: `config` must be a mapping of keys to values")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        key = str(key)
        if ":" not in key:
            key = f"{PROJECT}:{key}"
        if _has_secure(value):
            secret_keys.append(key)
            value = _strip_secure(value)
        if isinstance(value, (dict, list)):
            config[key] = json.dumps(value)
        elif isinstance(value, bool):
            config[key] = "true" if value else "false"
        else:
            config[key] = "" if value is None else str(value)
    return config, secret_keys


def stack_settings(stack: str, root: Path = ROOT) -> Settings:
    """The validated settings of a stack file (secret values are never read)."""
    config, secret_keys = stack_config(stack, root)
    return load_settings(config, stack, {k.split(":", 1)[1]: [] for k in secret_keys})
