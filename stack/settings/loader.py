"""From a stack's raw config to Settings, with every problem named by stack file and key.

All stages run and report together: keys (namespace, unknown, secret), values (units, ranges,
forms), whole-stack checks, the model lock and fit, secrets, and what only this machine can
tell (an AMD GPU's groups). A stage skips only what rests on a value already refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from stack.models import fit
from stack.models.lock import LockedModel, LockError, load_lock
from stack.settings import checks, images
from stack.settings.fields import related, validate_fields
from stack.settings.messages import closest, keys_of
from stack.settings.model import NAMESPACE, Settings
from stack.settings.monitoring import receiver_secret_problems
from stack.settings.oidc import secret_problems as oidc_secret_problems

OBJECT_SECRETS = frozenset({"providerKeys", "alertReceiverSecrets"})
"""Secret settings holding one named value per entry (only the names are ever read)."""
SCALAR_SECRETS = frozenset({"backupPassphrase", "backupS3AccessKey", "backupS3SecretKey", "openWebuiOidcClientSecret"})
"""Secret settings holding one value: the restic repository's passphrase, the S3 keys, the OIDC client secret."""
SECRET_KEYS = OBJECT_SECRETS | SCALAR_SECRETS
"""Config keys that must be set with `pulumi config set --secret` and never enter Settings."""

GroupProbe = Callable[[Sequence[str]], list[int]]


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


def _unset_empty(value: Any) -> Any:
    """`key:` with nothing after it (its entries commented out) is YAML null, which the CLI hands
    over as "" at the top and null inside an object: the setting is then not set."""
    if isinstance(value, dict):
        return {k: _unset_empty(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_unset_empty(v) for v in value]
    return value


def _looks_like_ours(namespace: str) -> bool:
    """A misspelling of this project's namespace (`ai-stak`, `ai_stack`, `AI-Stack`)."""
    folded = re.sub(r"[^a-z0-9]", "", namespace.lower())
    return folded == re.sub(r"[^a-z0-9]", "", NAMESPACE) or bool(closest(namespace.lower(), [NAMESPACE]))


def _secret_names(key: str, raw: Any, problems: list[str]) -> list[str]:
    """The names inside an encrypted object-valued setting (its values are never kept)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        receivers = key.endswith("alertReceiverSecrets")
        entry = "ops-webhook' https://…" if receivers else "OPENAI_API_KEY' sk-…"
        problems.append(
            f"{key}: must hold one named key per {'receiver' if receivers else 'provider'}, not a single value; "
            "set each with "
            f"`pulumi config set --secret --path '{key}.{entry}` (or the whole object as "
            f'JSON: `pulumi config set --secret {key} \'{{"NAME": "…"}}\'`)'
        )
        return []
    return sorted(value)


def _keys(
    config: Mapping[str, Any], secret_keys: dict[str, list[str]], encrypted: Collection[str] | None
) -> tuple[dict[str, Any], list[str]]:
    """The settings' values by key, and the problems with the keys themselves."""
    prefix = f"{NAMESPACE}:"
    known = keys_of(Settings)
    values: dict[str, Any] = {}
    problems: list[str] = []
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
            head = key.split(".", 1)[0]
            if "." in key and head in known:
                problems.append(f"{full_key}: unknown setting; nest it under {prefix}{head} in the stack file")
            else:
                hint = closest(key, [*known, *SECRET_KEYS])
                problems.append(f"{full_key}: unknown setting{f' (did you mean {prefix}{hint}?)' if hint else ''}")
            continue
        value = _unset_empty(_decode(raw))
        if value is not None and value != "":
            values[key] = value
    return values, problems


def load_settings(
    config: Mapping[str, Any],
    stack: str,
    secret_keys: Mapping[str, list[str]] | None = None,
    *,
    encrypted: Collection[str] | None = None,
    lock: Mapping[str, LockedModel] | None = None,
    file_problems: Sequence[str] = (),
    docker_host: str | None = None,
    probe: GroupProbe | None = None,
) -> Settings:
    """Validate one stack's config (`{"ai-stack:key": value}`) into Settings.

    `secret_keys` maps each secret config key (without namespace) to the names inside it
    (never the values), so provider keys can be checked without reading them. Given
    `encrypted` (the full config keys Pulumi marks secret) instead, the names are read from
    the config itself, and an encrypted value of a setting that is not secret is refused.
    Every declared model must be in the model `lock` (default: models.lock.json) and fit.
    `file_problems` (from reading the stack file) come first in the report. `docker_host` is
    where Docker runs (default: the config's docker:host, else DOCKER_HOST); an AMD GPU's groups
    are read from this machine (`probe`) when it is local and they are not set.
    """
    secrets = dict(secret_keys or {})
    values, problems = _keys(config, secrets, encrypted)
    problems = [*file_problems, *problems]
    fields = validate_fields(values)
    problems += fields.problems
    s, failed = fields.settings, fields.failed
    if s is not None:
        problems += checks.problems(s, failed)
        problems += _lock_and_fit(s, failed, lock, stack)
        problems += _secrets(s, failed, secrets)
        host = docker_host or config.get("docker:host") or os.environ.get("DOCKER_HOST")
        s, found = _host_facts(s, failed, host, stack, probe)
        problems += found
    if problems:
        lines = "\n".join(f"  - {p}" for p in dict.fromkeys(problems))
        raise SettingsError(f"Pulumi.{stack}.yaml (stack {stack!r}) has invalid settings:\n{lines}")
    assert s is not None
    return s


def _skip(failed: Collection[str], *keys: str) -> bool:
    return any(related(k, f) for k in keys for f in failed)


FIT_READS = (
    "models",
    "embeddingModels",
    "host",
    *(f"ollama.{k}" for k in ("memory", "contextLength", "numParallel", "kvCacheType", "flashAttention")),
    *(f"ollama.{k}" for k in ("maxLoadedModels", "gpu", "mode", "allowCpuOffload")),
)
"""What the fit check reads (stack/models/fit.py): a refused one skips it."""


def _lock_and_fit(
    s: Settings, failed: Collection[str], lock: Mapping[str, LockedModel] | None, stack: str
) -> list[str]:
    if _skip(failed, "models", "embeddingModels"):
        return []
    try:
        locked = load_lock() if lock is None else lock
    except LockError as err:
        return [f"{err}; run `make lock STACK={stack}`"]
    out = fit.unlocked(s, locked, stack)
    # Ollama's chat endpoint needs the completion capability, which a model with a pooling
    # type (an embedding model) lacks (ollama server/images.go Capabilities, routes.go
    # ChatHandler, v0.32.15): LiteLLM's ollama_chat/ entry for it would fail every request.
    out += [
        f"{NAMESPACE}:models: {m} is an embedding model (models.lock.json says so), which cannot chat: "
        f"move it to {NAMESPACE}:embeddingModels"
        for m in s.models
        if m in locked and locked[m].embedding
    ]
    if not out and not _skip(failed, *FIT_READS):
        out += fit.check(s, locked, stack)[0]
    return out


def _secrets(s: Settings, failed: Collection[str], present: Mapping[str, list[str]]) -> list[str]:
    prefix = f"{NAMESPACE}:"
    out: list[str] = []
    if not _skip(failed, "providers"):
        provided = set(present.get("providerKeys", []))
        out += [
            f"{prefix}providers[{i}].apiKeyEnv: no secret {prefix}providerKeys.{p.api_key_env}; "
            f"set it with `pulumi config set --secret --path '{prefix}providerKeys.{p.api_key_env}' …`"
            for i, p in enumerate(s.providers)
            if p.api_key_env not in provided
        ]
    if not _skip(failed, "backup.enabled", "backup.target", "profile") and s.backs_up and s.backup.target == "s3":
        # An S3 target needs its keys, and nothing leaves the host unencrypted: the passphrase too.
        out += [
            f"{prefix}{key}: required when {prefix}backup.target is s3 ({why}); set it with "
            f"`pulumi config set --secret {prefix}{key} …`"
            for key, why in (
                ("backupS3AccessKey", "the S3 access key id"),
                ("backupS3SecretKey", "the S3 secret key"),
                ("backupPassphrase", "backups leave the host only encrypted"),
            )
            if key not in present
        ]
    if not _skip(failed, "openWebui.oidc"):
        out += oidc_secret_problems(s, set(present))
    if not _skip(failed, "monitoring.receivers"):
        out += receiver_secret_problems(s.monitoring.receivers, present.get("alertReceiverSecrets"))
    if not _skip(failed, "images.restic") and "backupPassphrase" not in present:
        reason = images.restic_without_password(s.images.restic)
        if reason:
            out.append(f"{prefix}images.restic: {reason}: pin restic/restic:0.18.0 or set the passphrase")
    return out


def _host_facts(
    s: Settings, failed: Collection[str], docker_host: str | None, stack: str, probe: GroupProbe | None
) -> tuple[Settings, list[str]]:
    """An AMD GPU's video/render group ids, read here when Docker is local and they are not set:
    they end up in the settings, so the program reads nothing from the machine after this."""
    gpu = s.ollama.gpu
    if _skip(failed, "ollama") or gpu is None or gpu.driver != "amd" or gpu.groups or not s.ollama.in_container:
        return s, []
    from stack import hostgroups  # reads /etc/group and /dev: only an AMD stack needs it

    try:
        groups = hostgroups.amd_groups(gpu, docker_host=docker_host, probe=probe or hostgroups.host_groups)
    except hostgroups.GroupError as err:
        return s, [str(err)]
    filled = gpu.model_copy(update={"groups": [int(g) for g in groups]})
    return s.model_copy(update={"ollama": s.ollama.model_copy(update={"gpu": filled})}), []
