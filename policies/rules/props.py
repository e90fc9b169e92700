"""Helpers that turn SDK property proxies into plain data and read pulumi-docker properties."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from .pinning import ImageRefError, parse

# pulumi-docker 5.2.0's resource types (pulumi_docker/__init__.py `resource_modules`); `kinds`
# says which rules judge each, and refuses any other docker type.
CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
SERVICE = "docker:index/service:Service"
PLUGIN = "docker:index/plugin:Plugin"
SECRET = "docker:index/secret:Secret"
SERVICE_CONFIG = "docker:index/serviceConfig:ServiceConfig"
REGISTRY_IMAGE = "docker:index/registryImage:RegistryImage"
IMAGE = "docker:index/image:Image"
TAG = "docker:index/tag:Tag"
NETWORK = "docker:index/network:Network"
BUILDX_BUILDER = "docker:index/buildxBuilder:BuildxBuilder"
PROVIDER = "pulumi:providers:docker"

UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)

# The engine's marker for secrets inside a protobuf Struct (sdk/go/common/resource/properties.go).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def is_unknown(value: Any) -> bool:
    """True when ``value`` is one of the engine's "computed during preview" sentinels."""
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def plain(value: Any) -> Any:
    """Return ``value`` as plain dicts/lists, keeping unknown sentinels instead of raising.

    The SDK wraps properties in proxies that raise ``UnknownValueError`` on access to an unknown
    value, which turns any policy into an advisory "can't run during preview". Rules need to decide
    themselves what an unknown means (a limit must be literal), so they work on plain data. The
    ``"__target"`` key is the escape hatch the SDK's own ``serialize_properties`` uses.
    """
    # Plain containers first (the pack reads every resource once per rule): no proxy to unwrap.
    if type(value) is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if type(value) is list:
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        try:
            target = value["__target"]
        except (KeyError, TypeError):
            target = value
        return {str(k): plain(target[k]) for k in target}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        try:
            target_list = value["__target"]  # type: ignore[call-overload]
        except (KeyError, TypeError, IndexError):
            target_list = value
        return [plain(v) for v in target_list]
    return value


def owned(props: Any) -> Any:
    """A policy's properties as plain data: as the SDK hands them over when they are plain already
    (``hooks`` stops it wrapping them in proxies; every policy of a request shares them, so a rule
    reads them and never changes them), else ``plain``'s copy."""
    return props if type(props) is dict else plain(props)


def container_name(props: Mapping[str, Any], fallback: str) -> str:
    """The docker ``name`` of a container, or the Pulumi resource name when it is not literal."""
    name = props.get("name")
    if isinstance(name, str) and name and not is_unknown(name):
        return name
    return fallback


def as_list(value: Any) -> list[Any]:
    """A list property, or ``[]`` when absent or unknown."""
    if isinstance(value, list):
        return value
    return []


def as_dict(value: Any) -> dict[str, Any]:
    """An object property, or ``{}`` when absent or unknown."""
    if isinstance(value, dict):
        return value
    return {}


def as_number(value: Any) -> float | None:
    """A literal number (protobuf sends every number as a double), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and not is_unknown(value):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def is_true(value: Any) -> bool:
    """True only for a literal boolean true (or the string ``"true"``)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_run_once(props: Mapping[str, Any]) -> bool:
    """A run-once container: not required to keep running, and either attached (the provider
    waits for its exit) or removed when it exits (`rm`: a job that signals success through its
    healthcheck, as ai-stack's model pull does)."""
    return (is_true(props.get("attach")) or is_true(props.get("rm"))) and props.get("mustRun") is False


def labels_map(props: Mapping[str, Any]) -> dict[str, str]:
    """Container ``labels`` (a list of ``{label, value}``) as a dict of literal strings."""
    result: dict[str, str] = {}
    for item in as_list(props.get("labels")):
        if isinstance(item, dict):
            key, val = item.get("label"), item.get("value")
            if isinstance(key, str) and isinstance(val, str) and not is_unknown(val):
                result[key] = val
    return result


def image_repository(reference: str) -> str:
    """The repository of an image reference as users write it (``postgres``, ``ollama/ollama``).

    Parsed by ``pinning.parse``; a reference it rejects still yields its best-guess repository
    (registry, tag and digest cut off), so callers can name or match it.
    """
    try:
        return parse(reference).short_repository.lower()
    except ImageRefError:
        pass
    ref = reference.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[: len(ref) - len(last)] + last.split(":", 1)[0]
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts).lower()


def image_tag(reference: str) -> str | None:
    """The tag of an image reference (``None`` when it has none); digests are ignored.

    Parsed by ``pinning.parse``, with the text after the last ``:`` of the name as a fallback
    for a reference it rejects.
    """
    try:
        return parse(reference).tag
    except ImageRefError:
        pass
    ref = reference.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return None


def with_defaults(schema: Mapping[str, Mapping[str, Any]], config: Mapping[str, Any]) -> dict[str, Any]:
    """Config values over the schema defaults, as the CLI reconciles them."""
    merged: dict[str, Any] = {k: v["default"] for k, v in schema.items() if "default" in v}
    merged.update(plain(config))
    return merged
