"""From a stack's raw config to Settings, with every problem named by stack file and key."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from stack.settings.model import NAMESPACE, Settings

SECRET_KEYS = frozenset({"providerKeys"})
"""Config keys that must be set with `pulumi config set --secret` and never enter Settings."""


class SettingsError(Exception):
    """Bad stack configuration; the message names the stack file and every bad key."""


def _decode(raw: Any) -> Any:
    """Pulumi hands structured config over as JSON text; scalars stay strings."""
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in "[{" or text in ("true", "false") or re.fullmatch(r"-?\d+(\.\d+)?", text):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
    return raw


def _where(loc: tuple[Any, ...]) -> str:
    if not loc:
        return ""
    head, *rest = loc
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def load_settings(
    config: Mapping[str, Any], stack: str, secret_keys: Mapping[str, list[str]] | None = None
) -> Settings:
    """Validate one stack's config (`{"ai-stack:key": value}`) into Settings.

    `secret_keys` maps each secret config key (without namespace) to the names inside it
    (never the values), so provider keys can be checked without reading them.
    """
    source = f"Pulumi.{stack}.yaml"
    prefix = f"{NAMESPACE}:"
    known = {f.alias or name for name, f in Settings.model_fields.items()}
    values: dict[str, Any] = {}
    problems: list[str] = []
    secret_keys = dict(secret_keys or {})
    for full_key, raw in sorted(config.items()):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_KEYS:
            if key not in secret_keys:
                problems.append(
                    f"{full_key}: must be a secret: run `pulumi config set --secret --path "
                    f"'{full_key}.<ENV_NAME>' <value>`"
                )
            continue
        if key not in known:
            hint = _closest(key, known | SECRET_KEYS)
            problems.append(f"{full_key}: unknown setting{f' (did you mean {prefix}{hint}?)' if hint else ''}")
            continue
        values[key] = _decode(raw)
    # Validate even when there are unknown keys, so every problem is reported at once.
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(values)
    except ValidationError as err:
        for e in err.errors():
            where = _where(tuple(e["loc"]))
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown setting"
            problems.append(f"{where}: {msg}" if where else msg)
    if settings is not None and not problems:
        provided = set(secret_keys.get("providerKeys", []))
        for i, provider in enumerate(settings.providers):
            if provider.api_key_env not in provided:
                problems.append(
                    f"{prefix}providers[{i}].apiKeyEnv: no secret {prefix}providerKeys.{provider.api_key_env}; "
                    f"set it with `pulumi config set --secret --path '{prefix}providerKeys.{provider.api_key_env}' …`"
                )
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SettingsError(f"{source} (stack {stack!r}) has invalid settings:\n{lines}")
    assert settings is not None
    return settings


def _closest(key: str, known: set[str]) -> str | None:
    match = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return match[0] if match else None
