"""What a volume's driver options reach on the host, for a docker.Volume and for the volume a
container's `mounts` entry creates on the fly (`volumeOptions.driverName`/`driverOptions`).

The local driver (moby v28.5.2 volume/local/local_unix.go) takes only `type`, `o`, `device` and
`size`, needs `type` and `device` together (and both for `o`), and mounts with
`mount(device, path, type, o)` (moby/sys/mount): `o` holding `bind`/`rbind` binds the host
directory `device`; a disk filesystem mounts the host block device `device`; `overlay` stacks the
host directories named by `lowerdir`/`upperdir`/`workdir`; a kernel filesystem (`proc`, `sysfs`,
`devtmpfs`...) mounted by dockerd shows the host's own (dockerd runs in the host's PID and mount
namespaces). Network filesystems and tmpfs reach nothing on the host. Plugins such as
local-persist take the host directory as `mountpoint`. mount(2) resolves a relative path against
the mounting process's working directory, and dockerd runs in "/" (systemd.exec(5): a system
service's WorkingDirectory defaults to the root directory), so `device: etc` is /etc.
"""

from __future__ import annotations

from dataclasses import dataclass

from .props import as_dict, is_unknown

LOCAL_OPTIONS = frozenset({"type", "o", "device", "size"})
NETWORK_FILESYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs"})
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
# The host path each kernel filesystem shows, so the sensitive-path rules judge it like a bind.
KERNEL_FILESYSTEMS = {
    "proc": "/proc",
    "sysfs": "/sys",
    "devtmpfs": "/dev",
    "devpts": "/dev/pts",
    "mqueue": "/dev/mqueue",
    "hugetlbfs": "/dev/hugepages",
    "cgroup": "/sys/fs/cgroup",
    "cgroup2": "/sys/fs/cgroup",
    "bpf": "/sys/fs/bpf",
    "debugfs": "/sys/kernel/debug",
    "tracefs": "/sys/kernel/tracing",
    "securityfs": "/sys/kernel/security",
    "configfs": "/sys/kernel/config",
    "efivarfs": "/sys/firmware/efi/efivars",
    "pstore": "/sys/fs/pstore",
    "fusectl": "/sys/fs/fuse/connections",
    "binfmt_misc": "/proc/sys/fs/binfmt_misc",
    "nsfs": "/proc",
}
OVERLAY_DIRS = ("lowerdir", "upperdir", "workdir")
# Driver options of volume plugins that name the host directory they bind (local-persist).
PLUGIN_PATH_KEYS = ("mountpoint",)


@dataclass(frozen=True)
class Reach:
    """One host path a volume's options reach, and how, for messages."""

    host: str
    how: str


def _literal(value: object) -> str | None:
    return value if isinstance(value, str) and not is_unknown(value) else None


def _flags(o: str) -> set[str]:
    return {f.strip() for f in o.split(",")}


def _overlay_dirs(o: str) -> list[tuple[str, str]]:
    found = []
    for part in o.split(","):
        key, _, value = part.partition("=")
        if key.strip() in OVERLAY_DIRS:
            found += [(key.strip(), d) for d in value.split(":") if d]
    return found


def _from_root(path: str) -> str:
    """A path as dockerd's mount(2) resolves it (relative to "/")."""
    return path if path.startswith("/") else "/" + path


def _local(opts: dict[str, str]) -> list[Reach]:
    kind, device, o = opts.get("type"), opts.get("device"), opts.get("o", "")
    if device and {"bind", "rbind"} & _flags(o):
        # Judged even when the daemon would refuse the other options (a missing `type`): the
        # intent is a bind of `device`, as KICS reads it too.
        return [Reach(_from_root(device), f"local driver, o={o}, device")]
    if set(opts) - LOCAL_OPTIONS or kind is None or device is None:
        return []  # an unknown key, or `type` without `device` (or the reverse): refused by the daemon
    if kind == "none" or kind in NETWORK_FILESYSTEMS or kind in MEMORY_FILESYSTEMS:
        return []
    if kind == "overlay":
        return [Reach(_from_root(d), f"local driver, type=overlay, {key}") for key, d in _overlay_dirs(o)]
    if kind in KERNEL_FILESYSTEMS:
        return [Reach(KERNEL_FILESYSTEMS[kind], f"local driver, type={kind}: the host's own {kind}")]
    if "=" in device or ":" in device:
        return []  # LABEL=/UUID= (mount(8) syntax, not mount(2)) or a remote source: not a host path
    return [Reach(_from_root(device), f"local driver, type={kind}, device (a host block device)")]


def reaches(driver: object, options: object) -> list[Reach]:
    """Every literal absolute host path the volume (``driver`` and its ``options``) mounts."""
    name = _literal(driver) or "local"
    opts = {str(k): v for k, v in as_dict(options).items()}
    if any(_literal(v) is None for v in opts.values()):
        return []  # computed at deploy time: judged with its values at update
    if name == "local":
        return _local(opts)
    return [Reach(opts[k], f"{name} driver, {k}") for k in PLUGIN_PATH_KEYS if str(opts.get(k, "")).startswith("/")]
