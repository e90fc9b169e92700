"""Open WebUI: the chat front end, talking to Ollama directly and to LiteLLM's /v1."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stack import common, constants
from stack.labels import service_routes
from stack.litellm import BASE_URL as LITELLM_BASE
from stack.ollama import BASE_URL as OLLAMA_BASE
from stack.settings import Settings

PORT = constants.PORTS[constants.OPEN_WEBUI]

# curl is in the image. The first boot downloads embedding and whisper models before the
# port answers, which can take many minutes on a slow line.
HEALTH = common.Health(
    tests=["CMD-SHELL", f"curl --silent --fail http://127.0.0.1:{PORT}/health || exit 1"],
    interval="30s",
    timeout="10s",
    start_period="15m",
    start_interval="5s",
    wait_timeout=1200,
)


def plain_env(settings: Settings) -> list[str]:
    """The non-secret variables. WEBUI_URL, ENABLE_SIGNUP and DEFAULT_USER_ROLE are read at the
    first boot only and then live in the database (see README)."""
    w = settings.open_webui
    url = settings.webui_url()
    return sorted(
        [
            common.env("OLLAMA_BASE_URL", OLLAMA_BASE),
            common.env("OPENAI_API_BASE_URL", f"{LITELLM_BASE}/v1"),
            common.env("WEBUI_URL", url),
            common.env("CORS_ALLOW_ORIGIN", url),
            common.env("ENABLE_SIGNUP", "true" if w.enable_signup else "false"),
            common.env("DEFAULT_USER_ROLE", w.default_user_role),
        ]
    )


class OpenWebui(pulumi.ComponentResource):
    container: docker.Container
    volume: docker.Volume

    def __init__(
        self,
        name: str,
        settings: Settings,
        network: pulumi.Input[str],
        *,
        secret_key: pulumi.Output[str],
        litellm_key: pulumi.Output[str],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ai-stack:services:OpenWebui", name, None, opts)
        image = common.image(name, settings.images.open_webui, parent=self)
        self.volume = common.data_volume(f"{name}-data", protect=settings.protects_data, parent=self)
        ports = [common.loopback_port(PORT, settings.ports.open_webui)] if settings.publishes_ports else []
        self.container = common.container(
            common.Spec(
                name=constants.OPEN_WEBUI,
                image=image.image_id,
                limits=settings.open_webui,
                health=HEALTH,
                network=network,
                envs=[
                    *plain_env(settings),
                    # Without it the image writes a key outside the data volume, and every
                    # re-create logs everyone out.
                    common.secret_env("WEBUI_SECRET_KEY", secret_key),
                    common.secret_env("OPENAI_API_KEY", litellm_key),
                ],
                ports=ports,
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=constants.OPEN_WEBUI_DATA)
                ],
                labels=service_routes(settings, router=constants.OPEN_WEBUI, host=settings.open_webui.host, port=PORT),
            ),
            parent=self,
            depends_on=depends_on,
        )
        self.register_outputs({"name": self.container.name})
