"""Rule metadata and the glue that turns a pure check into a CrossGuard policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from . import secretness, services
from .props import CONTAINER, SERVICE, container_name, owned, plain, with_defaults

EXEMPT_CONTAINERS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": [],
    "description": "Container names (docker name or Pulumi resource name) this rule skips.",
}
ROUTERS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["traefik"],
    "description": "Container names acting as the edge router (may publish 80/443 on all interfaces).",
}
SOCKET_PROXIES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["docker-socket-proxy"],
    "description": "Container names that may mount the Docker socket, read-only (socket proxies).",
}


@dataclass(frozen=True)
class Kics:
    """A KICS docker-compose query a rule answers, and how much of it."""

    id: str
    """The first block of the query's UUID (assets/queries/dockerCompose/<dir>/metadata.json)."""
    query: str
    partial: str = ""
    """Empty when the rule reports everything the query does; else what it leaves out and why."""
    none: str = ""
    """Set on the catalog's list of queries no rule answers: why not."""

    def __str__(self) -> str:
        return f"{self.id} {self.query}"

    @property
    def coverage(self) -> str:
        return "none" if self.none else "partial" if self.partial else "full"


@dataclass(frozen=True)
class Context:
    """What a check may know about the resource besides its properties."""

    name: str
    """Docker name of the container (or the Pulumi name when the docker name is not literal)."""
    resource_name: str
    urn: str
    resource_type: str
    protect: bool = False


Check = Callable[[dict[str, Any], dict[str, Any], Context], list[str]]


@dataclass(frozen=True)
class Rule:
    """One policy: metadata, config knobs and a pure check returning violation messages."""

    name: str
    description: str
    enforcement_level: EnforcementLevel
    severity: Severity
    check: Check
    config: dict[str, dict[str, Any]]
    resource_types: tuple[str, ...] = (CONTAINER, SERVICE)
    """Types the rule judges (a Service as the container its tasks run); empty for every type."""
    kics: tuple[Kics, ...] = ()
    cis: tuple[str, ...] = ()
    exempt_key: str | None = "exemptContainers"
    needs_raw: bool = False
    """The check reads the raw request properties (secret markers kept), see ``secretness``."""
    services_as_containers: bool = True
    """A Service reaches the check as its tasks' container; False: as the Service's own inputs."""
    tags: tuple[str, ...] = field(default=())

    def schema(self) -> dict[str, dict[str, Any]]:
        """The config schema, with the exemption list every container rule carries."""
        props = dict(self.config)
        if self.exempt_key == "exemptContainers":
            props.setdefault("exemptContainers", EXEMPT_CONTAINERS)
        return props

    def run(self, props: Mapping[str, Any], config: Mapping[str, Any], ctx: Context) -> list[str]:
        """Apply defaults and exemptions, then the check. Pure: used by tests and by the pack.

        An empty ``resource_types`` means every type; a swarm Service reaches a container rule
        as the container its tasks run (``services.as_container``).
        """
        return self.run_plain(plain(props), config, ctx)

    def run_plain(self, data: Any, config: Mapping[str, Any], ctx: Context) -> list[str]:
        """`run` on `data` that is plain already (dicts and lists, read and never changed): the pack's
        `validate` has just made it so."""
        if self.resource_types and ctx.resource_type not in self.resource_types:
            return []
        cfg = with_defaults(self.schema(), config)
        if self.exempt_key:
            exempt = set(cfg.get(self.exempt_key) or [])
            if ctx.name in exempt or ctx.resource_name in exempt:
                return []
        if ctx.resource_type == SERVICE and self.services_as_containers:
            data = services.as_container(data)
        return self.check(data, cfg, ctx)


def context_for(args: ResourceValidationArgs, props: Mapping[str, Any]) -> Context:
    """Build a check context from the SDK's validation args."""
    return Context(
        name=container_name(props, args.name),
        resource_name=args.name,
        urn=args.urn,
        resource_type=args.resource_type,
        protect=bool(args.opts.protect) if args.opts is not None else False,
    )


def to_policy(rule: Rule) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy running ``rule`` on every matching resource."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if rule.resource_types and args.resource_type not in rule.resource_types:
            return
        props = owned(args.props)
        ctx = context_for(args, props)
        if rule.needs_raw:
            raw = secretness.raw_properties()
            if raw is None:
                report_violation(
                    f"'{ctx.name}': cannot tell secrets from plaintext because the raw request was not "
                    "captured. Fix: run the pack through policies/__main__.py (it installs the capture hook).",
                    args.urn,
                )
                return
            props = plain(raw)
        for message in rule.run_plain(props, args.get_config(), ctx):
            report_violation(message, args.urn)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=rule.enforcement_level,
        severity=rule.severity,
        config_schema=PolicyConfigSchema(properties=rule.schema()),
        tags=list(rule.tags) or None,
    )
