"""Per-container rules: limits, isolation, mounts, health, restart, GPU and hardening."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .props import as_dict, as_list, as_number, is_run_once, is_true, is_unknown

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

ROUTERS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["traefik"],
    "description": "Container names acting as the edge router (may read the Docker socket, publish 80/443).",
}


# --- limits -----------------------------------------------------------------------------------


def cpu_limit(props: dict[str, Any]) -> float | None:
    """CPUs a container may use: ``cpus``, else ``cpuQuota / cpuPeriod``; ``None`` if unlimited."""
    cpus = as_number(props.get("cpus"))
    if cpus is not None and cpus > 0:
        return cpus
    quota = as_number(props.get("cpuQuota"))
    if quota is not None and quota > 0:
        period = as_number(props.get("cpuPeriod")) or 100000.0
        return quota / period
    return None


def memory_limit(props: dict[str, Any]) -> float | None:
    """The memory limit in MB, or ``None`` when unlimited or not literal."""
    memory = as_number(props.get("memory"))
    return memory if memory is not None and memory > 0 else None


def check_limits(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    name = ctx.name
    out: list[str] = []
    if is_unknown(props.get("memory")):
        out.append(
            f"container '{name}': memory limit is computed at deploy time; limits must be literal "
            "so they can be reviewed. Fix: set `memory` (MB) from stack config."
        )
    elif memory_limit(props) is None:
        out.append(f"container '{name}' has no memory limit. Fix: set `memory` (MB) > 0 and `memorySwap` equal to it.")
    cpu_values = [props.get(k) for k in ("cpus", "cpuQuota", "cpuPeriod")]
    if cpu_limit(props) is None:
        if any(is_unknown(v) for v in cpu_values):
            out.append(
                f"container '{name}': CPU limit is computed at deploy time; limits must be literal. "
                'Fix: set `cpus` (e.g. "1.5") from stack config.'
            )
        else:
            out.append(f"container '{name}' has no CPU limit. Fix: set `cpus` (e.g. \"2\") or `cpuQuota`.")
    maximums = as_dict(cfg.get("containerMaximums")).get(name) or {}
    max_mb = as_number(maximums.get("memoryMb", cfg.get("maxMemoryMb")))
    max_cpus = as_number(maximums.get("cpus", cfg.get("maxCpus")))
    memory, cpus = memory_limit(props), cpu_limit(props)
    if max_mb is not None and memory is not None and memory > max_mb:
        out.append(f"container '{name}': memory {memory:g} MB exceeds the maximum {max_mb:g} MB. Fix: lower `memory`.")
    if max_cpus is not None and cpus is not None and cpus > max_cpus:
        out.append(f"container '{name}': {cpus:g} CPUs exceeds the maximum {max_cpus:g}. Fix: lower `cpus`.")
    return out


# --- privilege and namespaces ------------------------------------------------------------------


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


# --- mounts ------------------------------------------------------------------------------------

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
    routers = set(cfg.get("routerContainers") or [])
    allowed = [str(p) for p in cfg.get("allowedHostPaths") or []]
    out = []
    for host, read_only, prop in _host_mounts(props):
        if any(_norm(host) == s for s in DOCKER_SOCKETS) or host.endswith("docker.sock"):
            if ctx.name in routers and read_only:
                continue
            if ctx.name in routers:
                out.append(
                    f"container '{ctx.name}' mounts the Docker socket writable via `{prop}`. "
                    "Fix: set `readOnly: true` on the socket mount."
                )
            else:
                out.append(
                    f"container '{ctx.name}' mounts the Docker socket ({host}) via `{prop}`, which is root on "
                    "the host. Fix: remove the mount; only the router may read it."
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


# --- health, restart, GPU ----------------------------------------------------------------------


def check_healthcheck(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    health = props.get("healthcheck")
    if is_unknown(health):
        return []
    tests = [t for t in as_list(as_dict(health).get("tests")) if isinstance(t, str)]
    if not tests or tests[0].upper() == "NONE":
        return [
            (
                f"container '{ctx.name}' has no healthcheck. Fix: set `healthcheck.tests` "
                '(e.g. ["CMD", "curl", "-f", "http://localhost:PORT/health"]) with interval, timeout and retries.'
            )
        ]
    return []


def check_restart(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    restart = props.get("restart")
    if is_unknown(restart):
        return []
    if is_run_once(props):
        return []
    if restart in (None, "", "no"):
        return [
            (
                f"container '{ctx.name}' has no restart policy. Fix: set `restart: \"unless-stopped\"` "
                "(or mark a one-shot job with `attach: true` and `mustRun: false`)."
            )
        ]
    if restart == "on-failure":
        retries = as_number(props.get("maxRetryCount")) or 0
        limit = as_number(cfg.get("maxOnFailureRetries")) or 5
        if retries <= 0 or retries > limit:
            return [
                (
                    f"container '{ctx.name}': `restart: on-failure` with maxRetryCount {retries:g}. "
                    f"Fix: set `maxRetryCount` between 1 and {limit:g}."
                )
            ]
    return []


def uses_gpu(props: dict[str, Any]) -> bool:
    """True when the container requests a GPU (deviceRequests, gpus or the nvidia runtime)."""
    gpus = props.get("gpus")
    runtime = props.get("runtime")
    return (
        bool(as_list(props.get("deviceRequests")))
        or (isinstance(gpus, str) and gpus != "")
        or (isinstance(runtime, str) and runtime.lower() == "nvidia")
    )


def check_gpu(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    allowed = set(cfg.get("allowedContainers") or [])
    if uses_gpu(props) and ctx.name not in allowed and ctx.resource_name not in allowed:
        return [
            (
                f"container '{ctx.name}' requests a GPU but is not in the GPU allow-list {sorted(allowed)}. "
                "Fix: remove `deviceRequests`/`gpus`, or add the container to `allowedContainers`."
            )
        ]
    return []


# --- advisory hardening ------------------------------------------------------------------------


def check_no_new_privileges(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    opts = [o.replace(" ", "").lower() for o in as_list(props.get("securityOpts")) if isinstance(o, str)]
    if not any(o in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true") for o in opts):
        return [
            f"container '{ctx.name}' does not set no-new-privileges. "
            'Fix: add "no-new-privileges:true" to `securityOpts`.'
        ]
    return []


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


def check_read_only_rootfs(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    from .props import image_repository

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


def check_cgroup_parent(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    parent = props.get("cgroupParent")
    if isinstance(parent, str) and parent and not is_unknown(parent):
        return [
            f"container '{ctx.name}' uses a custom cgroup parent ({parent}). "
            "Fix: remove `cgroupParent` unless required."
        ]
    return []


RULES: list[Rule] = [
    Rule(
        name="container-resource-limits",
        description="Every container has a literal memory limit and a CPU limit.",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        check=check_limits,
        config={
            "maxMemoryMb": {
                "type": "number",
                "minimum": 0,
                "description": "Largest memory limit any container may set.",
            },
            "maxCpus": {
                "type": "number",
                "minimum": 0,
                "description": "Largest CPU limit any container may set.",
            },
            "containerMaximums": {
                "type": "object",
                "default": {},
                "description": "Per-container maximums: {name: {memoryMb, cpus}}.",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "memoryMb": {"type": "number"},
                        "cpus": {"type": "number"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        kics=("bb9ac4f7 Memory Not Limited", "6b610c50 Cpus Not Limited"),
        cis=("5.11", "5.12"),
    ),
    Rule(
        name="container-no-privileged",
        description="Containers do not run in privileged mode.",
        enforcement_level=MANDATORY,
        severity=Severity.CRITICAL,
        check=check_privileged,
        config={},
        kics=("ae5b6871 Privileged Containers Enabled",),
        cis=("5.5",),
    ),
    Rule(
        name="container-no-host-namespaces",
        description="Containers do not share the host's network, PID, IPC, user or cgroup namespace.",
        enforcement_level=MANDATORY,
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
    ),
    Rule(
        name="container-security-profiles-enabled",
        description="Containers keep the default seccomp, AppArmor and SELinux confinement.",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        check=check_security_profiles,
        config={},
        kics=("404fde2c Default Seccomp Profile Disabled",),
        cis=("5.2", "5.3", "5.22"),
    ),
    Rule(
        name="container-no-sensitive-mounts",
        description="Containers mount neither the Docker socket nor sensitive host directories.",
        enforcement_level=MANDATORY,
        severity=Severity.CRITICAL,
        check=check_sensitive_mounts,
        config={
            "routerContainers": ROUTERS,
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
    ),
    Rule(
        name="container-mount-propagation-private",
        description="Bind mounts do not use shared or slave propagation.",
        enforcement_level=MANDATORY,
        severity=Severity.MEDIUM,
        check=check_mount_propagation,
        config={},
        kics=("baa452f0 Volume Mounted In Multiple Containers",),
        cis=("5.20",),
    ),
    Rule(
        name="container-healthcheck-required",
        description="Every long-running container has a healthcheck.",
        enforcement_level=MANDATORY,
        severity=Severity.MEDIUM,
        check=check_healthcheck,
        config={},
        kics=("698ed579 Healthcheck Not Set",),
        cis=("5.27",),
    ),
    Rule(
        name="container-restart-policy",
        description="Long-running containers restart on failure with a bounded retry count.",
        enforcement_level=MANDATORY,
        severity=Severity.MEDIUM,
        check=check_restart,
        config={
            "maxOnFailureRetries": {
                "type": "integer",
                "minimum": 1,
                "default": 5,
                "description": "Largest maxRetryCount allowed with restart on-failure (CIS 5.15).",
            }
        },
        kics=("2fc99041 Restart Policy On Failure Not Set To 5",),
        cis=("5.15",),
    ),
    Rule(
        name="container-gpu-allow-list",
        description="Only allow-listed containers request GPUs.",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        check=check_gpu,
        config={
            "allowedContainers": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["ollama"],
                "description": "Container names that may use deviceRequests, gpus or the nvidia runtime.",
            }
        },
    ),
    Rule(
        name="container-no-new-privileges",
        description="Containers set no-new-privileges so setuid binaries cannot escalate.",
        enforcement_level=ADVISORY,
        severity=Severity.MEDIUM,
        check=check_no_new_privileges,
        config={},
        kics=("27fcc7d6 No New Privileges Not Set", "610e266e Security Opt Not Set"),
        cis=("5.26",),
    ),
    Rule(
        name="container-capabilities-dropped",
        description="Containers drop all Linux capabilities and add back only allow-listed ones.",
        enforcement_level=ADVISORY,
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
        kics=("ce76b7d0 Container Capabilities Unrestricted",),
        cis=("5.4",),
    ),
    Rule(
        name="container-read-only-rootfs",
        description="Containers whose image supports it run with a read-only root filesystem.",
        enforcement_level=ADVISORY,
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
    ),
    Rule(
        name="container-log-rotation",
        description="Container logs written to the host are rotated by size and count.",
        enforcement_level=ADVISORY,
        severity=Severity.LOW,
        check=check_log_rotation,
        config={},
    ),
    Rule(
        name="container-memory-settings",
        description="Memory reservation stays within the limit and swap is bounded.",
        enforcement_level=ADVISORY,
        severity=Severity.LOW,
        check=check_memory_settings,
        config={},
    ),
    Rule(
        name="container-no-host-devices",
        description="Containers do not get raw host devices.",
        enforcement_level=ADVISORY,
        severity=Severity.MEDIUM,
        check=check_devices,
        config={},
        cis=("5.18",),
    ),
    Rule(
        name="container-default-cgroup",
        description="Containers use Docker's default cgroup parent.",
        enforcement_level=ADVISORY,
        severity=Severity.LOW,
        check=check_cgroup_parent,
        config={},
        kics=("4d9f44c6 Cgroup Not Default",),
        cis=("5.25",),
    ),
]
