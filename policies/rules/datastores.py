"""No datastore is published to the host, recognised by its port or by the image it runs.

A stack rule: a container's `image` is usually the id of a RemoteImage (the program hands each
container its image's id), so what it runs is only known beside that RemoteImage (``view``).
A container living in another's network namespace (`networkMode: container:<x>`) is published
by x's ports.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .addresses import binds_loopback
from .props import as_dict, as_number, image_repository
from .stackbase import StackResource, StackRule
from .view import Member, View

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


def _kind(view: View, member: Member, cfg: dict[str, Any]) -> str | None:
    """The datastore image ``member`` runs: its repository, or its last path segment, is one of
    `datastoreImages` (so a mirror's `registry.example.com/library/postgres` is Postgres)."""
    configured = [image_repository(str(i)) for i in cfg.get("datastoreImages") or []]
    repo = view.repository(member)
    if repo and (repo in configured or _last(repo) in {_last(i) for i in configured}):
        return repo
    return None


def check_datastores(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    ports = {int(float(k)): str(v) for k, v in as_dict(cfg.get("datastorePorts")).items()}
    loopback_ok = {str(n) for n in cfg.get("loopbackAllowed") or []}
    view = View(resources)
    out: list[Finding] = []
    for member in view.members:
        image_kind = _kind(view, member, cfg)
        owner = view.netns_owner(member)
        shared = owner is not None and owner is not member
        for port in view.published(member):
            internal = as_number(port.get("internal"))
            kind = ports.get(int(internal)) if internal is not None and not shared else None
            kind = kind or image_kind
            if kind is None:
                continue
            if member.name in loopback_ok and not shared and binds_loopback(port.get("ip")):
                continue
            allowed = " (only loopback 127.0.0.1 is allowed for this container)" if member.name in loopback_ok else ""
            via = f" through the network namespace of '{owner.name}'" if shared and owner else ""
            out.append(
                (
                    f"container '{member.name}' publishes its {kind} port to the host{via} ({_port_text(port)})"
                    f"{allowed}. Fix: remove the `ports` entry and reach it over the internal Docker network.",
                    member.urn,
                )
            )
    return out


NO_PUBLISHED_DATASTORE = StackRule(
    name="container-no-published-datastore",
    description=(
        "Datastores (Postgres, Ollama and the like, known by port or by the image they run) publish no port "
        "to the host."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_datastores,
    config={
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
    },
    cis=("5.9",),
)

STACK_RULES: list[StackRule] = [NO_PUBLISHED_DATASTORE]
