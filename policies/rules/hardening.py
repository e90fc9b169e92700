"""Advisory hardening: no-new-privileges, capabilities, read-only rootfs, log rotation, memory, cgroup."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import secopts
from .base import Context, Kics, Rule
from .props import CONTAINER, as_dict, as_list, as_number, image_repository, is_true, is_unknown


def check_no_new_privileges(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    if not secopts.parse(as_list(props.get("securityOpts"))).no_new_privileges:
        return [
            f"container '{ctx.name}' does not set no-new-privileges. "
            'Fix: add "no-new-privileges:true" to `securityOpts`.'
        ]
    return []


NO_NEW_PRIVILEGES = Rule(
    name="container-no-new-privileges",
    description="Containers set no-new-privileges so setuid binaries cannot escalate.",
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    check=check_no_new_privileges,
    config={},
    # pulumi-docker 5.2.0's Service has no security options to set it with.
    resource_types=(CONTAINER,),
    kics=(Kics("27fcc7d6", "No New Privileges Not Set"), Kics("610e266e", "Security Opt Not Set")),
    cis=("5.26",),
)


def check_capabilities(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    caps = as_dict(props.get("capabilities"))
    drops = {str(c).upper().removeprefix("CAP_") for c in as_list(caps.get("drops"))}
    adds = {str(c).upper().removeprefix("CAP_") for c in as_list(caps.get("adds"))}
    allowed_adds = {str(c).upper().removeprefix("CAP_") for c in cfg.get("allowedAdds") or []}
    out = []
    if "ALL" not in drops:
        kept = "keeps Docker's default capabilities" if not drops else "does not drop ALL capabilities"
        out.append(
            f"container '{ctx.name}' {kept}. Fix: set `capabilities.drops: [\"ALL\"]` and add back only what it needs."
        )
    extra = sorted(adds - allowed_adds)
    if extra:
        out.append(f"container '{ctx.name}' adds capabilities {extra}. Fix: remove them or list them in `allowedAdds`.")
    return out


CAPABILITIES_DROPPED = Rule(
    name="container-capabilities-dropped",
    description="Containers drop all Linux capabilities and add back only allow-listed ones.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    check=check_capabilities,
    config={
        "allowedAdds": {
            "type": "array",
            "items": {"type": "string"},
            "default": [
                "NET_BIND_SERVICE",
                "CHOWN",
                "SETUID",
                "SETGID",
                "DAC_OVERRIDE",
                "FOWNER",
            ],
            "description": "Capabilities that may be added back after dropping ALL.",
        }
    },
    kics=(
        Kics(
            "ce76b7d0",
            "Container Capabilities Unrestricted",
            partial=(
                "adds listed in `allowedAdds` (NET_BIND_SERVICE, CHOWN, SETUID, SETGID, DAC_OVERRIDE, FOWNER by "
                "default) pass where KICS flags every cap_add; on drops the rule is stricter (ALL, not any)"
            ),
        ),
    ),
    cis=("5.4",),
)


def check_read_only_rootfs(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    capable = {str(c).lower() for c in cfg.get("readOnlyCapable") or []}
    image = props.get("image")
    repo = image_repository(image) if isinstance(image, str) and not is_unknown(image) else ""
    known = ctx.name.lower() in capable or (repo and (repo in capable or repo.rsplit("/", 1)[-1] in capable))
    if known and not is_true(props.get("readOnly")):
        return [
            (
                f"container '{ctx.name}' has a writable root filesystem although its image supports read-only. "
                "Fix: set `readOnly: true` (add `tmpfs` for scratch paths)."
            )
        ]
    return []


READ_ONLY_ROOTFS = Rule(
    name="container-read-only-rootfs",
    description="Containers whose image supports it run with a read-only root filesystem.",
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    check=check_read_only_rootfs,
    config={
        "readOnlyCapable": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["traefik"],
            "description": "Container names or image repositories known to run with readOnly: true.",
        }
    },
    cis=("5.13",),
)


ROTATING_DRIVERS = ("json-file", "local")


def check_log_rotation(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    driver = props.get("logDriver") or "json-file"
    opts = as_dict(props.get("logOpts"))
    if driver not in ROTATING_DRIVERS:
        return []  # remote drivers (journald, syslog, fluentd...) rotate elsewhere
    if not opts.get("max-size") or not opts.get("max-file"):
        return [
            (
                f"container '{ctx.name}' logs with {driver} without rotation. "
                'Fix: set `logOpts: {"max-size": "10m", "max-file": "3"}`.'
            )
        ]
    return []


LOG_ROTATION = Rule(
    name="container-log-rotation",
    description="Container logs written to the host are rotated by size and count.",
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    check=check_log_rotation,
    config={},
)


def check_memory_settings(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    limit = as_number(props.get("memory"))
    reservation = as_number(props.get("memoryReservation"))
    swap = as_number(props.get("memorySwap"))
    out = []
    if limit and reservation and reservation > limit:
        out.append(
            f"container '{ctx.name}': memoryReservation {reservation:g} MB is above the limit {limit:g} MB. "
            "Fix: keep the reservation at or below `memory`."
        )
    if limit and swap is not None and swap < 0:
        out.append(
            f"container '{ctx.name}' may swap without limit (memorySwap -1). Fix: set `memorySwap` equal to `memory`."
        )
    return out


MEMORY_SETTINGS = Rule(
    name="container-memory-settings",
    description="Memory reservation stays within the limit and swap is bounded.",
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    check=check_memory_settings,
    config={},
)


def check_cgroup_parent(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    parent = props.get("cgroupParent")
    if isinstance(parent, str) and parent and not is_unknown(parent):
        return [
            f"container '{ctx.name}' uses a custom cgroup parent ({parent}). "
            "Fix: remove `cgroupParent` unless required."
        ]
    return []


DEFAULT_CGROUP = Rule(
    name="container-default-cgroup",
    description="Containers use Docker's default cgroup parent.",
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    check=check_cgroup_parent,
    config={},
    kics=(Kics("4d9f44c6", "Cgroup Not Default"),),
    cis=("5.25",),
)

RULES: list[Rule] = [
    NO_NEW_PRIVILEGES,
    CAPABILITIES_DROPPED,
    READ_ONLY_ROOTFS,
    LOG_ROTATION,
    MEMORY_SETTINGS,
    DEFAULT_CGROUP,
]
