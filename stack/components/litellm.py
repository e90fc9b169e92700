"""LiteLLM: the OpenAI-compatible gateway in front of Ollama and any hosted providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.env import env
from stack.render.labels import PathRule, Routing, route_labels
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

API_PATHS: tuple[PathRule, ...] = (
    PathRule("Path", "/v1/chat/completions"),
    PathRule("Path", "/v1/completions"),
    PathRule("Path", "/v1/embeddings"),
    PathRule("Path", "/v1/models"),
    PathRule("PathRegexp", "^/v1/models/[^/]+$"),
    PathRule("Path", "/v1/moderations"),
    PathRule("PathRegexp", "^/v1/audio/(speech|transcriptions|translations)$"),
    PathRule("PathRegexp", "^/v1/images/(generations|edits|variations)$"),
    PathRule("Path", "/v1/responses"),
    PathRule("Path", "/health/liveliness"),
)
"""What `llm…` forwards from anyone: the OpenAI API (each path is in LiteLLM's own
LiteLLMRoutes.openai_routes, litellm/proxy/_types.py, but OpenAI's retrieve-model
/v1/models/{id}) and the open liveness probe. Stored responses (/v1/responses/{id}) are left
out: no pattern can tell an id from LiteLLM's own /v1/responses/compact. Not a
/v1/ prefix: LiteLLM serves management under it too (/v1/mcp/server/register, /v1/agents/
make_public, /v1/access_group, …). Docs, /routes, /key/*, /ui, /sso, /public, MCP's /register
and the rest reach LiteLLM only from `litellm.adminSourceRange` (the `-admin` router)."""

SWITCHES = {
    "LITELLM_MODE": "PRODUCTION",
    # litellm/proxy/utils.py _get_docs_url, _get_redoc_url, _get_openapi_url: None turns
    # FastAPI's Swagger UI at /, ReDoc at /redoc and /openapi.json off (read at import).
    "NO_DOCS": "True",
    "NO_REDOC": "True",
    "NO_OPENAPI": "True",
    # management_endpoints/ui_sso.py: the admin UI's sign-in (/sso/key/generate) answers
    # "Admin UI is disabled"; the UI's static files stay mounted at /ui (proxy_server.py), which
    # is why Traefik forwards only API_PATHS.
    "DISABLE_ADMIN_UI": "True",
}


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
    """Open WebUI's and the key job's way in (the .internal alias)."""
    datastore: pulumi.Input[str]
    ollama_network: pulumi.Input[str] | None
    """Ollama's network; None in host mode (the host's Ollama is reached over the routed one)."""
    provider_keys: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    routing: Routing | None = None
    loopback_port: int | None = None
    hosts: Sequence[tuple[str, str]] = ()
    """host mode: the host-gateway mapping to the host's Ollama (reached over the routed network)."""
    metrics_network: pulumi.Input[str] | None = None
    """With monitoring: the prometheus callback on, and Prometheus reaches /metrics over this network."""


def config_file(args: LitellmArgs) -> pulumi.Output[str]:
    """config.yaml with its secrets (master key, database URL, salt key, providers' keys)."""
    names = sorted(args.provider_keys)
    secrets = pulumi.Output.all(
        args.ollama_url, args.master_key, args.database_url, args.salt_key, *(args.provider_keys[n] for n in names)
    )

    def render(values: list[str]) -> str:
        ollama, master, database, salt, *keys = values
        return render_litellm_config(
            models=args.models,
            embedding_models=args.embedding_models,
            providers=args.providers,
            ollama_base=ollama,
            master_key=master,
            database_url=database,
            # Encrypts credentials stored in the DB; must never change once models are stored.
            environment={"LITELLM_SALT_KEY": salt, **dict(zip(names, keys, strict=True))},
            metrics=args.metrics_network is not None,
        )

    return pulumi.Output.secret(secrets.apply(render))


class Litellm(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """The proxy on the internal network, e.g. http://litellm.internal:4000."""
    id: pulumi.Output[str]
    """The container's id: changes whenever LiteLLM is re-created."""
    image_id: pulumi.Output[str]
    """The pulled image's id: the key jobs (Open WebUI's, Prometheus's) run the same image."""
    container_name: pulumi.Output[str]
    """The container's name (an alias on every network it joins), known at preview."""

    def __init__(self, name: str, args: LitellmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:Litellm", name, None, opts)
        image = containers.image(name, args.image, parent=self)
        # No secret here: `docker inspect` (and so anything the socket proxy lets read
        # containers) shows env. The secrets are in the uploaded config.yaml.
        envs: list[pulumi.Input[str]] = [
            env(k, v)
            for k, v in sorted(
                {**SWITCHES, "STORE_MODEL_IN_DB": "True" if args.settings.store_model_in_db else "False"}.items()
            )
        ]
        ports = [] if args.loopback_port is None else [containers.loopback_port(PORT, args.loopback_port)]
        networks = [
            # Routed network: Traefik, and the way out to hosted providers.
            containers.Attach(args.routed),
            containers.Attach(args.internal, [constants.LITELLM + containers.INTERNAL_SUFFIX]),
            containers.Attach(args.datastore),
        ]
        if args.ollama_network is not None:
            networks.append(containers.Attach(args.ollama_network))
        if args.metrics_network is not None:
            networks.append(containers.Attach(args.metrics_network))
        container = containers.container(
            containers.Spec(
                name=constants.LITELLM,
                image=image.image_id,
                limits=args.settings,
                health=HEALTH,
                networks=networks,
                envs=envs,
                ports=ports,
                hosts=args.hosts,
                labels=route_labels(
                    args.routing,
                    router=constants.LITELLM,
                    host=args.settings.host,
                    port=PORT,
                    rate_limit=args.settings.rate_limit,
                    paths=API_PATHS,
                    admin_ranges=args.settings.admin_source_range,
                    csp="default-src 'none'; frame-ancestors 'none'",
                ),
                command=["--config", constants.LITELLM_CONFIG, "--port", str(PORT)],
                # Uploaded, not bind-mounted: works against a remote Docker host too.
                uploads=[docker.ContainerUploadArgs(file=constants.LITELLM_CONFIG, content=config_file(args))],
                # No capability added back: Dockerfile.database runs as root (`USER root`) and its
                # ENTRYPOINT docker/prod_entrypoint.sh only `exec litellm "$@"` (BerriAI/litellm);
                # root owns the files it writes. [Not run against the real image here.]
            ),
            parent=self,
        )
        self.url = containers.service_url(container, PORT, suffix=containers.INTERNAL_SUFFIX)
        self.id = container.id
        self.image_id = image.image_id
        self.container_name = container.name
        self.register_outputs({"url": self.url})
