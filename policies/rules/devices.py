"""Host devices: none, except the GPU device files a stack declares for one container.

An AMD GPU reaches Ollama as device files (/dev/kfd and the DRM render nodes); NVIDIA GPUs
come through `deviceRequests` and the runtime's hook instead. The allow-list is generated from
the stack's settings (tools/packconfig.py), so the pack allows exactly what the stack asks for.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .mounts import clean
from .props import as_dict, as_list, is_unknown


def allowed_devices(cfg: dict[str, Any], ctx: Context) -> set[str]:
    """The host paths this container may get, by its docker name or Pulumi name."""
    by_name = as_dict(cfg.get("allowedDevices"))
    paths = [*as_list(by_name.get(ctx.name)), *as_list(by_name.get(ctx.resource_name))]
    return {clean(p) for p in paths if isinstance(p, str) and p}


def check_devices(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
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
    description="Containers get no host devices, except the GPU device files the stack declares for Ollama.",
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
