"""Pure functions without mocks: Traefik labels, LiteLLM config, Traefik's static config."""

from __future__ import annotations

import pytest
import yaml

from stack.render.labels import traefik_labels
from stack.render.litellm_config import Deployment, render_litellm_config
from stack.render.traefik import traefik_command
from stack.settings import Provider, RateLimit, Settings

RL = RateLimit(average=5, burst=7)


def test_labels_route_a_host_over_tls() -> None:
    got = traefik_labels(
        router="webui",
        host="chat.example.com",
        port=8080,
        network="proxy",
        entrypoints=["websecure", "websecure-v6"],
        cert_resolver="le",
        rate_limit=RL,
        hsts_seconds=600,
    )
    assert got == sorted(got)
    assert dict(got) == {
        "traefik.enable": "true",
        "traefik.docker.network": "proxy",
        "traefik.http.routers.webui.rule": "Host(`chat.example.com`)",
        "traefik.http.routers.webui.entrypoints": "websecure,websecure-v6",
        "traefik.http.routers.webui.tls": "true",
        "traefik.http.routers.webui.tls.certresolver": "le",
        "traefik.http.routers.webui.service": "webui",
        # Headers before the rate limit, so its 429 carries them.
        "traefik.http.routers.webui.middlewares": "webui-headers,webui-ratelimit",
        "traefik.http.services.webui.loadbalancer.server.port": "8080",
        "traefik.http.middlewares.webui-ratelimit.ratelimit.average": "5",
        "traefik.http.middlewares.webui-ratelimit.ratelimit.burst": "7",
        "traefik.http.middlewares.webui-ratelimit.ratelimit.period": "1s",
        "traefik.http.middlewares.webui-headers.headers.stsSeconds": "600",
        "traefik.http.middlewares.webui-headers.headers.stsIncludeSubdomains": "true",
        "traefik.http.middlewares.webui-headers.headers.contentTypeNosniff": "true",
        "traefik.http.middlewares.webui-headers.headers.frameDeny": "true",
        "traefik.http.middlewares.webui-headers.headers.referrerPolicy": "strict-origin-when-cross-origin",
    }


@pytest.mark.parametrize("host", ["", "a`b.com"])
def test_labels_refuse_a_host_that_would_break_the_rule(host: str) -> None:
    with pytest.raises(ValueError, match="invalid host"):
        traefik_labels(
            router="r",
            host=host,
            port=1,
            network="n",
            entrypoints=["e"],
            cert_resolver="c",
            rate_limit=RL,
            hsts_seconds=0,
        )


def test_litellm_config_from_models() -> None:
    text = render_litellm_config(
        deployments=[
            Deployment("llama3.2:1b", "http://ollama:11434"),
            Deployment("qwen2.5:7b", "http://ollama:11434"),
            Deployment("nomic-embed-text", "http://ollama:11434", embedding=True),
        ],
        providers=[Provider(model_name="gpt-4o", model="openai/gpt-4o", api_key_env="OPENAI_API_KEY")],
        master_key="sk-master",
        database_url="postgresql://litellm:pw@postgres:5432/litellm",
        environment={"OPENAI_API_KEY": "sk-openai", "LITELLM_SALT_KEY": "salt"},
    )
    doc = yaml.safe_load(text)
    assert doc["model_list"] == [
        {
            "model_name": "llama3.2:1b",
            "litellm_params": {"model": "ollama_chat/llama3.2:1b", "api_base": "http://ollama:11434"},
        },
        {
            "model_name": "qwen2.5:7b",
            "litellm_params": {"model": "ollama_chat/qwen2.5:7b", "api_base": "http://ollama:11434"},
        },
        {
            "model_name": "nomic-embed-text",
            "litellm_params": {"model": "ollama/nomic-embed-text", "api_base": "http://ollama:11434"},
            "model_info": {"mode": "embedding"},
        },
        {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_API_KEY"}},
    ]
    # LiteLLM's router (litellm/router.py Router.__init__ keyword arguments, 1.101.0).
    assert doc["router_settings"] == {
        "routing_strategy": "simple-shuffle",
        "enable_weighted_failover": True,
        "num_retries": 2,
    }
    # The secrets are in the file itself (it is uploaded as a secret; env would show in
    # docker inspect): LiteLLM reads master_key and database_url from general_settings and sets
    # environment_variables into its environment before it reads the model list.
    assert doc["general_settings"] == {
        "master_key": "sk-master",
        "database_url": "postgresql://litellm:pw@postgres:5432/litellm",
    }
    assert list(doc["environment_variables"].items()) == [("LITELLM_SALT_KEY", "salt"), ("OPENAI_API_KEY", "sk-openai")]


def test_a_gated_instance_gets_its_token_and_embeds_over_the_openai_api() -> None:
    """Behind a gate: chat through ollama_chat/ with the token as api_key (LiteLLM sends it as a
    bearer token); embeddings through openai/ at /v1, because LiteLLM's ollama/ embeddings send no
    header (llms/ollama/completion/handler.py ollama_aembeddings, 1.101.0)."""
    doc = yaml.safe_load(
        render_litellm_config(
            deployments=[
                Deployment("llama3.1:8b", "http://10.8.0.11:11434", "tok"),
                Deployment("llama3.1:8b", "http://10.8.0.11:11435", "tok"),
                Deployment("nomic-embed-text", "http://10.8.0.11:11434", "tok", embedding=True),
            ],
            master_key="sk-m",
            database_url="postgresql://x",
        )
    )
    assert doc["model_list"] == [
        {
            "model_name": "llama3.1:8b",
            "litellm_params": {
                "model": "ollama_chat/llama3.1:8b",
                "api_base": "http://10.8.0.11:11434",
                "api_key": "tok",
            },
        },
        {
            "model_name": "llama3.1:8b",
            "litellm_params": {
                "model": "ollama_chat/llama3.1:8b",
                "api_base": "http://10.8.0.11:11435",
                "api_key": "tok",
            },
        },
        {
            "model_name": "nomic-embed-text",
            "litellm_params": {
                "model": "openai/nomic-embed-text",
                "api_base": "http://10.8.0.11:11434/v1",
                "api_key": "tok",
            },
            "model_info": {"mode": "embedding"},
        },
    ]


def test_traefik_static_config() -> None:
    s = Settings.model_validate(
        {
            "traefik": {"mode": "deploy", "acmeEmail": "ops@example.com", "certResolver": "le"},
            "openWebui": {"host": "chat.example.com"},
            "litellm": {"host": "llm.example.com"},
            "network": {"name": "edge"},
            "host": {"cpus": 16, "memory": "32Gi"},
            "models": ["llama3.2:1b"],
        }
    )
    cmd = traefik_command(s.traefik, network=s.network.name, endpoint="tcp://sp:2375")
    assert "--providers.docker.endpoint=tcp://sp:2375" in cmd
    assert "--providers.docker.network=edge" in cmd
    assert "--providers.docker.exposedbydefault=false" in cmd
    assert "--entrypoints.web.address=:8000" in cmd and "--entrypoints.websecure.address=:8443" in cmd
    assert "--entrypoints.web.http.redirections.entrypoint.to=:443" in cmd
    assert "--entrypoints.web.http.redirections.entrypoint.scheme=https" in cmd
    assert "--certificatesresolvers.le.acme.email=ops@example.com" in cmd
    assert "--certificatesresolvers.le.acme.storage=/letsencrypt/acme.json" in cmd
    assert "--ping=true" in cmd
