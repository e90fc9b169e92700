"""What a container sees of the host: sensitive bind mounts and mount propagation (devices: devices.py)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import volopts
from .base import SOCKET_PROXIES, Context, Kics, Rule
from .props import CONTAINER, SERVICE, VOLUME, as_dict, as_list, is_true, is_unknown

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


@dataclass(frozen=True)
class HostMount:
    """A host path a container reaches: a bind mount, or a volume whose options mount it."""

    host: str
    read_only: bool
    via: str
    """How it is reached, for messages: `volumes`, `mounts`, or "volume 'x' (local driver, o=bind, device)"."""
    volume: str | None = None
    """The named volume it is reached through, if any."""


def clean(path: str) -> str:
    """A host path cleaned lexically (``//``, ``.``, ``..``, trailing ``/``), case kept: Linux paths
    are case-sensitive, so ``/Etc`` is not ``/etc`` (the daemon's host is Linux, Docker Desktop's
    VM included)."""
    return posixpath.normpath("/" + path.lstrip("/"))


def under(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or inside it; ``/`` only matches itself (KICS isOSDir)."""
    path, root = clean(path), clean(root)
    if root == "/":
        return path == "/"
    return path == root or path.startswith(root + "/")


def volume_reaches(props: dict[str, Any]) -> list[volopts.Reach]:
    """The host paths a docker.Volume's driver and driver options mount (see ``volopts``)."""
    return volopts.reaches(props.get("driver"), props.get("driverOpts"))


def _literal_path(value: object) -> str | None:
    """An absolute host path (what Docker binds), else None (a name, or not known yet)."""
    if isinstance(value, str) and value.startswith("/") and not is_unknown(value):
        return value
    return None


def host_mounts(props: dict[str, Any], volumes: dict[str, dict[str, Any]] | None = None) -> list[HostMount]:
    """Every literal host path a container reaches by its own inputs and, given the stack's
    volumes by docker name, through the named volumes it mounts.

    - `volumes[].hostPath`, and a `volumeName` that is an absolute path: kreuzwerker v4.5.0
      `volumeSetToDockerVolumes` writes `<volumeName or hostPath>:<containerPath>:<mode>` into
      `Binds` (hostPath wins), and moby's linux_parser makes an absolute source a bind mount.
    - `mounts[]` of type bind (Docker refuses a relative source), and of type volume with
      inline `volumeOptions` (Docker creates that volume on the fly with those options).
    - `volumesFrom` (`volumes[].fromContainer`) is the stack's to resolve (``view``).
    """
    volumes = volumes or {}
    found: list[HostMount] = []

    def named(name: object, read_only: bool) -> None:
        if isinstance(name, str) and name in volumes:
            for reach in volume_reaches(volumes[name]):
                found.append(HostMount(reach.host, read_only, f"volume '{name}' ({reach.how})", name))

    for vol in as_list(props.get("volumes")):
        vol = as_dict(vol)
        read_only = is_true(vol.get("readOnly"))
        host, name = vol.get("hostPath"), vol.get("volumeName")
        if isinstance(host, str) and host:
            if _literal_path(host):
                found.append(HostMount(host, read_only, "`volumes`"))
        elif _literal_path(name):
            found.append(HostMount(str(name), read_only, "`volumes` (a volumeName that is a host path)"))
        else:
            named(name, read_only)
    for mount in as_list(props.get("mounts")):
        mount = as_dict(mount)
        source, read_only = mount.get("source"), is_true(mount.get("readOnly"))
        if mount.get("type") == "bind":
            if _literal_path(source):
                found.append(HostMount(str(source), read_only, "`mounts`"))
        elif mount.get("type") == "volume":
            options = as_dict(mount.get("volumeOptions"))
            for reach in volopts.reaches(options.get("driverName"), options.get("driverOptions")):
                found.append(HostMount(reach.host, read_only, f"`mounts` volume options ({reach.how})"))
            named(source, read_only)
    return found


def is_socket(path: str) -> bool:
    return clean(path) in DOCKER_SOCKETS or path.endswith("docker.sock")


def judge(subject: str, mount: HostMount, cfg: dict[str, Any], *, proxy: bool) -> str | None:
    """The finding for one host path ``subject`` reaches, or None when it is allowed."""
    host, via = mount.host, mount.via
    if is_socket(host):
        if proxy and mount.read_only and mount.volume is None:
            return None
        if proxy and mount.volume is None:
            return (
                f"{subject} mounts the Docker socket writable via {via}. Fix: set `readOnly: true` on the socket mount."
            )
        return (
            f"{subject} mounts the Docker socket ({host}) via {via}, which is root on the host. "
            "Fix: remove it and read it through the socket proxy; only the proxy may bind-mount it, read-only."
        )
    if any(under(host, str(a)) for a in cfg.get("allowedHostPaths") or []):
        return None
    hit = next((str(s) for s in cfg.get("sensitivePaths") or [] if under(host, str(s))), None)
    if hit is None:
        return None
    return (
        f"{subject} mounts the sensitive host path {host} (under {hit}) via {via}. "
        "Fix: use a named volume without host driver options, or a dedicated directory outside system paths."
    )


def check_sensitive_mounts(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    if ctx.resource_type == VOLUME:
        out = []
        for reach in volume_reaches(props):
            mount = HostMount(reach.host, False, f"its driver options ({reach.how})", ctx.name)
            finding = judge(f"volume '{ctx.name}'", mount, cfg, proxy=False)
            if finding:
                out.append(finding.replace(" mounts ", " binds ", 1))
        return out
    # Only the socket proxy may bind the socket, read-only; where it sits is docker-socket-isolated's.
    proxy = ctx.name in set(cfg.get("socketProxyContainers") or [])
    # The backup scheduler starts its steps through the Docker API (a read-only socket mount
    # would not limit the API anyway): reviewed and listed by name, allowed only unpublished.
    scheduler = ctx.name in set(cfg.get("schedulerContainers") or []) and not as_list(props.get("ports"))
    mounts = [m for m in host_mounts(props) if not (scheduler and is_socket(m.host) and m.volume is None)]
    # A named exporter reads exactly its reviewed host paths, read-only, unpublished (where it
    # sits is exporter-host-access-isolated's, policies/rules/exporters.py).
    exporter = {clean(str(p)) for p in as_list(as_dict(cfg.get("exporterHostPaths")).get(ctx.name))}
    if exporter and not as_list(props.get("ports")):
        mounts = [m for m in mounts if not (m.read_only and m.volume is None and clean(m.host) in exporter)]
    findings = (judge(f"container '{ctx.name}'", m, cfg, proxy=proxy) for m in mounts)
    return [f for f in findings if f]


NO_SENSITIVE_MOUNTS = Rule(
    name="container-no-sensitive-mounts",
    description=(
        "Neither containers (bind mounts, host-path volume names, inline volume options) nor volumes (bind, "
        "block device, overlay, kernel filesystem options) reach the Docker socket or a sensitive host directory."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    check=check_sensitive_mounts,
    resource_types=(CONTAINER, SERVICE, VOLUME),
    config={
        "socketProxyContainers": SOCKET_PROXIES,
        "schedulerContainers": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["backup"],
            "description": "Reviewed containers that start the backup steps through the Docker socket (unpublished).",
        },
        "exporterHostPaths": {
            "type": "object",
            "default": {},
            "description": "Exporter container name -> the host paths it may bind read-only (node-exporter).",
        },
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
        Kics("d6355c88", "Docker Socket Mounted In Container"),
        Kics("1c1325ff", "Volume Has Sensitive Host Directory"),
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
    kics=(Kics("baa452f0", "Volume Mounted In Multiple Containers"),),
    cis=("5.20",),
)


RULES: list[Rule] = [NO_SENSITIVE_MOUNTS, MOUNT_PROPAGATION_PRIVATE]
