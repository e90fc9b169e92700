"""Isolation from the host: no privileged mode, no host namespaces, kernel security profiles kept."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import secopts
from .base import Context, Kics, Rule
from .props import as_dict, as_list, is_true, is_unknown


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
# Joining another container's PID or IPC namespace (moby v28.5.2 api/types/container
# `PidMode.IsContainer`/`IpcMode.IsContainer`: the `container:<name|id>` prefix) shows that
# container's processes (their environment, and /proc/<pid>/root: its files, a socket it
# mounts included) or its shared memory. Joining a network namespace is judged with the
# stack, by the network rules (`view`).
JOINABLE = ("pidMode", "ipcMode")


def joined(value: object) -> str | None:
    """The container named by a `container:<name|id>` mode, or None."""
    if isinstance(value, str) and value.lower().startswith("container:"):
        return value.split(":", 1)[1]
    return None


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


def check_namespace_joins(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    out = []
    allowed = as_dict(cfg.get("allowedNamespaceJoins"))
    for prop in JOINABLE:
        target = joined(props.get(prop))
        if target is None or is_unknown(props.get(prop)):
            continue
        reviewed = {str(t) for t in as_list(allowed.get(ctx.name)) + as_list(allowed.get(ctx.resource_name))}
        if target in reviewed:
            continue
        out.append(
            f"container '{ctx.name}' joins the {prop.removesuffix('Mode').upper()} namespace of container "
            f"'{target}' (`{prop}: {props[prop]}`), which exposes that container's processes and memory. "
            f"Fix: remove `{prop}`, or list '{target}' for '{ctx.name}' in `allowedNamespaceJoins` after review."
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

# KICS's host-namespace queries take `pid: container:<x>` as a negative (not the host's); joining
# a container is a rule of its own, so those fixtures stay clean.
NO_NAMESPACE_JOINS = Rule(
    name="container-no-namespace-joins",
    description="Containers join another container's PID or IPC namespace only when reviewed.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_namespace_joins,
    config={
        "allowedNamespaceJoins": {
            "type": "object",
            "default": {},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Reviewed `container:<name>` PID/IPC joins: {container: [containers it may join]}.",
        }
    },
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
        "Containers keep Docker's default confinement: seccomp (no unconfined or allow-all inline profile), "
        "AppArmor, SELinux, masked system paths, read-only cgroups."
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

RULES: list[Rule] = [NO_PRIVILEGED, NO_HOST_NAMESPACES, NO_NAMESPACE_JOINS, SECURITY_PROFILES_ENABLED]
