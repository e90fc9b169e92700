"""The whole stack: each service gets its own slice of the settings and the outputs it needs."""

from __future__ import annotations

from typing import Any

import pulumi

from stack import canonical, constants
from stack.components.litellm import Litellm, LitellmArgs
from stack.components.model_pull import ModelPull, ModelPullArgs
from stack.components.network import Networks
from stack.components.ollama import Ollama, OllamaArgs
from stack.components.open_webui import OpenWebui, OpenWebuiArgs
from stack.components.postgres import Postgres, PostgresArgs
from stack.components.secrets import Secrets
from stack.components.socket_proxy import SocketProxy, SocketProxyArgs
from stack.components.traefik import Traefik, TraefikArgs
from stack.config import provider_keys
from stack.render.labels import Routing
from stack.render.traefik import tls_entrypoints
from stack.settings import Settings


def routing(settings: Settings) -> Routing | None:
    if not settings.routed:
        return None
    t = settings.traefik
    return Routing(
        network=settings.network.name,
        entrypoints=tuple(tls_entrypoints(t, deployed=settings.deploys_traefik)),
        cert_resolver=t.cert_resolver,
        hsts_seconds=t.hsts_seconds,
    )


def build(settings: Settings) -> dict[str, Any]:
    """Declare every resource; return the stack outputs."""
    s = settings
    secrets = Secrets("secrets")
    nets = Networks("proxy", s.network, socket=s.deploys_traefik)
    net, internal = nets.routed, nets.internal
    protect = s.protects_data
    published = s.ports if s.publishes_ports else None

    if s.deploys_traefik and nets.socket is not None:
        proxy = SocketProxy("socket-proxy", SocketProxyArgs(s.images.socket_proxy, s.socket_proxy, nets.socket))
        Traefik(
            "traefik",
            TraefikArgs(
                s.images.traefik,
                s.traefik,
                net,
                network_name=s.network.name,
                socket_network=nets.socket,
                protect_data=protect,
                wait_for=[proxy],
            ),
        )
    ollama = Ollama(
        "ollama",
        OllamaArgs(
            s.images.ollama,
            s.ollama,
            internal,
            protect,
            loopback_port=published.ollama if published else None,
            egress=nets.ollama_egress,
        ),
    )
    pull = ModelPull(
        "models",
        ModelPullArgs(
            s.all_models,
            s.model_pull,
            ollama.image_id,
            ollama_url=ollama.url,
            network=internal,
            timeout_seconds=canonical.parse_duration(s.model_pull.timeout) // canonical.NANO,
        ),
    )
    postgres = Postgres(
        "postgres", PostgresArgs(s.images.postgres, s.postgres, secrets.postgres_password, internal, protect)
    )
    litellm = Litellm(
        "litellm",
        LitellmArgs(
            s.images.litellm,
            s.litellm,
            models=s.models,
            embedding_models=s.embedding_models,
            providers=s.providers,
            ollama_url=ollama.url,
            database_url=postgres.url,
            master_key=secrets.litellm_master_key,
            salt_key=secrets.litellm_salt_key,
            routed=net,
            internal=internal,
            provider_keys=provider_keys(s),
            routing=routing(s),
            loopback_port=published.litellm if published else None,
        ),
    )
    OpenWebui(
        "open-webui",
        OpenWebuiArgs(
            s.images.open_webui,
            s.open_webui,
            url=s.webui_url(),
            ollama_url=ollama.url,
            litellm_url=litellm.url,
            litellm_key=secrets.litellm_master_key,
            secret_key=secrets.webui_secret_key,
            routed=net,
            internal=internal,
            protect_data=protect,
            routing=routing(s),
            loopback_port=published.open_webui if published else None,
            wait_for=[pull],
        ),
    )

    outputs: dict[str, Any] = {
        "webuiUrl": s.webui_url(),
        "litellmUrl": s.litellm_url(),
        "litellmMasterKey": secrets.litellm_master_key,
        "models": pull.pulled,
        "network": net,
    }
    if s.publishes_ports:
        outputs["ollamaUrl"] = f"http://{constants.LOOPBACK}:{s.ports.ollama}"
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
