"""Stack rules over what containers reach on the host: named volumes resolved to the host
paths their options mount, mounts inherited with `volumesFrom`, and volumes or host
directories shared between containers.

A container's inputs name a volume (`volumes[].volumeName`, `mounts[].source`) or another
container (`volumes[].fromContainer`), not what they mount; only AnalyzeStack sees them beside
it, so both rules run there (``view``). A volume the stack does not declare (created outside
Pulumi) cannot be resolved and is not judged; a `volumesFrom` container it does not declare is
a violation, since everything that container mounts comes with it.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import EXEMPT_CONTAINERS, Kics
from .mounts import NO_SENSITIVE_MOUNTS, HostMount, clean, host_mounts, is_socket, judge, under
from .stackbase import StackResource, StackRule
from .view import View, qualify

Finding = tuple[str, str | None]


def check_volume_binds(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    proxies = set(cfg.get("socketProxyContainers") or [])
    exempt = set(cfg.get("exemptContainers") or [])
    view = View(resources)
    out: list[Finding] = []
    for member in view.members:
        if member.name in exempt or member.resource_name in exempt:
            continue
        subject = f"container '{member.name}'"
        for ref in view.volumes_from(member):
            if view.lookup(ref) is None:
                out.append(
                    (
                        f"{subject} takes every mount of '{ref}' (`volumesFrom`), a container the stack does not "
                        "declare, so what it mounts cannot be reviewed. Fix: mount the volumes it needs by name.",
                        member.urn,
                    )
                )
        own = {(m.host, m.via) for m in host_mounts(member.props)}
        for mount in view.mounts(member):
            if (mount.host, mount.via) in own:
                continue  # its own bind mounts: container-no-sensitive-mounts judges them on the container
            finding = judge(subject, mount, cfg, proxy=member.name in proxies and mount.volume is None)
            if finding:
                out.append((finding, member.urn))
    return out


def _overlap(a: HostMount, b: HostMount) -> bool:
    if a.volume is not None and a.volume == b.volume:
        return False  # the same named volume: reported as a shared volume
    return under(a.host, b.host) or under(b.host, a.host)


def check_shared_volumes(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    allowed = {str(v) for v in cfg.get("allowedSharedVolumes") or []}
    allowed_paths = [str(p) for p in cfg.get("allowedSharedHostPaths") or []]
    view = View(resources)
    users: dict[str, list[str]] = {}
    binds: dict[str, list[HostMount]] = {}
    hosts: dict[str, str] = {}
    # Volumes and host directories are per Docker host: the same name on two hosts is two objects.
    for member in view.members:
        for vname in view.named_volumes(member):
            users.setdefault(qualify(member.host, vname), []).append(member.name)
        # The Docker socket is no directory of state: who may reach it is container-no-sensitive-mounts'.
        mounts = [
            m for m in view.mounts(member) if not is_socket(m.host) and not any(under(m.host, p) for p in allowed_paths)
        ]
        who = qualify(member.host, member.name)
        hosts[who] = member.host
        binds.setdefault(who, []).extend(mounts)
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
        if hosts[first] != hosts[second]:
            continue
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
        "A volume whose options mount a host path, and every mount a container inherits with volumesFrom, "
        "is judged like a bind mount of that path for each container that gets it."
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
