"""Isolation from the host: no privileged mode, no host namespaces, kernel security profiles kept."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import secopts
from .base import Context, Kics, Rule
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
    kics=(Kics("ae5b6871", "Privileged Containers Enabled"),),
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
        Kics("071a71ff", "Shared Host Network Namespace"),
        Kics("4f31dd9f", "Host Namespace is Shared"),
        Kics("baa3890f", "Shared Host IPC Namespace"),
        Kics("8af7162d", "Shared Host User Namespace"),
    ),
    cis=("5.10", "5.16", "5.17", "5.31"),
)


def check_security_profiles(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    return [
        f"container '{ctx.name}' switches off {what} (`{opt}`). "
        "Fix: remove it from `securityOpts` (use a custom profile if one syscall is missing)."
        for what, opt in secopts.unconfined(secopts.parse(as_list(props.get("securityOpts"))))
    ]


SECURITY_PROFILES_ENABLED = Rule(
    name="container-security-profiles-enabled",
    description=(
        "Containers keep Docker's default confinement: seccomp, AppArmor, SELinux, masked system paths, "
        "read-only cgroups."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_security_profiles,
    config={},
    kics=(
        Kics(
            "404fde2c",
            "Default Seccomp Profile Disabled",
            partial=(
                "`label:seccomp:unconfined` is not reported: Docker reads it as the SELinux label option "
                "`seccomp:unconfined` (moby parseSecurityOpt) and seccomp stays on"
            ),
        ),
    ),
    cis=("5.2", "5.3", "5.22"),
)

RULES: list[Rule] = [NO_PRIVILEGED, NO_HOST_NAMESPACES, SECURITY_PROFILES_ENABLED]
