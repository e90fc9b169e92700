"""Plaintext secrets: a credential anywhere in a resource's inputs must arrive as a Pulumi secret.

Where a credential can sit, per pulumi-docker 5.2.0 type: a container's or service's env (by
name, or by what the value holds: a URL with a password in its userinfo or query string, a
connection string, an issued token), its command, entrypoint and healthcheck arguments, the
files it uploads (by their content, or a file named like a key or password); a plugin's env; a
swarm Secret's data (always secret); a swarm config's data; image build arguments; registry and
provider passwords; and a CIFS volume's `password=` mount option. A value that is a file path
or a reference (`$VAR`, `os.environ/VAR`) holds no secret. Messages name the place, never the
value. ``raw`` keeps the engine's secret markers (see ``secretness``).
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import secretscan as scan
from . import services
from .base import Context, Rule
from .props import (
    CONTAINER,
    IMAGE,
    PLUGIN,
    PROVIDER,
    REGISTRY_IMAGE,
    REMOTE_IMAGE,
    SECRET,
    SECRET_SIG,
    SERVICE,
    SERVICE_CONFIG,
    SIG_KEY,
    VOLUME,
    as_dict,
    as_list,
    is_unknown,
)

SECRET_SUFFIXES = ["_KEY", "_SECRET", "_PASSWORD", "_PASSWD", "_PASS", "_TOKEN", "_CREDENTIALS"]
SECRET_NAMES = ["PASSWORD", "SECRET", "TOKEN", "API_KEY"]
# Upload paths that hold a key or a password whatever is in them.
SECRET_FILE = (
    r"(?i)(^/run/secrets/|(^|/)\.?(htpasswd|netrc|pgpass|id_rsa|id_ed25519|id_ecdsa)\b|\.(key|pem|p12|pfx|jks|keystore)$"
    r"|(secret|password|passwd|token|credential|apikey|api_key|private)[^/]*$)"
)
FIX = "Fix: pass it as a Pulumi secret (Config.require_secret, pulumi_random, or pulumi.Output.secret)."


def is_secret(value: Any) -> bool:
    """True for a value wrapped in the engine's secret signature."""
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def _decode(encoded: str) -> str | None:
    """Base64 text as the provider decodes it, or None when it is not base64."""
    import base64
    import binascii

    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def _text(value: Any) -> str | None:
    """A literal, non-secret string, or None (secret, unknown or not a string)."""
    return value if isinstance(value, str) and not is_unknown(value) else None


def _env_findings(envs: Any, cfg: dict[str, Any], where: str) -> list[str]:
    if is_secret(envs) or is_unknown(envs):
        return []
    suffixes = [str(s) for s in cfg.get("secretSuffixes") or []]
    names = [str(n) for n in cfg.get("secretNames") or []]
    allowed = {str(n).upper() for n in cfg.get("allowedPlaintext") or []}
    out = []
    for item in as_list(envs):
        text = _text(item)
        if text is None:
            continue
        key, _, value = text.partition("=")
        if key.upper() in allowed or not scan.literal_secret_value(value):
            continue
        kind = scan.embedded(value)
        if kind:
            out.append(f"{where} {key} holds {kind} in plaintext")
        elif scan.secret_name(key, suffixes, names):
            out.append(f"{where} {key} is set in plaintext")
    return out


def _args(props: dict[str, Any]) -> list[str]:
    health = as_dict(props.get("healthcheck")) if not is_secret(props.get("healthcheck")) else {}
    parts = [*as_list(props.get("entrypoints")), *as_list(props.get("command")), *as_list(health.get("tests"))]
    return [t for t in (_text(p) for p in parts) if t is not None]


def _upload_findings(props: dict[str, Any]) -> list[str]:
    out = []
    for upload in as_list(props.get("uploads")):
        upload = as_dict(upload)
        path = str(upload.get("file") or "?")
        content = upload.get("content")
        if is_secret(content) or is_secret(upload.get("contentBase64")):
            continue
        text = _text(content)
        encoded = _text(upload.get("contentBase64"))
        if text is None and encoded is not None:
            text = _decode(encoded)
        if text is None:
            continue
        found = scan.content_findings(text)
        if found:
            out.append(f"uploads {path} with a credential in plaintext ({', '.join(found[:3])})")
        elif re.search(SECRET_FILE, path) and scan.literal_secret_value(text):
            out.append(f"uploads {path}, a file named like a key or password, in plaintext")
    return out


def _workload(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    subject = f"container '{ctx.name}'"
    out = [f"{subject}: {f}" for f in _env_findings(props.get("envs"), cfg, "env")]
    out += [f"{subject}: {a} is a credential in plaintext" for a in scan.argument_findings(_args(props))]
    out += [f"{subject} {f}" for f in _upload_findings(props)]
    for mount in as_list(props.get("mounts")):
        options = as_dict(as_dict(as_dict(mount).get("volumeOptions")).get("driverOptions"))
        out += [f"{subject}: {f}" for f in _option_findings(options, "mount option")]
    return out


def _option_findings(options: Any, where: str) -> list[str]:
    out: list[str] = []
    if is_secret(options):
        return out
    for key, value in as_dict(options).items():
        text = _text(value)
        if text is None:
            continue
        if scan.secret_name(key) and scan.literal_secret_value(text):
            out.append(f"{where} {key} is set in plaintext")
        elif (kind := scan.embedded(text.replace(",", " "))) is not None:
            out.append(f"{where} {key} holds {kind} in plaintext")
    return out


def _passwords(value: Any, where: str, keys: tuple[str, ...]) -> list[str]:
    """Password-like fields of an auth block (or a list of them) that are not secret."""
    out = []
    for block in value if isinstance(value, list) else [value]:
        block = as_dict(block)
        for key in keys:
            text = _text(block.get(key))
            if text and scan.literal_secret_value(text):
                out.append(f"{where}.{key} is set in plaintext")
    return out


def _build(props: dict[str, Any], key: str, args_key: str, where: str) -> list[str]:
    build = as_dict(props.get(key))
    out = _option_findings(build.get(args_key), f"{where} build argument")
    out += _passwords(
        build.get("authConfigs"), f"{where}.authConfigs", ("password", "auth", "identityToken", "registryToken")
    )
    return out


def check_plaintext_secrets(raw: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    """Report credentials that are not Pulumi secrets; an element unknown at preview is skipped."""
    kind = ctx.resource_type
    if kind == CONTAINER:
        found = _workload(raw, cfg, ctx)
    elif kind == SERVICE:
        found = _workload(services.as_container(raw), cfg, ctx)
        found += _passwords(raw.get("auth"), f"service '{ctx.name}' auth", ("password",))
    elif kind == PLUGIN:
        found = [f"plugin '{ctx.name}': {f}" for f in _env_findings(raw.get("envs"), cfg, "env")]
    elif kind == SECRET:
        data = raw.get("data")
        found = [] if is_secret(data) or is_unknown(data) else [f"secret '{ctx.name}' has data in plaintext"]
    elif kind == SERVICE_CONFIG:
        found = _config_findings(raw, ctx)
    elif kind in (REMOTE_IMAGE, REGISTRY_IMAGE):
        found = [f"image '{ctx.resource_name}': {f}" for f in _build(raw, "build", "buildArgs", "build")]
        found += _passwords(raw.get("authConfig"), f"image '{ctx.resource_name}' authConfig", ("password",))
    elif kind == IMAGE:
        found = [f"image '{ctx.resource_name}': {f}" for f in _build(raw, "build", "args", "build")]
        found += _passwords(raw.get("registry"), f"image '{ctx.resource_name}' registry", ("password",))
    elif kind == VOLUME:
        found = [f"volume '{ctx.name}': {f}" for f in _option_findings(raw.get("driverOpts"), "driver option")]
    elif kind == PROVIDER:
        found = _passwords(raw.get("registryAuth"), f"provider '{ctx.resource_name}' registryAuth", ("password",))
        found += _passwords(raw, f"provider '{ctx.resource_name}'", ("keyMaterial",))
    else:
        found = []
    return [f"{f}. {FIX}" for f in found]


def _config_findings(raw: dict[str, Any], ctx: Context) -> list[str]:
    texts = []
    data, data_raw = raw.get("data"), raw.get("dataRaw")
    if _text(data_raw) is not None:
        texts.append(str(data_raw))
    if _text(data) is not None:
        texts.append(_decode(str(data)) or str(data))
    found = [f for t in texts for f in scan.content_findings(t)]
    return [f"config '{ctx.name}' holds a credential in plaintext ({', '.join(found[:3])})"] if found else []


RULES: list[Rule] = [
    Rule(
        name="container-no-plaintext-secrets",
        description=(
            "Credentials (in env vars, URLs, connection strings, command arguments, uploaded files, swarm secrets "
            "and configs, build arguments, registry and volume options) are Pulumi secrets."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        check=check_plaintext_secrets,
        resource_types=(
            CONTAINER,
            SERVICE,
            PLUGIN,
            SECRET,
            SERVICE_CONFIG,
            REMOTE_IMAGE,
            REGISTRY_IMAGE,
            IMAGE,
            VOLUME,
            PROVIDER,
        ),
        config={
            "secretSuffixes": {
                "type": "array",
                "items": {"type": "string"},
                "default": SECRET_SUFFIXES,
                "description": "Env var name suffixes that mark a credential (plural and glued forms count too).",
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
        services_as_containers=False,
    ),
]
