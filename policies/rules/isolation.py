"""Isolation from the host: no privileged mode, no host namespaces, kernel security profiles kept."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .props import as_list, is_true, is_unknown


def check_privileged(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    value = props.get("privileged")
    if is_true(value) or is_unknown(value):
        return [
            (
                f"container '{ctx.name}' runs privileged. Fix: remove `privileged` and add only the "
                "capabilities or devices it needs."
            )
        ]
    return []


NO_PRIVILEGED = Rule(
    name="container-no-privileged",
    description="Containers do not run in privileged mode.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    check=check_privileged,
    config={},
    kics=("ae5b6871 Privileged Containers Enabled",),
    cis=("5.5",),
)


NAMESPACE_PROPS = ("networkMode", "pidMode", "ipcMode", "usernsMode", "cgroupnsMode")


def check_host_namespaces(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    out = []
    for prop in NAMESPACE_PROPS:
        value = props.get(prop)
        if isinstance(value, str) and value.lower() == "host":
            out.append(
                f"container '{ctx.name}' shares the host's namespace via `{prop}: host`. "
                f"Fix: remove `{prop}` (use a user-defined network for `networkMode`)."
            )
    return out


NO_HOST_NAMESPACES = Rule(
    name="container-no-host-namespaces",
    description="Containers do not share the host's network, PID, IPC, user or cgroup namespace.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_host_namespaces,
    config={},
    kics=(
        "071a71ff Shared Host Network Namespace",
        "4f31dd9f Host Namespace is Shared",
        "baa3890f Shared Host IPC Namespace",
        "8af7162d Shared Host User Namespace",
    ),
    cis=("5.10", "5.16", "5.17", "5.31"),
)


SECCOMP_OFF = (
    "seccomp=unconfined",
    "seccomp:unconfined",
    "apparmor=unconfined",
    "apparmor:unconfined",
)
SELINUX_OFF = ("label=disable", "label:disable")


def check_security_profiles(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    out = []
    for opt in as_list(props.get("securityOpts")):
        if isinstance(opt, str) and opt.replace(" ", "").lower() in SECCOMP_OFF + SELINUX_OFF:
            out.append(
                f"container '{ctx.name}' disables a kernel security profile (`{opt}`). "
                "Fix: remove it from `securityOpts` (use a custom profile if one syscall is missing)."
            )
    return out


SECURITY_PROFILES_ENABLED = Rule(
    name="container-security-profiles-enabled",
    description="Containers keep the default seccomp, AppArmor and SELinux confinement.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_security_profiles,
    config={},
    kics=("404fde2c Default Seccomp Profile Disabled",),
    cis=("5.2", "5.3", "5.22"),
)

RULES: list[Rule] = [NO_PRIVILEGED, NO_HOST_NAMESPACES, SECURITY_PROFILES_ENABLED]
