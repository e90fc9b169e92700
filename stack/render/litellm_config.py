"""LiteLLM's config.yaml, rendered from the declared models as a pure function."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from stack.settings import Provider


def render_litellm_config(
    *,
    models: Sequence[str],
    embedding_models: Sequence[str] = (),
    providers: Sequence[Provider] = (),
    ollama_base: str,
    metrics: bool = False,
) -> str:
    """Return config.yaml text. Secrets are never inlined: they are `os.environ/NAME` references."""
    model_list: list[dict[str, object]] = []
    for name in models:
        model_list.append(
            {
                "model_name": name,
                # ollama_chat uses /api/chat, which LiteLLM recommends over /api/generate.
                "litellm_params": {"model": f"ollama_chat/{name}", "api_base": ollama_base},
            }
        )
    for name in embedding_models:
        model_list.append(
            {
                "model_name": name,
                "litellm_params": {"model": f"ollama/{name}", "api_base": ollama_base},
                "model_info": {"mode": "embedding"},
            }
        )
    for p in providers:
        model_list.append(
            {
                "model_name": p.model_name,
                "litellm_params": {"model": p.model, "api_key": f"os.environ/{p.api_key_env}"},
            }
        )
    config: dict[str, object] = {
        "model_list": model_list,
        # master_key must sit under general_settings; both values are read from the env.
        "general_settings": {
            "master_key": "os.environ/LITELLM_MASTER_KEY",
            "database_url": "os.environ/DATABASE_URL",
        },
    }
    if metrics:
        # /metrics through LiteLLM's prometheus callback (litellm/integrations/prometheus.py,
        # 1.101.0); the endpoint asks for a key (litellm_settings.require_auth_for_metrics_endpoint
        # defaults to true, proxy/middleware/prometheus_auth_middleware.py).
        config["litellm_settings"] = {"callbacks": ["prometheus"]}
    text: str = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    return text
