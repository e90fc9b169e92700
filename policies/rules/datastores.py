"""No datastore is published to the host, recognised by its port or by the image it runs.

Two rules with the same knobs. `container-no-published-datastore` judges a container's own
ports by their port and by a literal image reference. A container's `image` is usually the id
of a RemoteImage (the program hands each container its image's id), so what it runs is only
known beside that RemoteImage, and a container living in another's network namespace
(`networkMode: container:<x>`) is published by x's ports: the stack rule
`container-no-published-datastore-resolved` reports what only the stack reveals (``view``).
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .addresses import binds_loopback
from .base import Context, Rule
from .pinning import IMAGE_ID
from .props import as_dict, as_list, as_number, image_repository, is_unknown
from .stackbase import StackResource, StackRule
from .view import View

Finding = tuple[str, str | None]
DEFAULT_PORTS = {
    "5432": "postgres",
    "11434": "ollama",
    "3306": "mysql",
    "6379": "redis",
    "27017": "mongodb",
    "6333": "qdrant",
    "9200": "elasticsearch",
}
# Servers that answer anyone who reaches their port (no auth by default, or one password for
# everything): databases, caches, search and vector stores, and model servers like Ollama.
DEFAULT_IMAGES = [
    "postgres",
    "postgis/postgis",
    "timescale/timescaledb",
    "pgvector/pgvector",
    "bitnami/postgresql",
    "mysql",
    "mariadb",
    "percona",
    "redis",
    "valkey/valkey",
    "eqalpha/keydb",
    "memcached",
    "mongo",
    "cassandra",
    "couchdb",
    "elasticsearch",
    "opensearchproject/opensearch",
    "clickhouse/clickhouse-server",
    "neo4j",
    "influxdb",
    "qdrant/qdrant",
    "chromadb/chroma",
    "semitechnologies/weaviate",
    "milvusdb/milvus",
    "ollama/ollama",
    "vllm/vllm-openai",
    "ghcr.io/huggingface/text-generation-inference",
    "localai/localai",
]


def _port_text(port: dict[str, Any]) -> str:
    internal, external = as_number(port.get("internal")), as_number(port.get("external"))
    ip = port.get("ip") if isinstance(port.get("ip"), str) and port.get("ip") else "0.0.0.0"
    return f"{ip}:{f'{external:g}' if external is not None else 'random'}->{f'{internal:g}' if internal else '?'}"


def _last(repository: str) -> str:
    return repository.rsplit("/", 1)[-1]


def _datastore(repository: str, cfg: dict[str, Any]) -> str | None:
    """``repository`` when it, or its last path segment, is one of `datastoreImages` (so a
    mirror's `registry.example.com/library/postgres` is Postgres)."""
    configured = [image_repository(str(i)) for i in cfg.get("datastoreImages") or []]
    if repository and (repository in configured or _last(repository) in {_last(i) for i in configured}):
        return repository
    return None


def _message(name: str, kind: str, port: dict[str, Any], loopback_ok: set[str], via: str = "") -> str:
    allowed = " (only loopback 127.0.0.1 is allowed for this container)" if name in loopback_ok else ""
    return (
        f"container '{name}' publishes its {kind} port to the host{via} ({_port_text(port)}){allowed}. "
        "Fix: remove the `ports` entry and reach it over the internal Docker network."
    )


def _port_kind(port: dict[str, Any], cfg: dict[str, Any]) -> str | None:
    ports = {int(float(k)): str(v) for k, v in as_dict(cfg.get("datastorePorts")).items()}
    internal = as_number(port.get("internal"))
    return ports.get(int(internal)) if internal is not None else None


def _loopback(name: str, port: dict[str, Any], loopback_ok: set[str]) -> bool:
    return name in loopback_ok and binds_loopback(port.get("ip"))


def check_datastore_ports(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    """A container's own published ports, by port and by a literal image reference."""
    loopback_ok = {str(n) for n in cfg.get("loopbackAllowed") or []}
    image = props.get("image")
    literal = isinstance(image, str) and not is_unknown(image) and not IMAGE_ID.match(image)
    image_kind = _datastore(image_repository(image), cfg) if literal and isinstance(image, str) else None
    out = []
    for port in (as_dict(p) for p in as_list(props.get("ports"))):
        kind = _port_kind(port, cfg) or image_kind
        if kind and not _loopback(ctx.name, port, loopback_ok):
            out.append(_message(ctx.name, kind, port, loopback_ok))
    return out


def check_datastores(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    """What only the stack shows: the image behind a RemoteImage id, and a joined namespace's ports."""
    loopback_ok = {str(n) for n in cfg.get("loopbackAllowed") or []}
    view = View(resources)
    out: list[Finding] = []
    for member in view.members:
        image = member.props.get("image")
        by_id = isinstance(image, str) and image in view.images
        image_kind = _datastore(view.repository(member), cfg)
        owner = view.netns_owner(member)
        shared = owner is not None and owner is not member
        if not shared and not (by_id and image_kind):
            continue  # its own ports, by port or by a literal image: container-no-published-datastore
        for port in view.published(member):
            if shared:
                kind, via = image_kind, f" through the network namespace of '{owner.name}'" if owner else ""
            else:
                kind, via = (None if _port_kind(port, cfg) else image_kind), ""
            if kind and (shared or not _loopback(member.name, port, loopback_ok)):
                out.append((_message(member.name, kind, port, loopback_ok, via), member.urn))
    return out


KNOBS: dict[str, dict[str, Any]] = {
    "datastorePorts": {
        "type": "object",
        "default": DEFAULT_PORTS,
        "additionalProperties": {"type": "string"},
        "description": "Internal ports that identify a datastore: {port: label}.",
    },
    "datastoreImages": {
        "type": "array",
        "items": {"type": "string"},
        "default": DEFAULT_IMAGES,
        "description": (
            "Image repositories (matched whole or by their last path segment, so mirrors count) whose every "
            "published port counts as a datastore port."
        ),
    },
    "loopbackAllowed": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Containers that may publish their datastore port on a loopback address only (laptop).",
    },
}

NO_PUBLISHED_DATASTORE = Rule(
    name="container-no-published-datastore",
    description=(
        "Datastores (Postgres, Ollama and the like, known by their port or image reference) publish no port to "
        "the host."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_datastore_ports,
    config=KNOBS,
    cis=("5.9",),
)


RESOLVED = StackRule(
    name="container-no-published-datastore-resolved",
    description=(
        "A datastore the stack reveals (the image behind its RemoteImage id, or the network namespace it "
        "joins) publishes no port to the host."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_datastores,
    config=KNOBS,
    cis=("5.9",),
)

RULES: list[Rule] = [NO_PUBLISHED_DATASTORE]
STACK_RULES: list[StackRule] = [RESOLVED]
