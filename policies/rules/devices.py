"""Host devices: none, except the GPU device files a stack declares for one container.

An AMD GPU reaches Ollama as device files (/dev/kfd and the DRM render nodes); NVIDIA GPUs
come through `deviceRequests` and the runtime's hook instead. The allow-list is generated from
the stack's settings (tools/packconfig.py), so the pack allows exactly what the stack asks for.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .mounts import clean
from .props import as_dict, as_list, is_unknown

# moby v28.5.2 oci/oci.go `deviceCgroupRuleRegex`: anything else is refused at create.
CGROUP_RULE = re.compile(r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})")
# Character devices of major 1 that are the host's memory and I/O ports (Linux
# Documentation/admin-guide/devices.txt: 1:1 /dev/mem, 1:2 /dev/kmem, 1:4 /dev/port).
MEMORY_MINORS = frozenset({"1", "2", "4", "*"})


def cgroup_rule_reach(rule: str) -> str | None:
    """What a `deviceCgroupRules` entry lets the container read or write, or None when nothing
    beyond Docker's own defaults (its default device cgroup already allows `m` on every device)."""
    match = CGROUP_RULE.fullmatch(rule)
    if match is None:
        return None  # refused by the daemon
    kind, major, minor, access = match.groups()
    if not set(access) & {"r", "w"}:
        return None
    if kind == "a":
        return "every device of the host"
    if major == "*":
        return f"every {'block' if kind == 'b' else 'character'} device of the host"
    if kind == "b":
        return f"the host's block devices of major {major} (its disks)"
    if major == "1" and minor in MEMORY_MINORS:
        return "the host's memory devices (/dev/mem, /dev/kmem, /dev/port)"
    return None


def check_cgroup_rules(props: dict[str, Any], ctx: Context) -> list[str]:
    out = []
    for rule in as_list(props.get("deviceCgroupRules")):
        if not isinstance(rule, str) or is_unknown(rule):
            continue
        reach = cgroup_rule_reach(rule)
        if reach:
            out.append(
                f"container '{ctx.name}' lets itself use {reach} (`deviceCgroupRules: {rule}`). "
                "Fix: remove the rule and pass the one device it needs in `devices`."
            )
    return out


def allowed_devices(cfg: dict[str, Any], ctx: Context) -> set[str]:
    """The host paths this container may get, by its docker name or Pulumi name."""
    by_name = as_dict(cfg.get("allowedDevices"))
    paths = [*as_list(by_name.get(ctx.name)), *as_list(by_name.get(ctx.resource_name))]
    return {clean(p) for p in paths if isinstance(p, str) and p}


def check_devices(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    return check_cgroup_rules(props, ctx) + check_device_paths(props, cfg, ctx)


def check_device_paths(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    allowed = allowed_devices(cfg, ctx)
    unknown = False
    extra: list[str] = []
    for device in as_list(props.get("devices")):
        host = as_dict(device).get("hostPath")
        if not isinstance(host, str) or is_unknown(host):
            unknown = True
        elif clean(host) not in allowed:
            extra.append(host if clean(host) == host else f"{host} (= {clean(host)})")
    if unknown:
        return [
            f"container '{ctx.name}' gets a host device whose path is computed at deploy time, so it cannot be "
            "reviewed. Fix: set `devices[].hostPath` literally."
        ]
    if not extra:
        return []
    declared = ", ".join(sorted(allowed)) if allowed else "none"
    return [
        f"container '{ctx.name}' gets host devices not declared for it ({', '.join(extra)}; declared: {declared}). "
        "Fix: remove them from `devices` (NVIDIA GPUs come through `deviceRequests`); an AMD GPU for Ollama is "
        "declared with ai-stack:ollama.gpu (driver amd) and allowed by the generated policy config."
    ]


NO_HOST_DEVICES = Rule(
    name="container-no-host-devices",
    description=(
        "Containers get no host devices, by path or by device cgroup rule, except the GPU device files the "
        "stack declares for Ollama."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_devices,
    config={
        "allowedDevices": {
            "type": "object",
            "default": {},
            "description": (
                "Host device paths each container may get, by container name (generated from "
                "ai-stack:ollama.gpu by tools/packconfig.py)."
            ),
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }
    },
    cis=("5.18",),
)

RULES: list[Rule] = [NO_HOST_DEVICES]
