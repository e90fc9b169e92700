"""Ollama: the inference server, on the GPU where the stack has one."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stack import common, constants
from stack.settings import Settings

PORT = constants.PORTS[constants.OLLAMA]
BASE_URL = f"http://{constants.OLLAMA}:{PORT}"


def ollama_env(settings: Settings) -> list[str]:
    """Tuning variables; the context length is always explicit because its default varies."""
    o = settings.ollama
    return sorted(
        [
            common.env("OLLAMA_HOST", f"0.0.0.0:{PORT}"),
            common.env("OLLAMA_FLASH_ATTENTION", "1" if o.flash_attention else "0"),
            common.env("OLLAMA_KV_CACHE_TYPE", o.kv_cache_type),
            common.env("OLLAMA_NUM_PARALLEL", str(o.num_parallel)),
            common.env("OLLAMA_MAX_LOADED_MODELS", str(o.max_loaded_models)),
            common.env("OLLAMA_KEEP_ALIVE", o.keep_alive),
            common.env("OLLAMA_CONTEXT_LENGTH", str(o.context_length)),
        ]
    )


def device_requests(settings: Settings) -> list[docker.ContainerDeviceRequestArgs]:
    """GPU requests with the driver always explicit (pulumi-docker defaults it to cdi)."""
    gpu = settings.ollama.gpu
    if gpu is None:
        return []
    count = -1 if gpu.count == "all" else gpu.count
    return [
        docker.ContainerDeviceRequestArgs(
            driver=gpu.driver,
            count=count if gpu.driver == "nvidia" else None,
            device_ids=list(gpu.device_ids) if gpu.device_ids else None,
            capabilities=["gpu"],
        )
    ]


# `ollama --version` exits 0 even when the server is down, and the image has no curl.
HEALTH = common.Health(tests=["CMD", "ollama", "list"], start_period="60s", wait_timeout=300)


class Ollama(pulumi.ComponentResource):
    """The Ollama container, its pinned image and its models volume."""

    container: docker.Container
    image: docker.RemoteImage
    volume: docker.Volume

    def __init__(
        self, name: str, settings: Settings, network: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-stack:services:Ollama", name, None, opts)
        self.image = common.image(name, settings.images.ollama, parent=self)
        self.volume = common.data_volume(f"{name}-models", protect=settings.protects_data, parent=self)
        ports = []
        if settings.publishes_ports:
            # Ollama has no auth: only ever on loopback, and never on a server.
            ports.append(common.loopback_port(PORT, settings.ports.ollama))
        self.container = common.container(
            common.Spec(
                name=constants.OLLAMA,
                image=self.image.image_id,
                limits=settings.ollama,
                health=HEALTH,
                network=network,
                envs=ollama_env(settings),
                ports=ports,
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=constants.OLLAMA_DATA)
                ],
                device_requests=device_requests(settings),
            ),
            parent=self,
        )
        self.register_outputs({"name": self.container.name})
