"""The whole stack: wires the services together in dependency order and returns the outputs."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from stack import constants
from stack.litellm import Litellm
from stack.models import ModelPull
from stack.network import ProxyNetwork
from stack.ollama import Ollama
from stack.open_webui import OpenWebui
from stack.postgres import Postgres, database_url
from stack.secrets import Secrets
from stack.settings import NAMESPACE, SECRET_KEYS, Settings, load_settings
from stack.traefik import Traefik


def raw_config() -> tuple[dict[str, Any], set[str]]:
    """Every config value and the secret keys, from both channels the language host may use:
    the runtime's config store and the PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS environment."""
    config = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    secret = set(pulumi.runtime.config.get_config_secret_keys_env())
    secret |= {k for k in config if pulumi.runtime.is_config_secret(k)}
    return config, secret


def settings_from_config() -> Settings:
    """Read and validate this stack's config before any resource is registered."""
    config, secret = raw_config()
    secret_names: dict[str, list[str]] = {}
    for key in SECRET_KEYS:
        full = f"{NAMESPACE}:{key}"
        raw = config.get(full)
        if raw is not None and full in secret:
            names = json.loads(raw) if isinstance(raw, str) else raw
            secret_names[key] = sorted(names) if isinstance(names, dict) else []
    return load_settings(config, pulumi.get_stack(), secret_names)


def provider_keys(settings: Settings) -> dict[str, pulumi.Output[str]]:
    if not settings.providers:
        return {}
    keys = pulumi.Config(NAMESPACE).require_secret_object("providerKeys")

    def pick(name: str) -> pulumi.Output[str]:
        return keys.apply(lambda k: str(k[name]))

    return {p.api_key_env: pick(p.api_key_env) for p in settings.providers}


def build(settings: Settings) -> dict[str, Any]:
    """Declare every resource; return the stack outputs."""
    secrets = Secrets("secrets")
    network = ProxyNetwork("proxy", settings.network)
    net = network.name

    if settings.deploys_traefik:
        Traefik("traefik", settings, net)
    ollama = Ollama("ollama", settings, net)
    pull = ModelPull("models", settings, ollama.image.image_id, net, ollama.container)
    postgres = Postgres("postgres", settings, net, secrets.postgres_password)
    litellm = Litellm(
        "litellm",
        settings,
        net,
        master_key=secrets.litellm_master_key,
        salt_key=secrets.litellm_salt_key,
        database_url=database_url(settings, secrets.postgres_password),
        provider_keys=provider_keys(settings),
        depends_on=[postgres.container, ollama.container],
    )
    OpenWebui(
        "open-webui",
        settings,
        net,
        secret_key=secrets.webui_secret_key,
        litellm_key=secrets.litellm_master_key,
        depends_on=[litellm.container, ollama.container, pull.container],
    )

    outputs: dict[str, Any] = {
        "webuiUrl": settings.webui_url(),
        "litellmUrl": settings.litellm_url(),
        "litellmMasterKey": secrets.litellm_master_key,
        "models": pull.pulled,
        "network": net,
    }
    if settings.publishes_ports:
        outputs["ollamaUrl"] = f"http://{constants.LOOPBACK}:{settings.ports.ollama}"
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
