"""Open WebUI: the chat front end, talking to LiteLLM's /v1 with a key limited to the stack's models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render import open_webui as start
from stack.render.env import open_webui_env
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

CSP = "; ".join(
    [
        "default-src 'self'",
        # The SvelteKit build starts from inline scripts in index.html (theme, kit.start), and
        # Pyodide (code execution in the browser) compiles WebAssembly.
        "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        # Model answers may show images from anywhere; data:/blob: for pasted and generated ones.
        "img-src 'self' data: blob: https:",
        "media-src 'self' data: blob:",
        "font-src 'self' data:",
        # The API and the /ws socket.io channel are same-origin.
        "connect-src 'self'",
        "worker-src 'self' blob:",
        # Artifacts and HTML previews render in same-origin or blob: frames.
        "frame-src 'self' blob: data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""Open WebUI's Content-Security-Policy, set by Traefik on every response of its router. Proven
with the real 0.11.1 in headless Chromium (tests/integration/test_open_webui.py): the sign-in page
renders with no violation reported."""


@dataclass(frozen=True, kw_only=True)
class OpenWebuiArgs:
    image: str
    settings: OpenWebuiSettings
    url: str
    """Where users open it (WEBUI_URL)."""
    origins: list[str]
    """The browser origins allowed by CORS and the websocket."""
    litellm_url: pulumi.Input[str]
    litellm_key: pulumi.Output[str]
    """The virtual key stack/components/litellm_key.py registers, never the master key."""
    secret_key: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    """WEBUI_ADMIN_PASSWORD, used with settings.admin_email at the first boot only."""
    routed: pulumi.Input[str]
    internal: pulumi.Input[str]
    protect_data: bool
    embedding_models: Sequence[str] = ()
    routing: Routing | None = None
    loopback_port: int | None = None
    wait_for: Sequence[pulumi.Resource] = field(default=())
    """Start only after these (the model pull, the key registration), so the first page lists the models."""
    oidc_client_secret: pulumi.Output[str] | None = None
    """OAUTH_CLIENT_SECRET, with settings.oidc (the secret config openWebuiOidcClientSecret): a
    file the wrapper exports, like the other secrets."""


class OpenWebui(pulumi.ComponentResource):
    data_volume: pulumi.Output[str]
    """Its data volume's Docker name: the backup's SQLite copy and uploads read it."""

    def __init__(self, name: str, args: OpenWebuiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:OpenWebui", name, None, opts)
        image = containers.image(name, args.image, parent=self)
        volume = containers.data_volume(f"{name}-data", protect=args.protect_data, parent=self)
        files = [
            containers.secret_file(start.secret_path(start.SECRET_KEY), args.secret_key),
            containers.secret_file(start.secret_path(start.LITELLM_KEY), args.litellm_key),
        ]
        if args.settings.admin_email:
            files.append(containers.secret_file(start.secret_path(start.ADMIN_PASSWORD), args.admin_password))
        if args.oidc_client_secret is not None:
            files.append(containers.secret_file(start.secret_path(start.OIDC_SECRET), args.oidc_client_secret))
        ports = [] if args.loopback_port is None else [containers.loopback_port(PORT, args.loopback_port)]
        containers.container(
            containers.Spec(
                name=constants.OPEN_WEBUI,
                image=image.image_id,
                limits=args.settings,
                health=HEALTH,
                # Routed network: Traefik, and the way out (web search, tool installs, update
                # checks, an identity provider). Internal network: LiteLLM, nothing else: not
                # Postgres (the datastore network) and not Ollama (its own network).
                networks=[containers.Attach(args.routed), containers.Attach(args.internal)],
                envs=open_webui_env(
                    args.settings,
                    url=args.url,
                    origins=args.origins,
                    litellm_url=args.litellm_url,
                    embedding_models=args.embedding_models,
                ),
                # Secrets as files (stack/render/open_webui.py reads them into the process's own
                # environment): nothing that can inspect containers sees them. Open WebUI reads
                # its connection keys from the environment only (no *_FILE form in config.py).
                uploads=files,
                entrypoints=["bash", "-c"],
                command=[start.WRAPPER],
                # No capability added back: the Dockerfile's default UID/GID are 0 (`ARG UID=0`,
                # "non-root configurations are untested") and start.sh only writes in
                # /app/backend, which root owns. The root filesystem stays writable: the secrets
                # are uploaded files (Docker refuses uploads into a read-only container) and
                # start.sh tees its log to /app/backend/server.log.
                ports=ports,
                volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=constants.OPEN_WEBUI_DATA)],
                labels=route_labels(
                    args.routing,
                    router=constants.OPEN_WEBUI,
                    host=args.settings.host,
                    port=PORT,
                    rate_limit=args.settings.rate_limit,
                    csp=CSP,
                ),
            ),
            parent=self,
            depends_on=args.wait_for,
        )
        self.data_volume = volume.name
        self.register_outputs({"dataVolume": self.data_volume})
