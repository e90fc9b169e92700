"""LiteLLM's config.yaml, rendered from the declared models as a pure function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stack.render import yamltext
from stack.settings import Provider


def render_litellm_config(
    *,
    models: Sequence[str],
    embedding_models: Sequence[str] = (),
    providers: Sequence[Provider] = (),
    ollama_base: str,
    master_key: str,
    database_url: str,
    environment: Mapping[str, str] | None = None,
    metrics: bool = False,
) -> str:
    """Return config.yaml text, secrets included: the file is uploaded (a secret in the state,
    never in the container's env, which anything allowed to inspect containers could read).

    - `general_settings.master_key`: read from there at load_config (proxy_server.py);
    - `general_settings.database_url`: proxy_cli.py copies it to os.environ["DATABASE_URL"]
      before the Prisma migrations and the server start;
    - `environment_variables` (the salt key, hosted providers' keys): ProxyConfig
      ._load_environment_variables sets each in os.environ first thing in load_config, before
      the model list is read, so `os.environ/NAME` references still resolve; LITELLM_SALT_KEY
      is read at use time (encrypt_decrypt_utils._get_salt_key). (litellm 1.101.0)
    """
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
