"""LiteLLM: the OpenAI-compatible gateway in front of Ollama and any hosted providers."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_docker as docker

from stack import common, constants
from stack.labels import service_routes
from stack.litellm_config import render_litellm_config
from stack.ollama import BASE_URL as OLLAMA_BASE
from stack.settings import Settings

PORT = constants.PORTS[constants.LITELLM]
BASE_URL = f"http://{constants.LITELLM}:{PORT}"

# /health needs auth and calls every model; /health/liveliness is the cheap, open probe.
# The image is Python-based, so Python's urllib is a probe that is always there.
HEALTH = common.Health(
    tests=[
        "CMD",
        "python3",
        "-c",
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/health/liveliness', timeout=5)",
    ],
    interval="30s",
    timeout="10s",
    start_period="300s",
    start_interval="5s",
    # The first start runs Prisma migrations against Postgres.
    wait_timeout=600,
)


def config_yaml(settings: Settings) -> str:
    return render_litellm_config(
        models=settings.models,
        embedding_models=settings.embedding_models,
        providers=settings.providers,
        ollama_base=OLLAMA_BASE,
    )


class Litellm(pulumi.ComponentResource):
    container: docker.Container

    def __init__(
        self,
        name: str,
        settings: Settings,
        network: pulumi.Input[str],
        *,
        master_key: pulumi.Output[str],
        salt_key: pulumi.Output[str],
        database_url: pulumi.Output[str],
        provider_keys: Mapping[str, pulumi.Output[str]],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ai-stack:services:Litellm", name, None, opts)
        image = common.image(name, settings.images.litellm, parent=self)
        envs: list[common.Env] = [
            common.secret_env("LITELLM_MASTER_KEY", master_key),
            # Encrypts credentials stored in the DB; must never change once models are stored.
            common.secret_env("LITELLM_SALT_KEY", salt_key),
            common.secret_env("DATABASE_URL", database_url),
            common.env("STORE_MODEL_IN_DB", "True" if settings.litellm.store_model_in_db else "False"),
            common.env("LITELLM_MODE", "PRODUCTION"),
        ]
        for provider in settings.providers:
            envs.append(common.secret_env(provider.api_key_env, provider_keys[provider.api_key_env]))
        ports = [common.loopback_port(PORT, settings.ports.litellm)] if settings.publishes_ports else []
        self.container = common.container(
            common.Spec(
                name=constants.LITELLM,
                image=image.image_id,
                limits=settings.litellm,
                health=HEALTH,
                network=network,
                envs=envs,
                ports=ports,
                labels=service_routes(settings, router=constants.LITELLM, host=settings.litellm.host, port=PORT),
                command=["--config", constants.LITELLM_CONFIG, "--port", str(PORT)],
                # Uploaded, not bind-mounted: works against a remote Docker host too.
                uploads=[docker.ContainerUploadArgs(file=constants.LITELLM_CONFIG, content=config_yaml(settings))],
            ),
            parent=self,
            depends_on=depends_on,
        )
        self.register_outputs({"name": self.container.name})
