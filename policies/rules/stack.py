"""Stack-wide rules: host capacity (overcommit) and volumes shared between containers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .lifecycle import uses_gpu
from .limits import cpu_limit, memory_limit
from .props import (
    CONTAINER,
    as_dict,
    as_list,
    as_number,
    container_name,
    is_run_once,
    is_unknown,
    plain,
    with_defaults,
)


@dataclass(frozen=True)
class StackResource:
    """The part of a stack resource the stack rules read: plain props, names and URN."""

    resource_type: str
    name: str
    urn: str
    props: dict[str, Any]


@dataclass(frozen=True)
class StackRule:
    """A stack policy: metadata, config knobs and a pure check returning (message, urn) pairs."""

    name: str
    description: str
    enforcement_level: EnforcementLevel
    severity: Severity
    config: dict[str, dict[str, Any]]
    check: Any  # Callable[[list[StackResource], dict[str, Any]], list[tuple[str, str | None]]]
    kics: tuple[str, ...] = ()
    cis: tuple[str, ...] = ()

    def run(self, resources: list[StackResource], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        """Apply schema defaults and run the check."""
        result: list[tuple[str, str | None]] = self.check(resources, with_defaults(self.config, config))
        return result


def _gpu_count(props: dict[str, Any], host_gpus: int) -> int:
    """GPUs a container asks for; ``-1``/``all`` means every host GPU."""
    total = 0
    for req in as_list(props.get("deviceRequests")):
        req = as_dict(req)
        ids = as_list(req.get("deviceIds"))
        count = as_number(req.get("count"))
        if ids:
            total += len(ids)
        elif count is None or count < 0:
            total += host_gpus
        else:
            total += int(count)
    gpus = props.get("gpus")
    if isinstance(gpus, str) and gpus:
        total += host_gpus if gpus == "all" else 1
    return total


def check_capacity(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    headroom = as_number(cfg.get("headroom")) or 1.0
    host_mb = as_number(cfg.get("hostMemoryMb"))
    host_cpus = as_number(cfg.get("hostCpus"))
    host_gpus = int(as_number(cfg.get("hostGpus")) or 0)
    count_run_once = cfg.get("countRunOnce", True)
    out: list[tuple[str, str | None]] = []
    total_mb = total_cpus = 0.0
    unbounded_mb: list[str] = []
    unbounded_cpu: list[str] = []
    for res in resources:
        if res.resource_type != CONTAINER:
            continue
        props = res.props
        if is_run_once(props) and not count_run_once:
            continue
        name = container_name(props, res.name)
        memory, cpus = memory_limit(props), cpu_limit(props)
        if memory is None:
            unbounded_mb.append(name)
            out.append(
                (
                    (
                        f"container '{name}' has no literal memory limit, so the stack's memory is unbounded. "
                        "Fix: set `memory` (MB)."
                    ),
                    res.urn,
                )
            )
        else:
            total_mb += memory
        if cpus is None:
            unbounded_cpu.append(name)
            if memory is not None:
                out.append(
                    (
                        (
                            f"container '{name}' has no literal CPU limit, so the stack's CPU is unbounded. "
                            "Fix: set `cpus`."
                        ),
                        res.urn,
                    )
                )
        else:
            total_cpus += cpus
        if uses_gpu(props):
            requested = _gpu_count(props, host_gpus)
            if host_gpus <= 0 or requested > host_gpus:
                asked = f"{requested} GPU(s)" if requested else "GPUs"
                out.append(
                    (
                        (
                            f"container '{name}' requests {asked} but the host has {host_gpus}. "
                            "Fix: remove the GPU request for this stack or set hostGpus."
                        ),
                        res.urn,
                    )
                )
    if host_mb is not None and not unbounded_mb and total_mb > host_mb * headroom:
        out.append(
            (
                (
                    f"containers reserve {total_mb:g} MB of memory limits, above the host's {host_mb:g} MB x headroom "
                    f"{headroom:g} = {host_mb * headroom:g} MB. Fix: lower per-container `memory` in stack config."
                ),
                None,
            )
        )
    if host_cpus is not None and not unbounded_cpu and total_cpus > host_cpus * headroom:
        out.append(
            (
                (
                    f"containers sum to {total_cpus:g} CPUs of limits, above the host's {host_cpus:g} CPUs x headroom "
                    f"{headroom:g} = {host_cpus * headroom:g}. Fix: lower per-container `cpus` in stack config."
                ),
                None,
            )
        )
    return out


def check_shared_volumes(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    allowed = {str(v) for v in cfg.get("allowedSharedVolumes") or []}
    users: dict[str, list[str]] = {}
    for res in resources:
        if res.resource_type != CONTAINER:
            continue
        name = container_name(res.props, res.name)
        seen: set[str] = set()
        for vol in as_list(res.props.get("volumes")):
            vname = as_dict(vol).get("volumeName")
            if isinstance(vname, str) and vname and not is_unknown(vname):
                seen.add(vname)
        for mount in as_list(res.props.get("mounts")):
            mount = as_dict(mount)
            source = mount.get("source")
            if mount.get("type") == "volume" and isinstance(source, str) and not is_unknown(source):
                seen.add(source)
        for vname in seen:
            users.setdefault(vname, []).append(name)
    return [
        (
            (
                f"volume '{vname}' is mounted by several containers ({', '.join(sorted(names))}). "
                "Fix: give each container its own volume, or list it in `allowedSharedVolumes` after review."
            ),
            None,
        )
        for vname, names in sorted(users.items())
        if len(names) > 1 and vname not in allowed
    ]


STACK_RULES: list[StackRule] = [
    StackRule(
        name="stack-host-capacity",
        description="The sum of container memory and CPU limits fits the Docker host's capacity.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_capacity,
        config={
            "hostMemoryMb": {
                "type": "number",
                "minimum": 1,
                "description": "Memory of the Docker host in MB.",
            },
            "hostCpus": {
                "type": "number",
                "minimum": 1,
                "description": "CPUs of the Docker host.",
            },
            "hostGpus": {
                "type": "integer",
                "minimum": 0,
                "default": 0,
                "description": "GPUs on the Docker host.",
            },
            "headroom": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 1.0,
                "description": "Fraction of host capacity the limits may add up to (1.0 = all of it).",
            },
            "countRunOnce": {
                "type": "boolean",
                "default": True,
                "description": "Count run-once containers (attach, mustRun false) in the totals.",
            },
        },
    ),
    StackRule(
        name="volumes-not-shared",
        description="A named volume is mounted by at most one container.",
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.LOW,
        check=check_shared_volumes,
        config={
            "allowedSharedVolumes": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Volume names that several containers may mount on purpose.",
            }
        },
        kics=("8c978947 Shared Volumes Between Containers",),
    ),
]


def to_stack_policy(rule: StackRule) -> StackValidationPolicy:
    """A StackValidationPolicy running ``rule`` over the stack's resources."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [StackResource(r.resource_type, r.name, r.urn, plain(r.props)) for r in args.resources]
        for message, urn in rule.run(resources, args.get_config()):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=rule.enforcement_level,
        severity=rule.severity,
        config_schema=PolicyConfigSchema(properties=rule.config),
    )
