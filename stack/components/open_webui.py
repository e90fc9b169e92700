"""Open WebUI: the chat front end, talking to Ollama directly and to LiteLLM's /v1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.env import open_webui_env, secret_env
from stack.render.labels import Routing, route_labels
from stack.settings import OpenWebui as OpenWebuiSettings

PORT = constants.PORTS[constants.OPEN_WEBUI]

# curl is in the image. The first boot downloads embedding and whisper models before the
# port answers, which can take many minutes on a slow line.
HEALTH = containers.Health(
    tests=["CMD-SHELL", f"curl --silent --fail http://127.0.0.1:{PORT}/health || exit 1"],
    interval="30s",
    timeout="10s",
    start_period="15m",
    start_interval="5s",
    wait_timeout=1200,
)


@dataclass(frozen=True)
class OpenWebuiArgs:
    image: str
    settings: OpenWebuiSettings
    url: str
    """Where users open it (WEBUI_URL)."""
    origins: list[str]
    """The browser origins allowed by CORS and the websocket."""
    ollama_url: pulumi.Input[str]
    litellm_url: pulumi.Input[str]
    litellm_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    """WEBUI_ADMIN_PASSWORD, used with settings.admin_email at the first boot only."""
    network: pulumi.Input[str]
    protect_data: bool
    embedding_models: Sequence[str] = ()
    routing: Routing | None = None
    loopback_port: int | None = None
    wait_for: Sequence[pulumi.Resource] = field(default=())
    """Start only after these (the model pull), so the first page lists the models."""


class OpenWebui(pulumi.ComponentResource):
    def __init__(self, name: str, args: OpenWebuiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:OpenWebui", name, None, opts)
        image = containers.image(name, args.image, parent=self)
        volume = containers.data_volume(f"{name}-data", protect=args.protect_data, parent=self)
        admin = [secret_env("WEBUI_ADMIN_PASSWORD", args.admin_password)] if args.settings.admin_email else []
        ports = [] if args.loopback_port is None else [containers.loopback_port(PORT, args.loopback_port)]
        containers.container(
            containers.Spec(
                name=constants.OPEN_WEBUI,
                image=image.image_id,
                limits=args.settings,
                health=HEALTH,
                network=args.network,
                envs=[
                    *open_webui_env(
                        args.settings,
                        url=args.url,
                        origins=args.origins,
                        ollama_url=args.ollama_url,
                        litellm_url=args.litellm_url,
                        embedding_models=args.embedding_models,
                    ),
                    # Without it the image writes a key outside the data volume, and every
                    # re-create logs everyone out.
                    secret_env("WEBUI_SECRET_KEY", args.secret_key),
                    secret_env("OPENAI_API_KEY", args.litellm_key),
                    *admin,
                ],
                ports=ports,
                volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=constants.OPEN_WEBUI_DATA)],
                labels=route_labels(args.routing, router=constants.OPEN_WEBUI, host=args.settings.host, port=PORT),
            ),
            parent=self,
            depends_on=args.wait_for,
        )
        self.register_outputs({})
