"""What each Docker host that runs Ollama exports: the host, its GPUs and Ollama's loaded models.

One component per host: stack/components/observe.py declares it for the main host and for each
inference host that runs Ollama, with that host's `DockerHost` (its provider, passed explicitly to
every resource, and the key its resource names start with). On an inference host the exporters
publish nothing either: Prometheus reaches them through the host's Ollama gate, with its token.

Least privilege, from each exporter's own documentation:
- node-exporter (prometheus/node_exporter README, "Docker"): upstream runs it with the host's
  network and PID namespaces and `/:/host:ro,rslave`. Here: no host namespace at all (network
  and process metrics are not collected), /proc, /sys and / bind-mounted read-only with private
  propagation, and only the collectors stack/render/exporters.py lists.
- NVIDIA dcgm-exporter (NVIDIA/dcgm-exporter README): `--gpus all`, plus `--cap-add SYS_ADMIN`
  only for the profiling (DCP) metrics. Here: the GPUs Ollama has, no capability, and a
  counters file without profiling fields.
- AMD device metrics exporter (ROCm/device-metrics-exporter docs/index.md): `--device=/dev/dri
  --device=/dev/kfd`. Here: exactly the device files and groups Ollama gets.
- json_exporter (prometheus-community/json_exporter) polling Ollama's /api/ps: no host access.
Each publishes nothing, and the two with host access share a network with Prometheus alone
(policies/rules/exporters.py). [Not run against the real images here.]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.components.ollama import device_requests
from stack.containers import DockerHost
from stack.render import exporters
from stack.render.prometheus import HostTargets
from stack.settings import Gpu, Limits

NODE_PORT = constants.MONITORING_PORTS[constants.NODE_EXPORTER]
JSON_PORT = constants.MONITORING_PORTS[constants.OLLAMA_EXPORTER]
DCGM_COUNTERS = "/etc/dcgm-exporter/ai-stack.csv"
JSON_CONFIG = "/etc/json_exporter/config.yml"

# Fields of NVIDIA/dcgm-exporter etc/default-counters.csv, DEV fields only (no DCGM_FI_PROF_*,
# which need SYS_ADMIN): temperature, utilisation, memory, power, XID errors.
DCGM_FIELDS = (
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
)


def dcgm_counters() -> str:
    return "".join(f"{field}, {kind}, {help_}\n" for field, kind, help_ in DCGM_FIELDS)


def _wget(port: int, path: str = "/") -> containers.Health:
    """The Prometheus project's images are busybox-based: wget is there."""
    return containers.Health(
        tests=["CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{port}{path} || exit 1"], start_period="10s"
    )


def _tcp(port: int) -> containers.Health:
    """Ubuntu-based vendor images: bash's /dev/tcp, no curl needed."""
    return containers.Health(tests=["CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"], start_period="60s")


@dataclass(frozen=True)
class HostExportersArgs:
    host: DockerHost
    """Where the exporters run; its label is the `host` label of their series (`main` for the
    stack's own host, the key of an inference host)."""
    images: dict[str, str]
    """node_exporter, json_exporter, dcgm_exporter, amd_exporter (Settings.images)."""
    limits: Limits
    exporters_network: pulumi.Input[str]
    """Shared with Prometheus alone: the exporters with host access join only this one."""
    scrape_network: pulumi.Input[str]
    """The monitoring network (the Ollama exporter: Prometheus reaches it there)."""
    gpu_vendor: Literal["nvidia", "amd"] | None = None
    gpu: Gpu | None = None
    gpu_groups: Sequence[str] = ()
    ollama_urls: Sequence[str] = ()
    """Each Ollama instance's API as the Ollama exporter reaches it (none: no Ollama exporter)."""
    ollama_network: pulumi.Input[str] | None = None
    textfile_volume: pulumi.Input[str] | None = None
    """A volume whose *.prom files node-exporter serves (the backup's last good run)."""
    published: Mapping[str, str] = field(default_factory=dict)
    """How Prometheus reaches each exporter of a remote host: `address:port` through its Ollama
    gate (stack/render/ollama_gate.py); empty: by container name on the exporters network."""
    credentials_file: str | None = None
    """Where Prometheus keeps the token that gate asks for (a remote host's exporters)."""


def _spec(args: HostExportersArgs, **kw: Any) -> containers.Spec:
    """A container of this host, with the exporters' limits."""
    return containers.Spec(limits=args.limits, **kw)


SpecMaker = Callable[..., containers.Spec]


class HostExporters(pulumi.ComponentResource):
    targets: HostTargets
    """What Prometheus scrapes on this host (stack/render/prometheus.py)."""

    def __init__(self, name: str, args: HostExportersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:monitoring:HostExporters", name, None, opts)
        on = args.host
        spec = partial(_spec, args)
        node_image = containers.image("node-exporter", args.images["node_exporter"], parent=self, host=on)
        volumes = [
            docker.ContainerVolumeArgs(host_path=host, container_path=inside, read_only=True)
            for host, inside in (
                ("/proc", exporters.HOST_PROC),
                ("/sys", exporters.HOST_SYS),
                ("/", exporters.HOST_ROOT),
            )
        ]
        if args.textfile_volume is not None:
            volumes.append(
                docker.ContainerVolumeArgs(
                    volume_name=args.textfile_volume, container_path=exporters.TEXTFILE_DIR, read_only=True
                )
            )
        containers.container(
            spec(
                name=constants.NODE_EXPORTER,
                image=node_image.image_id,
                health=_wget(NODE_PORT),
                networks=[containers.Attach(args.exporters_network)],
                command=exporters.node_exporter_command(),
                volumes=volumes,
                read_only=True,
                # Runs as nobody (the image's USER 65534); reading /proc, /sys and statfs need no
                # capability.
            ),
            parent=self,
            host=args.host,
        )

        def reach(name: str, port: int) -> str:
            return args.published.get(name, f"{name}:{port}")

        gpu_target = None
        if args.gpu_vendor == "nvidia":
            gpu_target = self._dcgm(args, spec)
        elif args.gpu_vendor == "amd":
            gpu_target = self._amd(args, spec)
        ollama_target = None
        if args.ollama_urls and args.ollama_network is not None:
            json_image = containers.image("ollama-exporter", args.images["json_exporter"], parent=self, host=on)
            containers.container(
                spec(
                    name=constants.OLLAMA_EXPORTER,
                    image=json_image.image_id,
                    health=_wget(JSON_PORT),
                    networks=[containers.Attach(args.scrape_network), containers.Attach(args.ollama_network)],
                    command=[f"--config.file={JSON_CONFIG}", f"--web.listen-address=:{JSON_PORT}"],
                    uploads=[
                        docker.ContainerUploadArgs(file=JSON_CONFIG, content=exporters.render_ollama_exporter_config())
                    ],
                    # Writable root: the config is uploaded, and the engine refuses an upload into
                    # a read-only root filesystem (tests/integration/test_least_privilege.py).
                ),
                parent=self,
                host=on,
            )
            ollama_target = reach(constants.OLLAMA_EXPORTER, JSON_PORT)
        self.targets = HostTargets(
            host=on.label,
            node=reach(constants.NODE_EXPORTER, NODE_PORT),
            gpu=reach(constants.GPU_EXPORTER, gpu_target) if gpu_target else None,
            gpu_vendor=args.gpu_vendor,
            ollama_exporter=ollama_target,
            ollama_urls=tuple(args.ollama_urls),
            credentials_file=args.credentials_file,
        )
        self.register_outputs({})

    def _dcgm(self, args: HostExportersArgs, spec: SpecMaker) -> int:
        image = containers.image("gpu-exporter", args.images["dcgm_exporter"], parent=self, host=args.host)
        port = constants.DCGM_EXPORTER_PORT
        containers.container(
            spec(
                name=constants.GPU_EXPORTER,
                image=image.image_id,
                health=_tcp(port),
                networks=[containers.Attach(args.exporters_network)],
                command=["-f", DCGM_COUNTERS, "-a", f":{port}"],
                uploads=[docker.ContainerUploadArgs(file=DCGM_COUNTERS, content=dcgm_counters())],
                device_requests=device_requests(args.gpu),
            ),
            parent=self,
            host=args.host,
        )
        return port

    def _amd(self, args: HostExportersArgs, spec: SpecMaker) -> int:
        image = containers.image("gpu-exporter", args.images["amd_exporter"], parent=self, host=args.host)
        port = constants.AMD_EXPORTER_PORT
        containers.container(
            spec(
                name=constants.GPU_EXPORTER,
                image=image.image_id,
                health=_tcp(port),
                networks=[containers.Attach(args.exporters_network)],
                devices=args.gpu.devices() if args.gpu else (),
                group_adds=args.gpu_groups,
            ),
            parent=self,
            host=args.host,
        )
        return port
