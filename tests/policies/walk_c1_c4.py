"""Issue 21, classes 1 to 4: host paths, namespace joins, inline confinement, healthchecks.

Changes to the real prod stack that must be refused (`C*`), and near misses that must stay clean
(`C*_OK`); each id starts with its class as the issue numbers them. Every dangerous change here
is one Docker, the provider or Traefik accepts and acts on; each near miss is the closest
legitimate (or harmless, because refused upstream) form of it. The upstream facts are cited in
the rule modules they test.
"""

from __future__ import annotations

from typing import Any

from tests.policies.walk import (
    SERVICE,
    Change,
    New,
)

SOCK = "/var/run/docker.sock"
NNP = "no-new-privileges:true"
SHA = "sha256:" + "c" * 64


def label(key: str, value: str) -> dict[str, str]:
    return {"label": key, "value": value}


ROUTED = [label("traefik.enable", "true"), label("traefik.docker.network", "proxy")]


def volume_mount(options: dict[str, str], driver: str = "local", source: str = "") -> list[dict[str, Any]]:
    mount: dict[str, Any] = {"type": "volume", "target": "/data", "volumeOptions": {"driverName": driver}}
    mount["volumeOptions"]["driverOptions"] = options
    if source:
        mount["source"] = source
    return [mount]


def add_args(*args: str) -> Any:
    return lambda current: [*(current or []), *args]


def without_args(*prefixes: str) -> Any:
    return lambda current: [a for a in current or [] if not a.startswith(prefixes)]


def seccomp(profile: str) -> list[str]:
    return [NNP, f"seccomp={profile}"]


def service(**spec: Any) -> dict[str, Any]:
    """A swarm service as hardened as the stack's containers, with ``spec`` merged into it."""
    container = {
        "image": "ghcr.io/open-webui/open-webui:v0.11.1",
        "capDrops": ["ALL"],
        "healthcheck": {"tests": ["CMD", "true"], "interval": "10s"},
        "readOnly": True,
    }
    task: dict[str, Any] = {
        "containerSpec": {**container, **spec.pop("containerSpec", {})},
        "resources": {"limits": {"nanoCpus": 1_000_000_000, "memoryBytes": 536_870_912}},
        "logDriver": {"name": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
        "networksAdvanceds": [{"name": "ai-stack-internal"}],
    }
    task.update(spec.pop("taskSpec", {}))
    return {"name": "svc", "taskSpec": task, **spec}


# -- class 1: host paths that never reached the mount rules -----------------------------------------

C1 = [
    Change(
        "c1-volume-name-etc",
        {"litellm": {"volumes": [{"volumeName": "/etc", "containerPath": "/e"}]}},
        policy="container-no-sensitive-mounts",
        fragment="sensitive host path /etc (under /etc) via `volumes`",
    ),
    Change(
        "c1-volume-name-socket",
        {"open-webui": {"volumes": [{"volumeName": SOCK, "containerPath": SOCK}]}},
        policy="container-no-sensitive-mounts",
        fragment=f"mounts the Docker socket ({SOCK})",
    ),
    Change(
        "c1-volume-name-root-dots",
        {"postgres": {"volumes": [{"volumeName": "//srv/../", "containerPath": "/h"}]}},
        policy="container-no-sensitive-mounts",
        fragment="sensitive host path //srv/../ (under /)",
    ),
    Change(
        "c1-inline-bind",
        {"litellm": {"mounts": volume_mount({"type": "none", "o": "bind", "device": "/etc"})}},
        policy="container-no-sensitive-mounts",
        fragment="/etc (under /etc) via `mounts` volume options",
    ),
    Change(
        "c1-inline-rbind-ro",
        {"litellm": {"mounts": volume_mount({"type": "none", "o": "ro,rbind", "device": "/"})}},
        policy="container-no-sensitive-mounts",
        fragment="sensitive host path / (under /)",
    ),
    Change(
        "c1-inline-socket",
        {"litellm": {"mounts": volume_mount({"type": "none", "o": "bind", "device": SOCK})}},
        policy="container-no-sensitive-mounts",
        fragment="mounts the Docker socket",
    ),
    Change(
        "c1-inline-block-device",
        {"litellm": {"mounts": volume_mount({"type": "ext4", "device": "/dev/sda1"}, source="disk")}},
        policy="container-no-sensitive-mounts",
        fragment="/dev/sda1 (under /dev)",
    ),
    Change(
        "c1-inline-overlay-lowerdir",
        {
            "litellm": {
                "mounts": volume_mount(
                    {"type": "overlay", "device": "overlay", "o": "lowerdir=/opt/a:/etc,upperdir=/opt/u,workdir=/opt/w"}
                )
            }
        },
        policy="container-no-sensitive-mounts",
        fragment="/etc (under /etc) via `mounts` volume options (local driver, type=overlay, lowerdir)",
    ),
    Change(
        "c1-inline-procfs",
        {"litellm": {"mounts": volume_mount({"type": "proc", "device": "proc"})}},
        policy="container-no-sensitive-mounts",
        fragment="/proc (under /proc)",
    ),
    Change(
        "c1-inline-sysfs-default-driver",
        {
            "litellm": {
                "mounts": [
                    {
                        "type": "volume",
                        "target": "/s",
                        "volumeOptions": {"driverOptions": {"type": "sysfs", "device": "sysfs"}},
                    }
                ]
            }
        },
        policy="container-no-sensitive-mounts",
        fragment="/sys (under /sys)",
    ),
    Change(
        "c1-inline-plugin-mountpoint",
        {"litellm": {"mounts": volume_mount({"mountpoint": "/root/.ssh"}, driver="local-persist")}},
        policy="container-no-sensitive-mounts",
        fragment="/root/.ssh (under /root)",
    ),
    Change(
        "c1-volume-block-device",
        {"postgres-data": {"driverOpts": {"type": "xfs", "device": "/dev/nvme0n1p2"}}},
        policy="container-no-sensitive-mounts",
        fragment="volume 'postgres-data' binds the sensitive host path /dev/nvme0n1p2",
    ),
    Change(
        "c1-volume-overlay-upperdir",
        {
            "postgres-data": {
                "driverOpts": {
                    "type": "overlay",
                    "device": "overlay",
                    "o": "lowerdir=/opt/l,upperdir=/var/lib/docker,workdir=/opt/w",
                }
            }
        },
        policy="container-no-sensitive-mounts",
        fragment="/var/lib/docker (under /var)",
    ),
    Change(
        "c1-volume-devtmpfs-reaches-container",
        {"postgres-data": {"driverOpts": {"type": "devtmpfs", "device": "dev"}}},
        policy="container-no-sensitive-volume-binds",
        reported="postgres",
        fragment="container 'postgres' mounts the sensitive host path /dev (under /dev) via volume 'postgres-data'",
    ),
    Change(
        "c1-volumes-from-proxy",
        {"litellm": {"volumes": [{"fromContainer": "docker-socket-proxy"}]}},
        policy="container-no-sensitive-volume-binds",
        fragment="mounts the Docker socket (/var/run/docker.sock) via volumesFrom 'docker-socket-proxy'",
    ),
    Change(
        "c1-volumes-from-scheduler-ro",
        {"open-webui": {"volumes": [{"fromContainer": "backup:ro"}]}},
        policy="container-no-sensitive-volume-binds",
        fragment="via volumesFrom 'backup'",
    ),
    Change(
        "c1-volumes-from-chain",
        {
            "ollama-pull": {"volumes": [{"fromContainer": "docker-socket-proxy"}]},
            "litellm": {"volumes": [{"fromContainer": "ollama-pull"}]},
        },
        policy="container-no-sensitive-volume-binds",
        reported="litellm",
        fragment="via volumesFrom 'ollama-pull' (volumesFrom 'docker-socket-proxy'",
    ),
    Change(
        "c1-volumes-from-outside",
        {"litellm": {"volumes": [{"fromContainer": "portainer"}]}},
        policy="container-no-sensitive-volume-binds",
        fragment="takes every mount of 'portainer' (`volumesFrom`)",
    ),
    Change(
        "c1-volumes-from-socket-reaches-network",
        {"open-webui": {"volumes": [{"fromContainer": "docker-socket-proxy"}]}},
        policy="docker-socket-isolated",
        fragment="container 'open-webui' mounts the Docker socket and is routed",
    ),
    Change(
        "c1-service-socket",
        add=(
            New(
                SERVICE,
                "svc",
                service(containerSpec={"mounts": [{"type": "bind", "source": SOCK, "target": SOCK, "readOnly": True}]}),
            ),
        ),
        policy="container-no-sensitive-mounts",
        fragment="container 'svc' mounts the Docker socket",
    ),
]
C1 += [
    Change(
        "c1-inline-bind-relative-to-dockerd",
        {"litellm": {"mounts": volume_mount({"type": "none", "o": "bind", "device": "etc/ssl"})}},
        policy="container-no-sensitive-mounts",
        fragment="sensitive host path /etc/ssl (under /etc)",
    ),
]
C1_OK = [
    Change("c1-ok-named-volume", {"litellm": {"volumes": [{"volumeName": "litellm-cache", "containerPath": "/c"}]}}),
    Change(
        "c1-ok-volume-name-outside-system-paths",
        {"litellm": {"volumes": [{"volumeName": "/opt/ai/litellm", "containerPath": "/c"}]}},
    ),
    Change(
        "c1-ok-host-path-wins-over-volume-name",
        {"litellm": {"volumes": [{"hostPath": "/opt/ai/cache", "volumeName": "/etc", "containerPath": "/c"}]}},
    ),
    Change(
        "c1-ok-inline-tmpfs",
        {"litellm": {"mounts": volume_mount({"type": "tmpfs", "device": "tmpfs", "o": "size=64m"})}},
    ),
    Change(
        "c1-ok-inline-nfs",
        {"litellm": {"mounts": volume_mount({"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/exports/ai"})}},
    ),
    Change(
        "c1-ok-inline-bind-outside",
        {"litellm": {"mounts": volume_mount({"type": "none", "o": "bind", "device": "/opt/ai/litellm"})}},
    ),
    # Refused by the daemon (an unknown key; `type` without `device`): nothing is mounted.
    Change(
        "c1-ok-inline-refused-key",
        {"litellm": {"mounts": volume_mount({"type": "ext4", "device": "/dev/sda1", "mountpoint": "/x"})}},
    ),
    Change("c1-ok-inline-type-without-device", {"litellm": {"mounts": volume_mount({"type": "ext4"})}}),
    Change("c1-ok-tmpfs-mount", {"litellm": {"mounts": [{"type": "tmpfs", "target": "/tmp"}]}}),
    Change(
        "c1-ok-volume-cifs",
        {"open-webui-data": {"driverOpts": {"type": "cifs", "device": "//nas/share", "o": "addr=10.0.0.9"}}},
    ),
    Change(
        "c1-ok-volumes-from-a-plain-container",
        {
            "ollama-pull": {
                "volumes": [{"fromContainer": "ollama"}],
                "networksAdvanced": [{"name": "ai-stack-internal"}],
            }
        },
        policy="container-no-sensitive-volume-binds",
    ),
]

# -- class 2: joining another container's namespaces ------------------------------------------------

C2 = [
    Change(
        "c2-datastore-joins-routed-app",
        {"postgres": {"networkMode": "container:open-webui", "networksAdvanced": None}},
        policy="routed-network-members-routed",
        fragment="lives in the network namespace of the routed container 'open-webui'",
    ),
    Change(
        "c2-ollama-joins-router",
        {"ollama": {"networkMode": "container:traefik", "networksAdvanced": None}},
        policy="routed-network-members-routed",
        fragment="routed container 'traefik'",
    ),
    Change(
        "c2-proxy-joins-router",
        {"docker-socket-proxy": {"networkMode": "container:traefik", "networksAdvanced": None}},
        policy="docker-socket-isolated",
        fragment="shares its network namespace with traefik",
    ),
    Change(
        "c2-app-joins-proxy",
        {"open-webui": {"networkMode": "container:docker-socket-proxy", "networksAdvanced": None}},
        policy="docker-socket-isolated",
        reported="docker-socket-proxy",
        fragment="'docker-socket-proxy' mounts the Docker socket and shares its network namespace with open-webui",
    ),
    Change(
        "c2-proxy-joins-by-pulumi-name",
        {"docker-socket-proxy": {"networkMode": "container:open-webui", "networksAdvanced": None}},
        policy="docker-socket-isolated",
        fragment="shares network 'proxy' with routed container(s) litellm",
    ),
    Change(
        "c2-scheduler-joins-router",
        {"backup": {"networkMode": "container:traefik"}},
        policy="docker-socket-isolated",
        fragment="container 'backup' mounts the Docker socket and its network namespace publishes ports",
    ),
    Change(
        "c2-join-outside-stack",
        {"postgres": {"networkMode": "container:3f2a9c", "networksAdvanced": None}},
        policy="routed-network-members-routed",
        fragment="joins the network namespace of '3f2a9c'",
    ),
    Change(
        "c2-pid-join-proxy",
        {"litellm": {"pidMode": "container:docker-socket-proxy"}},
        policy="container-no-namespace-joins",
        fragment="joins the PID namespace of container 'docker-socket-proxy'",
    ),
    Change(
        "c2-ipc-join",
        {"open-webui": {"ipcMode": "container:postgres"}},
        policy="container-no-namespace-joins",
        fragment="joins the IPC namespace of container 'postgres'",
    ),
    Change(
        "c2-datastore-published-through-join",
        {
            "open-webui": {"ports": [{"internal": 5432, "external": 15432, "ip": "127.0.0.1"}]},
            "postgres": {"networkMode": "container:open-webui", "networksAdvanced": None},
        },
        policy="container-no-published-datastore-resolved",
        reported="postgres",
        fragment="publishes its postgres port to the host through the network namespace of 'open-webui'",
    ),
]
C2_OK = [
    Change(
        "c2-ok-sidecar-joins-datastore",
        add=(
            New(
                "docker:index/container:Container",
                "pg-exporter",
                {
                    "name": "pg-exporter",
                    "image": SHA,
                    "networkMode": "container:postgres",
                    "memory": 64,
                    "cpus": "0.1",
                    "restart": "unless-stopped",
                    "capabilities": {"drops": ["ALL"]},
                    "securityOpts": [NNP],
                    "healthcheck": {"tests": ["CMD", "true"]},
                    "logOpts": {"max-size": "10m", "max-file": "3"},
                },
            ),
        ),
    ),
    Change(
        "c2-ok-pid-join-reviewed",
        {"litellm": {"pidMode": "container:ollama"}},
        config={"container-no-namespace-joins": {"allowedNamespaceJoins": {"litellm": ["ollama"]}}},
    ),
    Change(
        "c2-ok-ipc-private",
        {"litellm": {"ipcMode": "private", "pidMode": "", "networkMode": "bridge"}},
        policy="container-no-host-namespaces",
    ),
]

# -- class 3: confinement switched off inline ------------------------------------------------------

C3 = [
    Change(
        "c3-seccomp-allow-all",
        {"litellm": {"securityOpts": seccomp('{"defaultAction":"SCMP_ACT_ALLOW"}')}},
        policy="container-security-profiles-enabled",
        fragment="defaultAction SCMP_ACT_ALLOW lets every syscall through",
    ),
    Change(
        "c3-seccomp-empty-profile",
        {"litellm": {"securityOpts": seccomp("{}")}},
        policy="container-security-profiles-enabled",
        fragment="no defaultAction and no syscalls",
    ),
    Change(
        "c3-seccomp-log-any-case",
        {"litellm": {"securityOpts": seccomp('{"DefaultAction": "SCMP_ACT_LOG", "SYSCALLS": []}')}},
        policy="container-security-profiles-enabled",
        fragment="SCMP_ACT_LOG lets every syscall through",
    ),
    Change(
        "c3-seccomp-colon-form",
        {"litellm": {"securityOpts": [NNP, 'seccomp:{"defaultAction":"SCMP_ACT_ALLOW"}']}},
        policy="container-security-profiles-enabled",
        fragment="`seccomp=<inline JSON profile>`",
    ),
    Change(
        "c3-seccomp-allows-escapes",
        {
            "litellm": {
                "securityOpts": seccomp(
                    '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","mount","unshare"],'
                    '"action":"SCMP_ACT_ALLOW"}]}'
                )
            }
        },
        policy="container-security-profiles-enabled",
        fragment="allows mount, unshare",
    ),
    Change(
        "c3-seccomp-last-wins",
        {"litellm": {"securityOpts": [NNP, "seccomp=unconfined", "seccomp={}"]}},
        policy="container-security-profiles-enabled",
        fragment="no defaultAction",
    ),
    Change(
        "c3-cgroup-all-devices",
        {"litellm": {"deviceCgroupRules": ["a *:* rwm"]}},
        policy="container-no-host-devices",
        fragment="every device of the host",
    ),
    Change(
        "c3-cgroup-all-char",
        {"open-webui": {"deviceCgroupRules": ["c *:* rw"]}},
        policy="container-no-host-devices",
        fragment="every character device of the host",
    ),
    Change(
        "c3-cgroup-all-block",
        {"postgres": {"deviceCgroupRules": ["b *:* r"]}},
        policy="container-no-host-devices",
        fragment="every block device of the host",
    ),
    Change(
        "c3-cgroup-disks",
        {"postgres": {"deviceCgroupRules": ["b 8:* rw"]}},
        policy="container-no-host-devices",
        fragment="block devices of major 8",
    ),
    Change(
        "c3-cgroup-dev-mem",
        {"ollama": {"deviceCgroupRules": ["c 1:1 r"]}},
        policy="container-no-host-devices",
        fragment="memory devices",
    ),
    Change(
        "c3-service-selinux-off",
        add=(New(SERVICE, "svc", service(containerSpec={"privileges": {"seLinuxContext": {"disable": True}}})),),
        policy="container-security-profiles-enabled",
        fragment="switches off SELinux confinement",
    ),
]
C3_OK = [
    Change(
        "c3-ok-strict-profile",
        {
            "litellm": {
                "securityOpts": seccomp(
                    '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}'
                )
            }
        },
    ),
    Change(
        "c3-ok-allow-list-blocks-escapes",
        {
            "litellm": {
                "securityOpts": seccomp(
                    '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["add_key","bpf","delete_module","finit_module",'
                    '"fsconfig","fsmount","fsopen","init_module","kexec_file_load","kexec_load","keyctl","mount","move_mount",'
                    '"open_by_handle_at","open_tree","perf_event_open","pivot_root","process_vm_readv","process_vm_writev",'
                    '"ptrace","reboot","request_key","setns","swapoff","swapon","umount2","unshare","userfaultfd"],'
                    '"action":"SCMP_ACT_ERRNO"}]}'
                )
            }
        },
    ),
    Change(
        "c3-ok-conditional-ptrace",
        {
            "litellm": {
                "securityOpts": seccomp(
                    '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ALLOW",'
                    '"includes":{"caps":["CAP_SYS_PTRACE"]}}]}'
                )
            }
        },
    ),
    Change("c3-ok-not-json", {"litellm": {"securityOpts": [NNP, "seccomp=/etc/docker/strict.json"]}}),
    Change("c3-ok-cgroup-mknod-only", {"litellm": {"deviceCgroupRules": ["c *:* m", "b *:* m"]}}),
    Change("c3-ok-cgroup-one-device", {"litellm": {"deviceCgroupRules": ["c 10:200 rwm"]}}),
    Change("c3-ok-cgroup-refused-syntax", {"litellm": {"deviceCgroupRules": ["all"]}}),
]

# -- class 4: healthchecks that never run ----------------------------------------------------------

C4 = [
    Change(
        "c4-lower-case-cmd",
        {"litellm": {"healthcheck": {"tests": ["cmd", "true"], "interval": "10s"}}},
        policy="container-healthcheck-required",
        fragment="its first word 'cmd'",
    ),
    Change(
        "c4-bare-command",
        {"open-webui": {"healthcheck": {"tests": ["curl", "-f", "http://127.0.0.1:8080/health"]}}},
        policy="container-healthcheck-required",
        fragment="its first word 'curl'",
    ),
    Change(
        "c4-cmd-shell-lower",
        {"postgres": {"healthcheck": {"tests": ["Cmd-Shell", "pg_isready"]}}},
        policy="container-healthcheck-required",
        fragment="'Cmd-Shell'",
    ),
    Change(
        "c4-leading-space",
        {"ollama": {"healthcheck": {"tests": [" CMD", "ollama", "list"]}}},
        policy="container-healthcheck-required",
        fragment="' CMD'",
    ),
    Change(
        "c4-none-lower",
        {"litellm": {"healthcheck": {"tests": ["none"]}}},
        policy="container-healthcheck-required",
        fragment="its first word 'none'",
    ),
    Change(
        "c4-cmd-alone",
        {"litellm": {"healthcheck": {"tests": ["CMD"]}}},
        policy="container-healthcheck-required",
        fragment="no command after 'CMD'",
    ),
    Change(
        "c4-service-bad-probe",
        add=(
            New(SERVICE, "svc", service(containerSpec={"healthcheck": {"tests": ["wget", "-q", "http://localhost/"]}})),
        ),
        policy="container-healthcheck-required",
        fragment="container 'svc' has a healthcheck Docker never runs",
    ),
]
C4_OK = [
    Change(
        "c4-ok-cmd-shell",
        {"litellm": {"healthcheck": {"tests": ["CMD-SHELL", "curl -f http://127.0.0.1:4000/ || exit 1"]}}},
    ),
    Change("c4-ok-cmd", {"litellm": {"healthcheck": {"tests": ["CMD", "true"], "interval": "30s"}}}),
]
