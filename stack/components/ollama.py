"""Ollama: the inference server, one container per instance (per GPU with `perGpu`), on any host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.env import ollama_env
from stack.settings import Gpu
from stack.settings import Ollama as OllamaSettings

PORT = constants.PORTS[constants.OLLAMA]

# `ollama --version` exits 0 even when the server is down, and the image has no curl.
HEALTH = containers.Health(tests=["CMD", "ollama", "list"], start_period="60s", wait_timeout=300)


def device_requests(gpu: Gpu | None) -> list[docker.ContainerDeviceRequestArgs]:
    """GPU requests with the driver always explicit (pulumi-docker defaults it to cdi). An AMD GPU
    is no request: ROCm needs only its device files (see `Gpu.devices`)."""
    if gpu is None or gpu.driver == "amd":
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


@dataclass(frozen=True, kw_only=True)
class OllamaArgs:
    image: str
    settings: OllamaSettings
    gpu: Gpu | None
    """This instance's GPUs: all `ollama.gpu` selects, or with `perGpu` one of them."""
    network: pulumi.Input[str]
    """The host's Ollama network: LiteLLM (or the gate) and the model pull, nothing else."""
    protect_data: bool
    loopback_port: int | None = None
    """Publish the API on 127.0.0.1:<port> (laptop only: Ollama has no auth)."""
    egress: pulumi.Input[str] | None = None
    """Ollama's own non-internal network: model downloads, and the loopback publish
    (see components/network.py)."""
    gpu_groups: Sequence[str] = ()
    """AMD: the numeric host groups owning the GPU's device files (stack/hostgroups.py)."""
    host: containers.DockerHost = containers.MAIN_HOST


class Ollama(pulumi.ComponentResource):
    """One Ollama container, its pinned image and its own models volume.

    Each instance has its own volume: Ollama's store is content-addressed, but a server writes a
    blob as `<digest>-partial` files that only its own process tracks, and prunes at start every
    blob no manifest names (server/routes.go Serve: PruneLayers unless OLLAMA_NOPRUNE, v0.32.15),
    so a second server pulling into the same store could lose or corrupt the other's download.
    """

    url: pulumi.Output[str]
    """The API on Ollama's network, e.g. http://ollama:11434."""
    image_id: pulumi.Output[str]
    """The pinned image, for other containers that run the Ollama CLI."""

    def __init__(self, name: str, args: OllamaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """`name` is the container's Docker name and its alias (`ollama`, `ollama-1`); on another
        host the component's own name starts with that host's key."""
        super().__init__("ai-stack:services:Ollama", f"{args.host.prefix}{name}", None, opts)
        host = args.host
        image = containers.image(name, args.image, parent=self, host=host)
        volume = containers.data_volume(f"{name}-models", protect=args.protect_data, parent=self, host=host)
        ports = [] if args.loopback_port is None else [containers.loopback_port(PORT, args.loopback_port)]
        networks = [containers.Attach(args.network)]
        if args.egress is not None:
            networks.append(containers.Attach(args.egress))
        elif args.loopback_port is not None:
            raise ValueError("ollama: Docker publishes no port of a container on internal networks only")
        container = containers.container(
            containers.Spec(
                name=name,
                image=image.image_id,
                limits=args.settings,
                health=HEALTH,
                networks=networks,
                envs=ollama_env(args.settings, port=PORT),
                ports=ports,
                volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=constants.OLLAMA_DATA)],
                device_requests=device_requests(args.gpu),
                # AMD (ROCm): /dev/kfd and the DRM render nodes, and the host groups that own them.
                devices=args.gpu.devices() if args.gpu else (),
                group_adds=args.gpu_groups,
                # No capability added back: the image (ollama/ollama Dockerfile, final stage
                # `ENTRYPOINT ["/bin/ollama"] CMD ["serve"]`, no USER) runs as root, and root
                # owns everything it touches (/root/.ollama); without DAC_OVERRIDE root still
                # passes permission checks on files it owns. NVIDIA GPUs come from the runtime's
                # hook, outside the container; AMD device files are root-owned 0660 (udev), which
                # root opens as their owner, and the groups cover an image that drops to a user.
                # [Not run against the real image here.]
            ),
            parent=self,
            host=host,
        )
        self.image_id = image.image_id
        self.url = containers.service_url(container, PORT)
        self.register_outputs({"url": self.url, "imageId": self.image_id})


@dataclass(frozen=True, kw_only=True)
class HostOllamaArgs:
    image: str
    """The pinned Ollama image: the model pull runs its CLI."""
    url: str
    """The host's Ollama as the containers reach it (`ollama.hostUrl`)."""


class HostOllama(pulumi.ComponentResource):
    """`ollama.mode: host`: the Ollama running on the host itself, no container, no volume.

    Only the pinned image remains, for the model pull's Ollama CLI, which pulls the declared
    models into the host's Ollama through its API.
    """

    url: pulumi.Output[str]
    image_id: pulumi.Output[str]

    def __init__(self, name: str, args: HostOllamaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:HostOllama", name, None, opts)
        pulled = containers.image(name, args.image, parent=self)
        self.image_id = pulled.image_id
        self.url = pulumi.Output.from_input(args.url)
        self.register_outputs({"url": self.url, "imageId": self.image_id})
