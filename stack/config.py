"""Reads this stack's Pulumi config: the settings, and the secret provider keys as Outputs."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from stack.settings import NAMESPACE, SECRET_KEYS, Settings, load_settings


def raw_config() -> tuple[dict[str, Any], set[str]]:
    """Every config value and the secret keys, from both channels the language host may use:
    the runtime's config store and the PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS environment."""
    config = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    secret = set(pulumi.runtime.config.get_config_secret_keys_env())
    secret |= {k for k in config if pulumi.runtime.is_config_secret(k)}
    return config, secret


def settings_from_config() -> Settings:
    """Read and validate this stack's config before any resource is registered."""
    config, secret = raw_config()
    secret_names: dict[str, list[str]] = {}
    for key in SECRET_KEYS:
        full = f"{NAMESPACE}:{key}"
        raw = config.get(full)
        if raw is not None and full in secret:
            names = json.loads(raw) if isinstance(raw, str) else raw
            secret_names[key] = sorted(names) if isinstance(names, dict) else []
    return load_settings(config, pulumi.get_stack(), secret_names)


def provider_keys(settings: Settings) -> dict[str, pulumi.Output[str]]:
    """Each hosted provider's API key, read from the secret config `providerKeys`."""
    if not settings.providers:
        return {}
    keys = pulumi.Config(NAMESPACE).require_secret_object("providerKeys")

    def pick(name: str) -> pulumi.Output[str]:
        return keys.apply(lambda k: str(k[name]))

    return {p.api_key_env: pick(p.api_key_env) for p in settings.providers}
