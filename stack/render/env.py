"""Environment lists, sorted by variable name so diffs stay quiet."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from stack.render.oidc import oidc_env
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


# The name Open WebUI gives the admin it creates from WEBUI_ADMIN_EMAIL/PASSWORD (its default too).
WEBUI_ADMIN_NAME = "Admin"


def open_webui_env(
    w: OpenWebui,
    *,
    url: str,
    origins: list[str],
    litellm_url: pulumi.Input[str],
    embedding_models: Sequence[str] = (),
) -> list[Env]:
    """The non-secret variables (the keys and the admin password come from files, see
    stack/render/open_webui.py).

    Read at the first boot only, then kept in Open WebUI's database (see README):
    WEBUI_URL, ENABLE_SIGNUP, DEFAULT_USER_ROLE, the connection settings, the RAG embedding,
    JWT_EXPIRES_IN and ENABLE_EVALUATION_ARENA_MODELS. WEBUI_ADMIN_* act only while the database
    has no user. CORS_ALLOW_ORIGIN and the cookie flags are read at every start (env.py).

    Open WebUI talks to LiteLLM only, with a virtual key limited to the stack's models: no
    Ollama connection (ENABLE_OLLAMA_API=false), so a foothold in Open WebUI (an admin's
    Functions and Tools run Python on the server) cannot pull, replace or delete models.
    """
    v1: pulumi.Input[str] = (
        f"{litellm_url}/v1" if isinstance(litellm_url, str) else pulumi.Output.concat(litellm_url, "/v1")
    )
    pairs: dict[str, pulumi.Input[str]] = {
        "ENABLE_OLLAMA_API": "false",
        "OPENAI_API_BASE_URL": v1,
        "WEBUI_URL": url,
        "CORS_ALLOW_ORIGIN": ";".join(origins),
        "ENABLE_SIGNUP": "true" if w.enable_signup else "false",
        "DEFAULT_USER_ROLE": w.default_user_role,
        # Only the models the stack serves: no built-in "arena" pseudo-model in the list.
        "ENABLE_EVALUATION_ARENA_MODELS": "false",
        # config.py JWT_EXPIRES_IN (persisted as auth.jwt_expiry); 0.11.1's default is 4w.
        "JWT_EXPIRES_IN": w.session_lifetime,
        # env.py WEBUI_SESSION_COOKIE_SECURE (WEBUI_AUTH_COOKIE_SECURE follows it): the session
        # cookie is sent over HTTPS only wherever users open Open WebUI over HTTPS.
        "WEBUI_SESSION_COOKIE_SECURE": "true" if url.startswith("https://") else "false",
    }
    if embedding_models:
        # Documents are embedded by the stack's own embedding model through LiteLLM (the same
        # key, RAG_OPENAI_API_KEY, set by the wrapper). Left empty, the engine is the in-process
        # sentence-transformers one, whose model is downloaded from Hugging Face during the first
        # start (routers/retrieval.py get_ef, main.py lifespan). RAG_OPENAI_API_BASE_URL must be
        # explicit: config.py defaults it to https://api.openai.com/v1.
        pairs["RAG_EMBEDDING_ENGINE"] = "openai"
        pairs["RAG_EMBEDDING_MODEL"] = embedding_models[0]
        pairs["RAG_OPENAI_API_BASE_URL"] = v1
    if w.admin_email:
        pairs["WEBUI_ADMIN_EMAIL"] = w.admin_email
        pairs["WEBUI_ADMIN_NAME"] = WEBUI_ADMIN_NAME
    if w.oidc is not None:
        pairs |= oidc_env(w.oidc, webui_url=url)
    return _sorted(pairs)
