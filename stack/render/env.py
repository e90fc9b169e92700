"""Environment lists, sorted by variable name so diffs stay quiet."""

from __future__ import annotations

import pulumi

from stack.settings import Ollama, OpenWebui

Env = pulumi.Input[str]


def env(name: str, value: pulumi.Input[str]) -> Env:
    """`NAME=value`; a plain string when the value is one, else an Output that keeps its dependencies."""
    if isinstance(value, str):
        return f"{name}={value}"
    return pulumi.Output.concat(name, "=", value)


def secret_env(name: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
    """An env entry that stays a Pulumi secret end to end."""
    return pulumi.Output.secret(pulumi.Output.concat(name, "=", value))


def _sorted(pairs: dict[str, pulumi.Input[str]]) -> list[Env]:
    return [env(name, pairs[name]) for name in sorted(pairs)]


def ollama_env(o: Ollama, *, port: int) -> list[Env]:
    """Tuning variables; the context length is always explicit because its default varies."""
    return _sorted(
        {
            "OLLAMA_HOST": f"0.0.0.0:{port}",
            "OLLAMA_FLASH_ATTENTION": "1" if o.flash_attention else "0",
            "OLLAMA_KV_CACHE_TYPE": o.kv_cache_type,
            "OLLAMA_NUM_PARALLEL": str(o.num_parallel),
            "OLLAMA_MAX_LOADED_MODELS": str(o.max_loaded_models),
            "OLLAMA_KEEP_ALIVE": o.keep_alive,
            "OLLAMA_CONTEXT_LENGTH": str(o.context_length),
        }
    )


def open_webui_env(
    w: OpenWebui, *, url: str, ollama_url: pulumi.Input[str], litellm_url: pulumi.Input[str]
) -> list[Env]:
    """The non-secret variables. WEBUI_URL, ENABLE_SIGNUP and DEFAULT_USER_ROLE are read at the
    first boot only and then live in the database (see README)."""
    return _sorted(
        {
            "OLLAMA_BASE_URL": ollama_url,
            "OPENAI_API_BASE_URL": pulumi.Output.concat(litellm_url, "/v1")
            if not isinstance(litellm_url, str)
            else f"{litellm_url}/v1",
            "WEBUI_URL": url,
            "CORS_ALLOW_ORIGIN": url,
            "ENABLE_SIGNUP": "true" if w.enable_signup else "false",
            "DEFAULT_USER_ROLE": w.default_user_role,
        }
    )
