"""LiteLLM: the OpenAI-compatible gateway in front of Ollama and any hosted providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.env import env, secret_env
from stack.render.labels import Routing, route_labels
from stack.render.litellm_config import render_litellm_config
from stack.settings import Litellm as LitellmSettings
from stack.settings import Provider

PORT = constants.PORTS[constants.LITELLM]

# /health needs auth and calls every model; /health/liveliness is the cheap, open probe.
# The image is Python-based, so Python's urllib is a probe that is always there.
HEALTH = containers.Health(
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


@dataclass(frozen=True)
class LitellmArgs:
    image: str
    settings: LitellmSettings
    models: Sequence[str]
    embedding_models: Sequence[str]
    providers: Sequence[Provider]
    ollama_url: pulumi.Input[str]
    database_url: pulumi.Output[str]
    master_key: pulumi.Output[str]
    salt_key: pulumi.Output[str]
    routed: pulumi.Input[str]
    internal: pulumi.Input[str]
    provider_keys: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    routing: Routing | None = None
    loopback_port: int | None = None
    hosts: Sequence[tuple[str, str]] = ()
    """host mode: the host-gateway mapping to the host's Ollama (reached over the routed network)."""
    metrics_network: pulumi.Input[str] | None = None
    """With monitoring: the prometheus callback on, and Prometheus reaches /metrics over this network."""


class Litellm(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """The proxy on the internal network, e.g. http://litellm.internal:4000."""
    image_id: pulumi.Output[str]
    """LiteLLM's pinned image, for jobs that run its Python (the metrics key)."""
    container_name: pulumi.Output[str]
    """The container's name (an alias on every network it joins), known at preview."""

    def __init__(self, name: str, args: LitellmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:Litellm", name, None, opts)
        image = containers.image(name, args.image, parent=self)
        envs: list[pulumi.Input[str]] = [
            secret_env("LITELLM_MASTER_KEY", args.master_key),
            # Encrypts credentials stored in the DB; must never change once models are stored.
            secret_env("LITELLM_SALT_KEY", args.salt_key),
            secret_env("DATABASE_URL", args.database_url),
            env("STORE_MODEL_IN_DB", "True" if args.settings.store_model_in_db else "False"),
            env("LITELLM_MODE", "PRODUCTION"),
        ]
        for provider in args.providers:
            envs.append(secret_env(provider.api_key_env, args.provider_keys[provider.api_key_env]))
        config = pulumi.Output.from_input(args.ollama_url).apply(
            lambda ollama: render_litellm_config(
                models=args.models,
                embedding_models=args.embedding_models,
                providers=args.providers,
                ollama_base=ollama,
                metrics=args.metrics_network is not None,
            )
        )
        ports = [] if args.loopback_port is None else [containers.loopback_port(PORT, args.loopback_port)]
        container = containers.container(
            containers.Spec(
                name=constants.LITELLM,
                image=image.image_id,
                limits=args.settings,
                health=HEALTH,
                # Routed network: Traefik, and the way out to hosted providers. Internal network:
                # Postgres and Ollama, and Open WebUI's calls (the .internal alias).
                networks=[
                    containers.Attach(args.routed),
                    containers.Attach(args.internal, [constants.LITELLM + containers.INTERNAL_SUFFIX]),
                    *([containers.Attach(args.metrics_network)] if args.metrics_network is not None else []),
                ],
                envs=envs,
                ports=ports,
                hosts=args.hosts,
                labels=route_labels(
                    args.routing,
                    router=constants.LITELLM,
                    host=args.settings.host,
                    port=PORT,
                    rate_limit=args.settings.rate_limit,
                ),
                command=["--config", constants.LITELLM_CONFIG, "--port", str(PORT)],
                # Uploaded, not bind-mounted: works against a remote Docker host too.
                uploads=[docker.ContainerUploadArgs(file=constants.LITELLM_CONFIG, content=config)],
                # No capability added back: Dockerfile.database runs as root (`USER root`) and its
                # ENTRYPOINT docker/prod_entrypoint.sh only `exec litellm "$@"` (BerriAI/litellm);
                # root owns the files it writes. [Not run against the real image here.]
            ),
            parent=self,
        )
        self.url = containers.service_url(container, PORT, suffix=containers.INTERNAL_SUFFIX)
        self.image_id = image.image_id
        self.container_name = container.name
        self.register_outputs({"url": self.url})
