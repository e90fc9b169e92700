"""What each Docker host that runs Ollama exports: the host, its GPUs and Ollama's loaded models.

One component per host, so the scale-out work calls it once per inference host, passing that
host's docker.Provider through `opts` (children inherit it) and a `resource_prefix`.

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.components.ollama import device_requests
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
    host: str
    """The host's identity: the `host` label of its series (`main` for the stack's own host)."""
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
    ollama_url: str | None = None
    """Ollama's API as the Ollama exporter reaches it (None: no Ollama exporter)."""
    ollama_network: pulumi.Input[str] | None = None
    textfile_volume: pulumi.Input[str] | None = None
    """A volume whose *.prom files node-exporter serves (the backup's last good run)."""
    resource_prefix: str = ""
    """Prepended to every Pulumi resource name (another host's exporters)."""
    target_host: str | None = None
    """How Prometheus reaches this host's exporters (a remote host's private address); None:
    by container name on the exporters network."""


def _spec(args: HostExportersArgs, **kw: Any) -> containers.Spec:
    """A container of this host: the exporters' limits, and the prefix on its resource name."""
    prefix = args.resource_prefix
    return containers.Spec(limits=args.limits, resource_name=f"{prefix}{kw['name']}" if prefix else None, **kw)


SpecMaker = Callable[..., containers.Spec]


class HostExporters(pulumi.ComponentResource):
    targets: HostTargets
    """What Prometheus scrapes on this host (stack/render/prometheus.py)."""

    def __init__(self, name: str, args: HostExportersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:monitoring:HostExporters", name, None, opts)
        p = args.resource_prefix
        spec = partial(_spec, args)
        node_image = containers.image(f"{p}node-exporter", args.images["node_exporter"], parent=self)
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
        )
        reach = args.target_host
        gpu_target = None
        if args.gpu_vendor == "nvidia":
            gpu_target = self._dcgm(args, spec)
        elif args.gpu_vendor == "amd":
            gpu_target = self._amd(args, spec)
        ollama_target = None
        if args.ollama_url is not None and args.ollama_network is not None:
            json_image = containers.image(f"{p}ollama-exporter", args.images["json_exporter"], parent=self)
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
            )
            ollama_target = f"{reach or constants.OLLAMA_EXPORTER}:{JSON_PORT}"
        self.targets = HostTargets(
            host=args.host,
            node=f"{reach or constants.NODE_EXPORTER}:{NODE_PORT}",
            gpu=f"{reach or constants.GPU_EXPORTER}:{gpu_target}" if gpu_target else None,
            gpu_vendor=args.gpu_vendor,
            ollama_exporter=ollama_target,
            ollama_url=args.ollama_url,
        )
        self.register_outputs({})

    def _dcgm(self, args: HostExportersArgs, spec: SpecMaker) -> int:
        image = containers.image(f"{args.resource_prefix}gpu-exporter", args.images["dcgm_exporter"], parent=self)
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
        )
        return port

    def _amd(self, args: HostExportersArgs, spec: SpecMaker) -> int:
        image = containers.image(f"{args.resource_prefix}gpu-exporter", args.images["amd_exporter"], parent=self)
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
        )
        return port
