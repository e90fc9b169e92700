"""Plaintext secrets: secret-looking env vars must arrive as Pulumi secrets."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .props import SECRET_SIG, SIG_KEY, as_list, is_unknown

SECRET_SUFFIXES = [
    "_KEY",
    "_SECRET",
    "_PASSWORD",
    "_PASSWD",
    "_PASS",
    "_TOKEN",
    "_CREDENTIALS",
]
SECRET_NAMES = ["PASSWORD", "SECRET", "TOKEN", "API_KEY"]
URL_WITH_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s]*:[^/@\s]+@")
# Values that cannot be secrets (feature flags such as ENABLE_API_KEY=true).
NON_SECRET_VALUES = frozenset({"", "true", "false"})


def is_secret(value: Any) -> bool:
    """True for a value wrapped in the engine's secret signature."""
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def secret_like_name(name: str, suffixes: list[str], names: list[str]) -> bool:
    """True when an env var name says it carries a credential."""
    upper = name.upper()
    return upper in {n.upper() for n in names} or any(upper.endswith(s.upper()) for s in suffixes)


def check_plaintext_secrets(raw: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    """Report env vars that look like credentials and are not Pulumi secrets.

    ``raw`` keeps the engine's secret markers. An env list secret as a whole, or one element
    secret on its own, both count as secret. Values are never echoed, only variable names.
    An element unknown at preview is skipped: it is checked again with its value at update time.
    """
    envs = raw.get("envs")
    if is_secret(envs) or is_unknown(envs):
        return []
    suffixes = [str(s) for s in cfg.get("secretSuffixes") or []]
    names = [str(n) for n in cfg.get("secretNames") or []]
    allowed = {str(n).upper() for n in cfg.get("allowedPlaintext") or []}
    out = []
    for item in as_list(envs):
        if is_secret(item) or not isinstance(item, str) or is_unknown(item):
            continue
        key, _, value = item.partition("=")
        if key.upper() in allowed or value.strip().lower() in NON_SECRET_VALUES:
            continue
        if URL_WITH_PASSWORD.match(value.strip()):
            out.append(
                f"container '{ctx.name}': env {key} holds a URL with an embedded password in plaintext. "
                "Fix: build it with pulumi.Output.secret(...) / Output.format from a secret, or pass the "
                "password separately from Config.require_secret / pulumi_random."
            )
        elif secret_like_name(key, suffixes, names):
            out.append(
                f"container '{ctx.name}': env {key} is set in plaintext. "
                "Fix: pass it as a Pulumi secret (Config.require_secret, pulumi_random, or pulumi.Output.secret)."
            )
    return out


RULES: list[Rule] = [
    Rule(
        name="container-no-plaintext-secrets",
        description="Credential env vars (keys, secrets, passwords, tokens, URLs with passwords) are Pulumi secrets.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        check=check_plaintext_secrets,
        config={
            "secretSuffixes": {
                "type": "array",
                "items": {"type": "string"},
                "default": SECRET_SUFFIXES,
                "description": "Env var name suffixes that mark a credential.",
            },
            "secretNames": {
                "type": "array",
                "items": {"type": "string"},
                "default": SECRET_NAMES,
                "description": "Env var names that are credentials as a whole.",
            },
            "allowedPlaintext": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Env var names reviewed as not secret despite their name.",
            },
        },
        needs_raw=True,
    ),
]
