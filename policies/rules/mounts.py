"""What a container sees of the host: sensitive bind mounts, mount propagation, raw devices."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import SOCKET_PROXIES, Context, Rule
from .props import as_dict, as_list, is_true, is_unknown

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
# KICS common.rego isOSDir and CIS Docker 5.6.
SENSITIVE_PATHS = [
    "/",
    "/bin",
    "/boot",
    "/cdrom",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib64",
    "/media",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/selinux",
    "/srv",
    "/sys",
    "/usr",
    "/var",
]


def _host_mounts(props: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(host path, read-only, property) for every bind mount of a literal host path."""
    found: list[tuple[str, bool, str]] = []
    for vol in as_list(props.get("volumes")):
        vol = as_dict(vol)
        host = vol.get("hostPath")
        if isinstance(host, str) and host and not is_unknown(host):
            found.append((host, is_true(vol.get("readOnly")), "volumes"))
    for mount in as_list(props.get("mounts")):
        mount = as_dict(mount)
        source = mount.get("source")
        if mount.get("type") == "bind" and isinstance(source, str) and not is_unknown(source):
            found.append((source, is_true(mount.get("readOnly")), "mounts"))
    return found


def _norm(path: str) -> str:
    path = "/" + path.strip("/")
    return path.lower()


def _under(path: str, root: str) -> bool:
    path, root = _norm(path), _norm(root)
    if root == "/":
        return path == "/"
    return path == root or path.startswith(root + "/")


def check_sensitive_mounts(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    proxies = set(cfg.get("socketProxyContainers") or [])
    allowed = [str(p) for p in cfg.get("allowedHostPaths") or []]
    out = []
    for host, read_only, prop in _host_mounts(props):
        if any(_norm(host) == s for s in DOCKER_SOCKETS) or host.endswith("docker.sock"):
            if ctx.name in proxies and read_only:
                continue  # where it may sit is docker-socket-isolated's job (a stack rule)
            if ctx.name in proxies:
                out.append(
                    f"container '{ctx.name}' mounts the Docker socket writable via `{prop}`. "
                    "Fix: set `readOnly: true` on the socket mount."
                )
            else:
                out.append(
                    f"container '{ctx.name}' mounts the Docker socket ({host}) via `{prop}`, which is root on "
                    "the host. Fix: remove the mount and read it through the socket proxy."
                )
            continue
        if any(_under(host, a) for a in allowed):
            continue
        hit = next((s for s in cfg.get("sensitivePaths") or [] if _under(host, str(s))), None)
        if hit is not None:
            out.append(
                f"container '{ctx.name}' mounts the sensitive host path {host} (under {hit}) via `{prop}`. "
                "Fix: use a named volume or a dedicated directory outside system paths."
            )
    return out


NO_SENSITIVE_MOUNTS = Rule(
    name="container-no-sensitive-mounts",
    description="Containers mount neither the Docker socket nor sensitive host directories.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    check=check_sensitive_mounts,
    config={
        "socketProxyContainers": SOCKET_PROXIES,
        "sensitivePaths": {
            "type": "array",
            "items": {"type": "string"},
            "default": SENSITIVE_PATHS,
            "description": "Host path prefixes that must not be bind-mounted (KICS isOSDir + CIS 5.6).",
        },
        "allowedHostPaths": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Reviewed host paths that may be mounted even under a sensitive prefix.",
        },
    },
    kics=(
        "d6355c88 Docker Socket Mounted In Container",
        "1c1325ff Volume Has Sensitive Host Directory",
    ),
    cis=("5.6", "5.32"),
)


PROPAGATION_SHARED = ("shared", "rshared", "slave", "rslave")


def check_mount_propagation(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    out = []
    for mount in as_list(props.get("mounts")):
        propagation = as_dict(as_dict(mount).get("bindOptions")).get("propagation")
        if isinstance(propagation, str) and propagation.lower() in PROPAGATION_SHARED:
            target = as_dict(mount).get("target")
            out.append(
                f"container '{ctx.name}' mounts {target} with `{propagation}` propagation. "
                "Fix: use the default private propagation."
            )
    return out


MOUNT_PROPAGATION_PRIVATE = Rule(
    name="container-mount-propagation-private",
    description="Bind mounts do not use shared or slave propagation.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    check=check_mount_propagation,
    config={},
    kics=("baa452f0 Volume Mounted In Multiple Containers",),
    cis=("5.20",),
)


def check_devices(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    devices = [as_dict(d).get("hostPath") for d in as_list(props.get("devices"))]
    if devices:
        listed = ", ".join(str(d) for d in devices)
        return [
            (
                f"container '{ctx.name}' exposes host devices ({listed}). "
                "Fix: remove `devices`; request GPUs with `deviceRequests` instead."
            )
        ]
    return []


NO_HOST_DEVICES = Rule(
    name="container-no-host-devices",
    description="Containers do not get raw host devices.",
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    check=check_devices,
    config={},
    cis=("5.18",),
)

RULES: list[Rule] = [NO_SENSITIVE_MOUNTS, MOUNT_PROPAGATION_PRIVATE, NO_HOST_DEVICES]
