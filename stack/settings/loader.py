"""From a stack's raw config to Settings, with every problem named by stack file and key."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError

from stack.models import fit
from stack.models.lock import LockedModel, LockError, load_lock
from stack.settings.model import NAMESPACE, Settings
from stack.settings.oidc import secret_problems as oidc_secret_problems
from stack.settings.services import describe_pattern

OBJECT_SECRETS = frozenset({"providerKeys"})
"""Secret settings holding one named value per entry (only the names are ever read)."""
SCALAR_SECRETS = frozenset({"backupPassphrase", "backupS3AccessKey", "backupS3SecretKey", "openWebuiOidcClientSecret"})
"""Secret settings holding one value: the restic repository's passphrase, the S3 keys, the OIDC client secret."""
SECRET_KEYS = OBJECT_SECRETS | SCALAR_SECRETS
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


def _looks_like_ours(namespace: str) -> bool:
    """A misspelling of this project's namespace (`ai-stak`, `ai_stack`, `AI-Stack`)."""
    folded = re.sub(r"[^a-z0-9]", "", namespace.lower())
    return folded == re.sub(r"[^a-z0-9]", "", NAMESPACE) or (
        difflib.SequenceMatcher(None, namespace.lower(), NAMESPACE).ratio() >= 0.75
    )


def _secret_names(key: str, raw: Any, problems: list[str]) -> list[str]:
    """The names inside an encrypted object-valued setting (its values are never kept)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(
            f"{key}: must hold one named key per provider, not a single value; set each with "
            f"`pulumi config set --secret --path '{key}.OPENAI_API_KEY' sk-…` (or the whole object as "
            f'JSON: `pulumi config set --secret {key} \'{{"OPENAI_API_KEY": "sk-…"}}\'`)'
        )
        return []
    return sorted(value)


def load_settings(
    config: Mapping[str, Any],
    stack: str,
    secret_keys: Mapping[str, list[str]] | None = None,
    *,
    encrypted: Collection[str] | None = None,
    lock: Mapping[str, LockedModel] | None = None,
) -> Settings:
    """Validate one stack's config (`{"ai-stack:key": value}`) into Settings.

    `secret_keys` maps each secret config key (without namespace) to the names inside it
    (never the values), so provider keys can be checked without reading them. Given
    `encrypted` (the full config keys Pulumi marks secret) instead, the names are read from
    the config itself, and an encrypted value of a setting that is not secret is refused.
    Every declared model must be in the model `lock` (default: models.lock.json) and fit.
    """
    source = f"Pulumi.{stack}.yaml"
    prefix = f"{NAMESPACE}:"
    known = {f.alias or name for name, f in Settings.model_fields.items()}
    values: dict[str, Any] = {}
    problems: list[str] = []
    secret_keys = dict(secret_keys or {})
    if encrypted is not None:
        for full_key in sorted(encrypted):
            key = full_key.removeprefix(prefix)
            if key in OBJECT_SECRETS and full_key in config:
                secret_keys.setdefault(key, _secret_names(full_key, config[full_key], problems))
            elif key in SCALAR_SECRETS and full_key in config:
                secret_keys.setdefault(key, [])
            elif full_key.startswith(prefix):
                problems.append(
                    f"{full_key}: is encrypted, but it is not a secret setting and would be deployed "
                    f"in plain text; set it without --secret (only {', '.join(prefix + k for k in sorted(SECRET_KEYS))}"
                    " hold secrets)"
                )
    for full_key, raw in sorted(config.items()):
        if not full_key.startswith(prefix):
            namespace, _, key = full_key.partition(":")
            if namespace != NAMESPACE and _looks_like_ours(namespace):
                problems.append(
                    f"{full_key}: unknown namespace {namespace!r} (did you mean {prefix}{key}?); "
                    f"this project's settings are {prefix}<key>"
                )
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_KEYS:
            if key not in secret_keys:
                how = f"--path '{full_key}.<ENV_NAME>' <value>" if key in OBJECT_SECRETS else f"{full_key} <value>"
                problems.append(f"{full_key}: must be a secret: run `pulumi config set --secret {how}`")
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
            elif e["type"] == "string_pattern_mismatch":
                msg = f"{describe_pattern(str(e['ctx']['pattern']))}; got {e['input']!r}"
            problems.append(f"{where}: {msg}" if where else msg)
    if settings is not None and not problems:
        provided = set(secret_keys.get("providerKeys", []))
        for i, provider in enumerate(settings.providers):
            if provider.api_key_env not in provided:
                problems.append(
                    f"{prefix}providers[{i}].apiKeyEnv: no secret {prefix}providerKeys.{provider.api_key_env}; "
                    f"set it with `pulumi config set --secret --path '{prefix}providerKeys.{provider.api_key_env}' …`"
                )
    if settings is not None and not problems:
        try:
            locked = load_lock() if lock is None else lock
        except LockError as err:
            problems.append(f"{err}; run `make lock STACK={stack}`")
        else:
            problems += fit.check(settings, locked, stack)[0]
        problems += _backup_secrets(settings, set(secret_keys), prefix)
        problems += oidc_secret_problems(settings, set(secret_keys))
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SettingsError(f"{source} (stack {stack!r}) has invalid settings:\n{lines}")
    assert settings is not None
    return settings


def _backup_secrets(settings: Settings, present: set[str], prefix: str) -> list[str]:
    """An S3 target needs its keys, and nothing leaves the host unencrypted: it needs the passphrase too."""
    if not settings.backs_up or settings.backup.target != "s3":
        return []
    return [
        f"{prefix}{key}: required when {prefix}backup.target is s3 ({why}); set it with "
        f"`pulumi config set --secret {prefix}{key} …`"
        for key, why in (
            ("backupS3AccessKey", "the S3 access key id"),
            ("backupS3SecretKey", "the S3 secret key"),
            ("backupPassphrase", "backups leave the host only encrypted"),
        )
        if key not in present
    ]


def _closest(key: str, known: set[str]) -> str | None:
    match = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return match[0] if match else None
