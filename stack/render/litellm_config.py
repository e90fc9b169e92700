"""LiteLLM's config.yaml, rendered from the declared models as a pure function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stack.render import yamltext
from stack.settings import Provider

ROUTER_SETTINGS: dict[str, object] = {
    # Random over the deployments of a model (LiteLLM's default and its documented choice for
    # production, litellm/router.py Router.__init__, 1.101.0). Not least-busy: its in-flight count
    # (router_strategy/least_busy.py) is raised before a call and never lowered when the
    # connection fails, so an instance that was down once gets no request again (measured with
    # real LiteLLM, tests/integration/test_scaleout_routing.py).
    "routing_strategy": "simple-shuffle",
    # A failed call is retried on another deployment of the same model (Router
    # _maybe_run_weighted_failover, excluding the one that failed). Without it the retries pick
    # at random again, so a request fails whenever each retry lands on the dead instance:
    # LiteLLM never cools down a deployment on a connection error
    # (router_utils/cooldown_handlers.py _is_cooldown_required ignores APIConnectionError).
    "enable_weighted_failover": True,
    # Two more attempts (openai.DEFAULT_MAX_RETRIES, LiteLLM's default), written out.
    "num_retries": 2,
}
"""How LiteLLM spreads one model over the Ollama instances that serve it. No background health
checks: LiteLLM's probe is a real completion on every deployment (proxy/health_check.py), which
on Ollama loads each model on each instance at every interval."""


@dataclass(frozen=True)
class Deployment:
    """One Ollama instance serving one model, as LiteLLM reaches it."""

    model: str
    api_base: str
    api_key: str | None = None
    """The gate's bearer token (an inference host's instance); None for an ungated Ollama."""
    embedding: bool = False

    def entry(self) -> dict[str, object]:
        params: dict[str, object]
        if not self.embedding:
            # ollama_chat uses /api/chat, which LiteLLM recommends over /api/generate, and sends
            # the api_key as a bearer token (llms/ollama/chat/transformation.py).
            params = {"model": f"ollama_chat/{self.model}", "api_base": self.api_base}
        elif self.api_key is None:
            params = {"model": f"ollama/{self.model}", "api_base": self.api_base}
        else:
            # LiteLLM's ollama/ embeddings send no header at all (llms/ollama/completion/handler.py
            # ollama_aembeddings, 1.101.0); Ollama's OpenAI-compatible /v1/embeddings
            # (server/routes.go, v0.32.15) through the openai/ provider sends the bearer token.
            params = {"model": f"openai/{self.model}", "api_base": f"{self.api_base}/v1"}
        if self.api_key is not None:
            params["api_key"] = self.api_key
        entry: dict[str, object] = {"model_name": self.model, "litellm_params": params}
        if self.embedding:
            entry["model_info"] = {"mode": "embedding"}
        return entry


def render_litellm_config(
    *,
    deployments: Sequence[Deployment],
    providers: Sequence[Provider] = (),
    master_key: str,
    database_url: str,
    environment: Mapping[str, str] | None = None,
    metrics: bool = False,
) -> str:
    """Return config.yaml text, secrets included: the file is uploaded (a secret in the state,
    never in the container's env, which anything allowed to inspect containers could read).

    - `model_list`: each Ollama model once per instance that serves it, under one model_name
      (LiteLLM load-balances the deployments of a model_name, `router_settings`);
    - `general_settings.master_key`: read from there at load_config (proxy_server.py);
    - `general_settings.database_url`: proxy_cli.py copies it to os.environ["DATABASE_URL"]
      before the Prisma migrations and the server start;
    - `environment_variables` (the salt key, hosted providers' keys): ProxyConfig
      ._load_environment_variables sets each in os.environ first thing in load_config, before
      the model list is read, so `os.environ/NAME` references still resolve; LITELLM_SALT_KEY
      is read at use time (encrypt_decrypt_utils._get_salt_key). (litellm 1.101.0)
    """
    model_list = [d.entry() for d in deployments]
    for p in providers:
        model_list.append(
            {
                "model_name": p.model_name,
                "litellm_params": {"model": p.model, "api_key": f"os.environ/{p.api_key_env}"},
            }
        )
    config: dict[str, object] = {
        "model_list": model_list,
        "router_settings": dict(ROUTER_SETTINGS),
        # master_key must sit under general_settings.
        "general_settings": {"master_key": master_key, "database_url": database_url},
    }
    if environment:
        config["environment_variables"] = {k: environment[k] for k in sorted(environment)}
    if metrics:
        # /metrics through LiteLLM's prometheus callback (litellm/integrations/prometheus.py,
        # 1.101.0); the endpoint asks for a key (litellm_settings.require_auth_for_metrics_endpoint
        # defaults to true, proxy/middleware/prometheus_auth_middleware.py).
        config["litellm_settings"] = {"callbacks": ["prometheus"]}
    text: str = yamltext.dump(config, sort_keys=False, default_flow_style=False)
    return text
