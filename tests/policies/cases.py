"""Mutation cases: one change to the prod baseline per violation, for every rule in the catalog.

A case names the resource it changes (docker name for containers and volumes, Pulumi name
for images) and the policy, level and message fragment the change must produce.
`test_rules.test_mutation_is_reported` runs every case, after checking the unchanged
baseline does not already report that policy; `test_every_rule_has_a_mutation_case`
checks the cases cover the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class Case:
    id: str
    target: str
    changes: dict[str, Any]
    policy: str
    level: str
    fragment: str
    config: dict[str, Any] = field(default_factory=dict)
    """Policy config layered on prod.json for this case."""
    stack: bool = False
    """Checked by AnalyzeStack over the whole stack, instead of Analyze on the target."""
    protect: bool | None = None
    """The target's protect option, when the case changes it."""
    on_target: bool = True
    """The violation names the target's URN (else the stack as a whole: no URN)."""
    reported: str = ""
    """The resource whose URN the violation names, when not the target (a volume's container)."""
    also: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Changes to other resources of the stack (stack cases), by name."""


NNP = "no-new-privileges:true"
BIND = {"type": "none", "o": "bind"}
ENABLED = [{"label": "traefik.enable", "value": "true"}, {"label": "traefik.docker.network", "value": "proxy"}]

# Issue 14: host devices only where the stack declares them (the AMD GPU's files on Ollama).
AMD_DEVICES = {"allowedDevices": {"ollama": ["/dev/kfd", "/dev/dri"]}}
DEVICE_CASES: list[Case] = [
    Case(
        "host-device",
        "litellm",
        {"devices": [{"hostPath": "/dev/kfd"}]},
        "container-no-host-devices",
        "mandatory",
        "(/dev/kfd; declared: none)",
    ),
    # prod's GPU is NVIDIA (deviceRequests): nothing is declared, so not even Ollama gets a device.
    Case(
        "ollama-device-undeclared",
        "ollama",
        {"devices": [{"hostPath": "/dev/kfd", "containerPath": "/dev/kfd", "permissions": "rwm"}]},
        "container-no-host-devices",
        "mandatory",
        "(/dev/kfd; declared: none)",
    ),
    Case(
        "device-beyond-declared",
        "ollama",
        {"devices": [{"hostPath": "/dev/kfd"}, {"hostPath": "/dev/dri"}, {"hostPath": "/dev/sda"}]},
        "container-no-host-devices",
        "mandatory",
        "(/dev/sda; declared: /dev/dri, /dev/kfd)",
        config={"container-no-host-devices": AMD_DEVICES},
    ),
    Case(
        "declared-device-elsewhere",
        "open-webui",
        {"devices": [{"hostPath": "/dev/dri"}]},
        "container-no-host-devices",
        "mandatory",
        "(/dev/dri; declared: none)",
        config={"container-no-host-devices": AMD_DEVICES},
    ),
    Case(
        "device-dotdot",
        "ollama",
        {"devices": [{"hostPath": "/dev/dri/../mem"}]},
        "container-no-host-devices",
        "mandatory",
        "/dev/dri/../mem (= /dev/mem)",
        config={"container-no-host-devices": AMD_DEVICES},
    ),
    Case(
        "device-whole-dev",
        "ollama",
        {"devices": [{"hostPath": "/dev"}]},
        "container-no-host-devices",
        "mandatory",
        "(/dev; declared: /dev/dri, /dev/kfd)",
        config={"container-no-host-devices": AMD_DEVICES},
    ),
]

# Issue 16: the forms the rules did not know.
HOLE_CASES: list[Case] = [
    *[
        Case(
            f"unconfined-{i}",
            "litellm",
            {"securityOpts": [NNP, opt]},
            "container-security-profiles-enabled",
            "mandatory",
            f"switches off {what} (`{opt}`)",
        )
        for i, (opt, what) in enumerate(
            [
                ("seccomp:unconfined", "the seccomp profile"),
                ("apparmor=unconfined", "the AppArmor profile"),
                ("apparmor:unconfined", "the AppArmor profile"),
                ("label=type:spc_t", "SELinux confinement"),
                ("label:type:spc_t", "SELinux confinement"),
                ("label=type:unconfined_t", "SELinux confinement"),
                ("label=disable", "SELinux confinement"),
                ("disable", "SELinux confinement"),
                ("systempaths=unconfined", "the masked and read-only /proc and /sys paths"),
                ("writable-cgroups=true", "the read-only cgroup filesystem"),
                ("writable-cgroups", "the read-only cgroup filesystem"),
            ]
        )
    ],
    Case(
        "seccomp-last-wins",
        "litellm",
        {"securityOpts": [NNP, "seccomp=/etc/docker/custom.json", "seccomp=unconfined"]},
        "container-security-profiles-enabled",
        "mandatory",
        "switches off the seccomp profile (`seccomp=unconfined`)",
    ),
    Case(
        "nnp-false",
        "litellm",
        {"securityOpts": ["no-new-privileges=false"]},
        "container-no-new-privileges",
        "advisory",
        "does not set no-new-privileges",
    ),
    Case(
        "nnp-overridden",
        "litellm",
        {"securityOpts": [NNP, "no-new-privileges=0"]},
        "container-no-new-privileges",
        "advisory",
        "does not set no-new-privileges",
    ),
    Case(
        "etc-dotdot",
        "postgres",
        {"mounts": [{"type": "bind", "source": "/srv/../etc/ssl", "target": "/ssl", "readOnly": True}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "sensitive host path /srv/../etc/ssl (under /etc)",
    ),
    Case(
        "container-port-80",
        "open-webui",
        # Every container drops ALL; this one keeps Docker's default set again.
        {"ports": [{"internal": 80, "external": 8080, "ip": "127.0.0.1"}], "capabilities": {"drops": ["NET_RAW"]}},
        "container-no-privileged-ports",
        "advisory",
        "listens on privileged container port 80 (127.0.0.1:8080->80) and keeps NET_BIND_SERVICE",
    ),
    Case(
        "router-binds-80-inside",
        "traefik",
        {
            "ports": [{"internal": 80, "external": 80}, {"internal": 443, "external": 443}],
            "capabilities": {"drops": ["ALL"], "adds": ["NET_BIND_SERVICE"]},
        },
        "container-no-privileged-ports",
        "advisory",
        "listens on privileged container port 443",
    ),
    Case(
        "container-port-random-host",
        "litellm",
        {"ports": [{"internal": 22, "ip": "127.0.0.1"}], "capabilities": {"drops": ["NET_RAW"]}},
        "container-no-privileged-ports",
        "advisory",
        "privileged container port 22 (127.0.0.1:random->22)",
    ),
]

CONTAINER_CASES: list[Case] = [
    Case("no-memory", "litellm", {"memory": None}, "container-resource-limits", "mandatory", "no memory limit"),
    Case("zero-memory", "litellm", {"memory": 0}, "container-resource-limits", "mandatory", "no memory limit"),
    Case("no-cpu", "litellm", {"cpus": None}, "container-resource-limits", "mandatory", "no CPU limit"),
    Case(
        "over-max",
        "litellm",
        {"memory": 999999, "memorySwap": 999999},
        "container-resource-limits",
        "mandatory",
        "exceeds the maximum 65536 MB",
        config={"container-resource-limits": {"maxMemoryMb": 65536}},
    ),
    Case("privileged", "postgres", {"privileged": True}, "container-no-privileged", "mandatory", "runs privileged"),
    Case(
        "host-network",
        "litellm",
        {"networkMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`networkMode: host`",
    ),
    Case("host-pid", "litellm", {"pidMode": "host"}, "container-no-host-namespaces", "mandatory", "`pidMode: host`"),
    Case("host-ipc", "litellm", {"ipcMode": "host"}, "container-no-host-namespaces", "mandatory", "`ipcMode: host`"),
    Case(
        "host-userns",
        "litellm",
        {"usernsMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`usernsMode: host`",
    ),
    Case(
        "host-cgroupns",
        "litellm",
        {"cgroupnsMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`cgroupnsMode: host`",
    ),
    Case(
        "seccomp-off",
        "litellm",
        {"securityOpts": ["no-new-privileges:true", "seccomp=unconfined"]},
        "container-security-profiles-enabled",
        "mandatory",
        "seccomp=unconfined",
    ),
    Case(
        "selinux-off",
        "litellm",
        {"securityOpts": ["no-new-privileges:true", "label:disable"]},
        "container-security-profiles-enabled",
        "mandatory",
        "label:disable",
    ),
    Case(
        "socket-in-app",
        "open-webui",
        {"volumes": [{"hostPath": SOCKET, "containerPath": SOCKET, "readOnly": True}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "mounts the Docker socket",
    ),
    Case(
        "socket-rw-proxy",
        "docker-socket-proxy",
        {"volumes": [{"hostPath": SOCKET, "containerPath": SOCKET}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "writable",
    ),
    Case(
        "socket-back-in-router",
        "traefik",
        {"volumes": [{"hostPath": SOCKET, "containerPath": SOCKET, "readOnly": True}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "read it through the socket proxy",
    ),
    Case(
        "socket-via-mounts",
        "litellm",
        {"mounts": [{"type": "bind", "source": "/run/docker.sock", "target": "/s"}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "Docker socket",
    ),
    Case(
        "etc-mount",
        "postgres",
        {"volumes": [{"hostPath": "/etc", "containerPath": "/host-etc", "readOnly": True}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "sensitive host path /etc",
    ),
    Case(
        "root-mount",
        "postgres",
        {"mounts": [{"type": "bind", "source": "/", "target": "/host"}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "sensitive host path /",
    ),
    Case(
        "shared-propagation",
        "postgres",
        {"mounts": [{"type": "bind", "source": "/srv/x", "target": "/x", "bindOptions": {"propagation": "rshared"}}]},
        "container-mount-propagation-private",
        "mandatory",
        "`rshared` propagation",
    ),
    Case(
        "no-healthcheck",
        "litellm",
        {"healthcheck": None},
        "container-healthcheck-required",
        "mandatory",
        "no healthcheck",
    ),
    Case(
        "healthcheck-none",
        "litellm",
        {"healthcheck": {"tests": ["NONE"]}},
        "container-healthcheck-required",
        "mandatory",
        "no healthcheck",
    ),
    Case("restart-no", "litellm", {"restart": "no"}, "container-restart-policy", "mandatory", "no restart policy"),
    Case("restart-absent", "litellm", {"restart": None}, "container-restart-policy", "mandatory", "no restart policy"),
    Case(
        "on-failure-unbounded",
        "litellm",
        {"restart": "on-failure"},
        "container-restart-policy",
        "mandatory",
        "between 1 and 5",
    ),
    Case(
        "pull-must-run", "ollama-pull", {"mustRun": True}, "container-restart-policy", "mandatory", "no restart policy"
    ),
    Case(
        "gpu-on-webui",
        "open-webui",
        {"deviceRequests": [{"driver": "nvidia", "count": 1}]},
        "container-gpu-allow-list",
        "mandatory",
        "requests a GPU",
    ),
    Case("gpus-string", "litellm", {"gpus": "all"}, "container-gpu-allow-list", "mandatory", "requests a GPU"),
    Case(
        "postgres-published",
        "postgres",
        {"ports": [{"internal": 5432, "external": 5432, "ip": "127.0.0.1"}]},
        "container-no-published-datastore",
        "mandatory",
        "publishes its postgres port",
    ),
    Case(
        "ollama-random-port",
        "ollama",
        {"ports": [{"internal": 11434, "ip": "10.0.0.5"}]},
        "container-no-published-datastore",
        "mandatory",
        "publishes its ollama port",
    ),
    Case(
        "all-interfaces",
        "open-webui",
        {"ports": [{"internal": 8080, "external": 8080}]},
        "container-ports-bound-to-interface",
        "mandatory",
        "0.0.0.0:8080->8080 on all host interfaces",
    ),
    Case(
        "ipv6-any",
        "open-webui",
        {"ports": [{"internal": 8080, "external": 8080, "ip": "::"}]},
        "container-ports-bound-to-interface",
        "mandatory",
        "on all host interfaces",
    ),
    Case(
        "router-extra-port",
        "traefik",
        {"ports": [{"internal": 8080, "external": 8080, "ip": "0.0.0.0"}]},
        "container-ports-bound-to-interface",
        "mandatory",
        "8080",
    ),
    Case(
        "publish-all",
        "open-webui",
        {"publishAllPorts": True},
        "container-ports-bound-to-interface",
        "mandatory",
        "publishAllPorts",
    ),
    # traefik-routes-tls-only is a stack rule: entry points are judged by Traefik's static config.
    Case(
        "no-tls-entrypoint",
        "open-webui",
        {
            "labels": [
                *ENABLED,
                {"label": "traefik.http.routers.open-webui.entrypoints", "value": "web,websecure"},
                {"label": "traefik.http.routers.open-webui.tls.certresolver", "value": "le"},
            ]
        },
        "traefik-routes-tls-only",
        "mandatory",
        "router 'open-webui' listens on web",
        stack=True,
    ),
    Case(
        "no-entrypoints",
        "litellm",
        {
            "labels": [
                *ENABLED,
                {"label": "traefik.http.routers.api.rule", "value": "Host(`x`)"},
                {"label": "traefik.http.routers.api.tls.certresolver", "value": "le"},
            ]
        },
        "traefik-routes-tls-only",
        "mandatory",
        "names no entry point, so it listens on metrics, web, web-v6",  # metrics: issue 24's entrypoint
        stack=True,
    ),
    Case(
        "no-certresolver",
        "litellm",
        {
            "labels": [
                *ENABLED,
                {"label": "traefik.http.routers.api.entrypoints", "value": "websecure"},
                {"label": "traefik.http.routers.api.tls", "value": "true"},
            ]
        },
        "traefik-routes-tls-only",
        "mandatory",
        "without a certificate resolver",
        stack=True,
    ),
    Case(
        "no-tls",
        "litellm",
        {"labels": [*ENABLED, {"label": "traefik.http.routers.api.entrypoints", "value": "web"}]},
        "traefik-routes-tls-only",
        "mandatory",
        "has no TLS",
        stack=True,
    ),
    Case("image-no-tag", "postgres", {"image": "postgres"}, "image-tag-pinned", "mandatory", "has no tag"),
    Case(
        "image-main",
        "open-webui",
        {"image": "ghcr.io/open-webui/open-webui:main"},
        "image-tag-pinned",
        "mandatory",
        "floating tag 'main'",
    ),
    Case(
        "image-main-stable",
        "litellm",
        {"image": "ghcr.io/berriai/litellm:main-stable"},
        "image-tag-pinned",
        "mandatory",
        "floating tag 'main-stable'",
    ),
    Case(
        "image-registry-port",
        "postgres",
        {"image": "registry.local:5000/postgres"},
        "image-tag-pinned",
        "mandatory",
        "has no tag",
    ),
    Case(
        "plaintext-key",
        "litellm",
        {"envs": ["LITELLM_MASTER_KEY=sk-plain-123"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env LITELLM_MASTER_KEY is set in plaintext",
    ),
    Case(
        "plaintext-token",
        "open-webui",
        {"envs": ["HF_TOKEN=hf_plain"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env HF_TOKEN",
    ),
    Case(
        "plaintext-db-url",
        "litellm",
        {"envs": ["DATABASE_URL=postgresql://litellm:pw-plain@postgres:5432/db"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env DATABASE_URL holds a URL with an embedded password",
    ),
    Case(
        "plaintext-any-url",
        "open-webui",
        {"envs": ["REDIS_URI=redis://default:pw-plain@redis:6379"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env REDIS_URI holds a URL",
    ),
    Case("no-nnp", "litellm", {"securityOpts": None}, "container-no-new-privileges", "advisory", "no-new-privileges"),
    Case(
        "caps-kept",
        "traefik",
        {"capabilities": None},
        "container-capabilities-dropped",
        "mandatory",
        "keeps Docker's default capabilities",
    ),
    Case(
        "caps-some-dropped",
        "traefik",
        {"capabilities": {"drops": ["NET_RAW"]}},
        "container-capabilities-dropped",
        "mandatory",
        "does not drop ALL capabilities",
    ),
    Case(
        "caps-added",
        "traefik",
        {"capabilities": {"drops": ["ALL"], "adds": ["SYS_ADMIN"]}},
        "container-capabilities-dropped",
        "mandatory",
        "adds capabilities ['SYS_ADMIN']",
    ),
    Case("rootfs-writable", "traefik", {"readOnly": None}, "container-read-only-rootfs", "advisory", "writable root"),
    Case("no-log-rotation", "litellm", {"logOpts": None}, "container-log-rotation", "advisory", "without rotation"),
    Case(
        "local-no-rotation",
        "litellm",
        {"logDriver": "local", "logOpts": {"max-size": "10m"}},
        "container-log-rotation",
        "advisory",
        "local without rotation",
    ),
    Case(
        "reservation-over-limit",
        "litellm",
        {"memoryReservation": 999999},
        "container-memory-settings",
        "advisory",
        "memoryReservation 999999 MB is above the limit",
    ),
    Case("swap-unlimited", "litellm", {"memorySwap": -1}, "container-memory-settings", "advisory", "memorySwap -1"),
    *DEVICE_CASES,
    Case("cgroup-parent", "litellm", {"cgroupParent": "/custom"}, "container-default-cgroup", "advisory", "/custom"),
    Case(
        "privileged-port",
        "open-webui",
        {"ports": [{"internal": 8080, "external": 80, "ip": "127.0.0.1"}]},
        "container-no-privileged-ports",
        "advisory",
        "privileged host port 80",
    ),
    *HOLE_CASES,
]

OTHER_RESOURCE_CASES: list[Case] = [
    Case(
        "volume-binds-var",
        "postgres-data",
        {"driver": "local", "driverOpts": {**BIND, "device": "/var/lib/pgdata"}},
        "container-no-sensitive-mounts",
        "mandatory",
        "volume 'postgres-data' binds the sensitive host path /var/lib/pgdata (under /var) via its driver options "
        "(local driver, o=bind, device)",
    ),
    Case(
        "volume-mountpoint",
        "ollama-models",
        {"driver": "local-persist", "driverOpts": {"mountpoint": "/home/ai/models"}},
        "container-no-sensitive-mounts",
        "mandatory",
        "binds the sensitive host path /home/ai/models (under /home) via its driver options (local-persist driver",
    ),
    Case(
        "volume-binds-socket",
        "traefik-certs",
        {"driverOpts": {"type": "none", "o": "ro,rbind", "device": "/run/docker.sock"}},
        "container-no-sensitive-mounts",
        "mandatory",
        "volume 'traefik-certs' binds the Docker socket (/run/docker.sock)",
    ),
    Case("volume-unprotected", "postgres-data", {}, "volume-protected", "mandatory", "is not protected", protect=False),
    Case(
        "remote-image-latest",
        "ollama-image",
        {"name": "ollama/ollama:latest"},
        "image-tag-pinned",
        "mandatory",
        "floating tag 'latest'",
    ),
]

PROXY_NETS = [{"name": "ai-stack-socket", "aliases": ["docker-socket-proxy"]}]
STACK_CASES: list[Case] = [
    Case(
        "socket-proxy-published",
        "docker-socket-proxy",
        {"ports": [{"internal": 2375, "external": 2375, "ip": "127.0.0.1"}]},
        "docker-socket-isolated",
        "mandatory",
        "container 'docker-socket-proxy' mounts the Docker socket and its network namespace publishes ports",
        stack=True,
    ),
    Case(
        "socket-proxy-on-routed-network",
        "docker-socket-proxy",
        {"networksAdvanced": [*PROXY_NETS, {"name": "proxy", "aliases": ["docker-socket-proxy"]}]},
        "docker-socket-isolated",
        "mandatory",
        "shares network 'proxy' with routed container(s) litellm, open-webui",
        stack=True,
    ),
    Case(
        "socket-proxy-beside-a-backend",
        "docker-socket-proxy",
        {
            "networksAdvanced": [*PROXY_NETS, {"name": "ai-stack-internal", "aliases": ["docker-socket-proxy"]}],
        },
        "docker-socket-isolated",
        "mandatory",
        "shares network 'ai-stack-internal' with routed container(s) litellm, open-webui",
        stack=True,
    ),
    Case(
        "socket-in-router",
        "traefik",
        {
            "volumes": [
                {"hostPath": SOCKET, "containerPath": SOCKET, "readOnly": True},
                {"volumeName": "traefik-certs", "containerPath": "/letsencrypt"},
            ]
        },
        "docker-socket-isolated",
        "mandatory",
        "container 'traefik' mounts the Docker socket and is routed or is the router",
        stack=True,
    ),
    Case(
        "ollama-on-routed-network",
        "ollama",
        {
            "networksAdvanced": [
                {"name": "ai-stack-internal", "aliases": ["ollama"]},
                {"name": "proxy", "aliases": ["ollama"]},
            ]
        },
        "routed-network-members-routed",
        "mandatory",
        "container 'ollama' is on the routed network 'proxy' but is not routed",
        stack=True,
    ),
    Case(
        "postgres-on-routed-network",
        "postgres",
        {"networksAdvanced": [{"name": "proxy", "aliases": ["postgres"]}]},
        "routed-network-members-routed",
        "mandatory",
        "container 'postgres' is on the routed network 'proxy'",
        stack=True,
    ),
    Case(
        "litellm-unrouted-on-routed-network",
        "litellm",
        {"labels": None},
        "routed-network-members-routed",
        "mandatory",
        "container 'litellm' is on the routed network 'proxy'",
        stack=True,
    ),
    Case(
        "memory-overcommit",
        "ollama",
        {"memory": 131072, "memorySwap": 131072},
        "stack-host-capacity",
        "mandatory",
        "above the host's 131072 MB x headroom 1 = 131072 MB",
        stack=True,
        on_target=False,
    ),
    Case(
        "cpu-overcommit",
        "ollama",
        {"cpus": "32"},
        "stack-host-capacity",
        "mandatory",
        "CPUs of limits, above the host's 32 CPUs",
        stack=True,
        on_target=False,
    ),
    Case(
        "unbounded-memory",
        "postgres",
        {"memory": None},
        "stack-host-capacity",
        "mandatory",
        "container 'postgres' has no literal memory limit",
        stack=True,
    ),
    Case(
        "unbounded-cpu",
        "postgres",
        {"cpus": None},
        "stack-host-capacity",
        "mandatory",
        "container 'postgres' has no literal CPU limit",
        stack=True,
    ),
    Case(
        "gpus-over-host",
        "ollama",
        {"deviceRequests": [{"driver": "nvidia", "count": 4, "capabilities": ["gpu"]}]},
        "stack-host-capacity",
        "mandatory",
        "container 'ollama' requests 4 GPU(s) but the host has 2",
        stack=True,
    ),
    Case(
        "shared-volume",
        "ollama-pull",
        {"volumes": [{"volumeName": "ollama-models", "containerPath": "/root/.ollama"}]},
        "volumes-not-shared",
        "advisory",
        "volume 'ollama-models' is mounted by several containers (ollama, ollama-pull)",
        stack=True,
        on_target=False,
    ),
]

STACK_CASES += [
    Case(
        "container-via-bind-volume",
        "postgres-data",
        {"driverOpts": {**BIND, "device": "/var/lib/pgdata"}},
        "container-no-sensitive-volume-binds",
        "mandatory",
        "container 'postgres' mounts the sensitive host path /var/lib/pgdata (under /var) via volume "
        "'postgres-data' (local driver, o=bind, device)",
        stack=True,
        reported="postgres",
    ),
    Case(
        "router-socket-via-volume",
        "traefik-certs",
        {"driver": "local-persist", "driverOpts": {"mountpoint": "/var/run/docker.sock"}},
        "container-no-sensitive-volume-binds",
        "mandatory",
        "container 'traefik' mounts the Docker socket (/var/run/docker.sock) via volume 'traefik-certs'",
        stack=True,
        reported="traefik",
    ),
    Case(
        "shared-host-dir",
        "litellm",
        {"volumes": [{"hostPath": "/srv/ai/data", "containerPath": "/data"}]},
        "volumes-not-shared",
        "advisory",
        "containers 'litellm' and 'open-webui' share a host directory: 'litellm' mounts /srv/ai/data via "
        "`volumes`, 'open-webui' mounts /srv/ai/data/uploads via `mounts`",
        stack=True,
        on_target=False,
        also={"open-webui": {"mounts": [{"type": "bind", "source": "/srv/ai/data/uploads/", "target": "/u"}]}},
    ),
    Case(
        "shared-host-dir-via-volume",
        "open-webui-data",
        {"driverOpts": {**BIND, "device": "/srv/ai/webui"}},
        "volumes-not-shared",
        "advisory",
        "'litellm' mounts /srv/ai/webui via `volumes`, 'open-webui' mounts /srv/ai/webui via volume 'open-webui-data'",
        stack=True,
        on_target=False,
        also={"litellm": {"volumes": [{"hostPath": "/srv/ai/webui", "containerPath": "/w", "readOnly": True}]}},
    ),
]

# Issue 24: host access only for the named exporters, which stay off the edge.
NODE_BINDS = [
    {"hostPath": "/proc", "containerPath": "/host/proc", "readOnly": True},
    {"hostPath": "/sys", "containerPath": "/host/sys", "readOnly": True},
    {"hostPath": "/", "containerPath": "/host/root", "readOnly": True},
]
EXPORTER_NETS = [{"name": "ai-stack-exporters", "aliases": ["node-exporter"]}]
STACK_CASES += [
    Case(
        "node-exporter-published",
        "node-exporter",
        {"ports": [{"internal": 9100, "external": 9100, "ip": "127.0.0.1"}]},
        "exporter-host-access-isolated",
        "mandatory",
        "exporter 'node-exporter' holds host access and publishes ports",
        stack=True,
    ),
    Case(
        "node-exporter-beside-the-router",
        "node-exporter",
        {"networksAdvanced": [*EXPORTER_NETS, {"name": "ai-stack-monitoring", "aliases": ["node-exporter"]}]},
        "exporter-host-access-isolated",
        "mandatory",
        "shares network 'ai-stack-monitoring' with routed container(s) or the router: litellm, traefik",
        stack=True,
    ),
    Case(
        "gpu-exporter-on-routed-network",
        "gpu-exporter",
        {"networksAdvanced": [{"name": "proxy", "aliases": ["gpu-exporter"]}]},
        "exporter-host-access-isolated",
        "mandatory",
        "exporter 'gpu-exporter' holds host access and shares network 'proxy' with routed container(s) or the "
        "router: litellm, open-webui, traefik",
        stack=True,
    ),
]
CONTAINER_CASES += [
    Case(
        "node-exporter-root-writable",
        "node-exporter",
        {"volumes": [*NODE_BINDS[:2], {"hostPath": "/", "containerPath": "/host/root", "readOnly": False}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "container 'node-exporter' mounts the sensitive host path / (under /)",
    ),
    Case(
        "node-exporter-extra-path",
        "node-exporter",
        {"volumes": [*NODE_BINDS, {"hostPath": "/etc", "containerPath": "/host/etc", "readOnly": True}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "container 'node-exporter' mounts the sensitive host path /etc (under /etc)",
    ),
    Case(
        "node-exporter-published-loses-its-paths",
        "node-exporter",
        {"ports": [{"internal": 9100, "external": 9100, "ip": "127.0.0.1"}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "container 'node-exporter' mounts the sensitive host path /proc (under /proc)",
    ),
    Case(
        "another-container-with-the-exporters-paths",
        "open-webui",
        {"volumes": [{"volumeName": "open-webui-data", "containerPath": "/app/backend/data"}, *NODE_BINDS]},
        "container-no-sensitive-mounts",
        "mandatory",
        "container 'open-webui' mounts the sensitive host path /proc (under /proc)",
    ),
    Case(
        "gpu-request-outside-the-exporter",
        "blackbox-exporter",
        {"deviceRequests": [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}]},
        "container-gpu-allow-list",
        "mandatory",
        "container 'blackbox-exporter' requests a GPU but is not in the GPU allow-list",
    ),
]
CASES: list[Case] = CONTAINER_CASES + OTHER_RESOURCE_CASES + STACK_CASES
