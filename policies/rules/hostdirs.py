"""Stack rules over what containers reach on the host: named volumes resolved to the host
directory they bind, and volumes or host directories shared between containers.

A container's inputs name a volume (`volumes[].volumeName`, `mounts[].source`), not what it
mounts; only AnalyzeStack sees the docker.Volume beside it, so both rules run there. A volume
the stack does not declare (created outside Pulumi) cannot be resolved and is not judged.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import EXEMPT_CONTAINERS, Kics
from .mounts import NO_SENSITIVE_MOUNTS, HostMount, clean, host_mounts, is_socket, judge, under
from .props import CONTAINER, VOLUME, as_dict, as_list, container_name, is_unknown
from .stackbase import StackResource, StackRule

Finding = tuple[str, str | None]


def stack_volumes(resources: list[StackResource]) -> dict[str, dict[str, Any]]:
    """The stack's docker.Volume resources by docker name (the Pulumi name when not literal)."""
    return {container_name(r.props, r.name): r.props for r in resources if r.resource_type == VOLUME}


def check_volume_binds(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    proxies = set(cfg.get("socketProxyContainers") or [])
    exempt = set(cfg.get("exemptContainers") or [])
    volumes = stack_volumes(resources)
    out: list[Finding] = []
    for res in resources:
        name = container_name(res.props, res.name)
        if res.resource_type != CONTAINER or name in exempt or res.name in exempt:
            continue
        for mount in host_mounts(res.props, volumes):
            if mount.volume is None:
                continue  # a bind mount: container-no-sensitive-mounts judges it on the container
            finding = judge(f"container '{name}'", mount, cfg, proxy=name in proxies)
            if finding:
                out.append((finding, res.urn))
    return out


def _named_volumes(props: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    for vol in as_list(props.get("volumes")):
        vname = as_dict(vol).get("volumeName")
        if isinstance(vname, str) and vname and not is_unknown(vname):
            seen.add(vname)
    for mount in as_list(props.get("mounts")):
        mount = as_dict(mount)
        source = mount.get("source")
        if mount.get("type") == "volume" and isinstance(source, str) and source and not is_unknown(source):
            seen.add(source)
    return seen


def _overlap(a: HostMount, b: HostMount) -> bool:
    if a.volume is not None and a.volume == b.volume:
        return False  # the same named volume: reported as a shared volume
    return under(a.host, b.host) or under(b.host, a.host)


def check_shared_volumes(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    allowed = {str(v) for v in cfg.get("allowedSharedVolumes") or []}
    allowed_paths = [str(p) for p in cfg.get("allowedSharedHostPaths") or []]
    volumes = stack_volumes(resources)
    users: dict[str, list[str]] = {}
    binds: dict[str, list[HostMount]] = {}
    for res in resources:
        if res.resource_type != CONTAINER:
            continue
        name = container_name(res.props, res.name)
        for vname in _named_volumes(res.props):
            users.setdefault(vname, []).append(name)
        # The Docker socket is no directory of state: who may reach it is container-no-sensitive-mounts'.
        mounts = [
            m
            for m in host_mounts(res.props, volumes)
            if not is_socket(m.host) and not any(under(m.host, p) for p in allowed_paths)
        ]
        binds.setdefault(name, []).extend(mounts)
    out: list[Finding] = [
        (
            f"volume '{vname}' is mounted by several containers ({', '.join(sorted(names))}). "
            "Fix: give each container its own volume, or list it in `allowedSharedVolumes` after review.",
            None,
        )
        for vname, names in sorted(users.items())
        if len(names) > 1 and vname not in allowed
    ]
    for (first, a_mounts), (second, b_mounts) in combinations(sorted(binds.items()), 2):
        for a in a_mounts:
            for b in b_mounts:
                if _overlap(a, b):
                    out.append(
                        (
                            f"containers '{first}' and '{second}' share a host directory: '{first}' mounts "
                            f"{clean(a.host)} via {a.via}, '{second}' mounts {clean(b.host)} via {b.via}. "
                            "Fix: give each container its own directory or volume, or list the path in "
                            "`allowedSharedHostPaths` after review.",
                            None,
                        )
                    )
    return out


VOLUME_BINDS = StackRule(
    name="container-no-sensitive-volume-binds",
    description=(
        "A named volume whose driver options bind a host directory is judged like a bind mount of that "
        "directory for every container that mounts it."
    ),
    enforcement_level=NO_SENSITIVE_MOUNTS.enforcement_level,
    severity=NO_SENSITIVE_MOUNTS.severity,
    check=check_volume_binds,
    config={**NO_SENSITIVE_MOUNTS.config, "exemptContainers": EXEMPT_CONTAINERS},
    kics=(
        Kics("1c1325ff", "Volume Has Sensitive Host Directory"),
        Kics("d6355c88", "Docker Socket Mounted In Container"),
    ),
    cis=("5.6", "5.32"),
)

SHARED_VOLUMES = StackRule(
    name="volumes-not-shared",
    description="A named volume or a host directory is mounted by at most one container.",
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    check=check_shared_volumes,
    config={
        "allowedSharedVolumes": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Volume names that several containers may mount on purpose.",
        },
        "allowedSharedHostPaths": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Host directories (and what is below them) several containers may mount on purpose.",
        },
    },
    kics=(Kics("8c978947", "Shared Volumes Between Containers"),),
)

STACK_RULES: list[StackRule] = [VOLUME_BINDS, SHARED_VOLUMES]
