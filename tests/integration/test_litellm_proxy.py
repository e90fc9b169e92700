"""The real LiteLLM proxy with the exact config.yaml, command and env the program uploads.

Only for this test: DATABASE_URL/STORE_MODEL_IN_DB and general_settings.database_url are
left out (no Postgres), and Ollama's api_base points at a loopback stand-in so the real
`ollama_chat/` (and `ollama/` embedding) code path runs. Everything on 127.0.0.1.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.integration.it_stack import LitellmProxy
from tests.integration.it_support import http_request
from tests.integration.standins import REPLY

pytestmark = pytest.mark.integration


def _get(proxy: LitellmProxy, path: str, key: str | None = None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    reply = http_request(proxy.port, path, headers=headers, timeout=30)
    try:
        return reply.status, reply.json()
    except json.JSONDecodeError:
        return reply.status, reply.text


def _post(proxy: LitellmProxy, path: str, payload: dict[str, Any], key: str | None) -> tuple[int, object]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    reply = http_request(
        proxy.port, path, method="POST", headers=headers, body=json.dumps(payload).encode(), timeout=60
    )
    try:
        return reply.status, reply.json()
    except json.JSONDecodeError:
        return reply.status, reply.text


def test_config_is_the_uploaded_one_minus_the_database(litellm_proxy: LitellmProxy) -> None:
    litellm = litellm_proxy.evaluation.containers()["litellm"]
    uploaded = yaml.safe_load(litellm.inputs["uploads"][0]["content"])
    # The secrets are in the uploaded file, the env has none (docker inspect shows env).
    assert uploaded["general_settings"]["master_key"] == litellm_proxy.master_key
    assert litellm_proxy.master_key.startswith("sk-")
    assert set(uploaded["environment_variables"]) == {"LITELLM_SALT_KEY"}
    # Each model once per Ollama instance (prod: two), listed once.
    assert list(dict.fromkeys(m["model_name"] for m in uploaded["model_list"])) == litellm_proxy.models
    used = litellm_proxy.config
    assert set(uploaded["general_settings"]) - set(used["general_settings"]) == {"database_url"}
    assert used["environment_variables"] == uploaded["environment_variables"]
    assert not any(k in litellm_proxy.env for k in ("LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "DATABASE_URL"))


def test_docs_and_openapi_are_off(litellm_proxy: LitellmProxy) -> None:
    """NO_DOCS, NO_REDOC, NO_OPENAPI from the declared env (litellm/proxy/utils.py): FastAPI's
    Swagger UI at /, ReDoc and the schema are gone even when LiteLLM is reached directly."""
    for path in ("/docs", "/redoc", "/openapi.json"):
        status, body = _get(litellm_proxy, path)
        assert status == 404, (path, status, str(body)[:200])
    status, body = _get(litellm_proxy, "/")  # a status line instead of Swagger's page
    assert status == 200 and "swagger" not in str(body).lower(), body


def test_the_admin_ui_cannot_sign_in(litellm_proxy: LitellmProxy) -> None:
    """DISABLE_ADMIN_UI (management_endpoints/ui_sso.py): the UI's sign-in answers that the UI is
    disabled. Its static pages stay mounted at /ui (proxy_server.py), which is why Traefik
    forwards only the API paths (test_litellm_edge.py)."""
    status, body = _get(litellm_proxy, "/sso/key/generate")
    assert "disabled" in str(body).lower(), (status, str(body)[:300])
    status, _ = _get(litellm_proxy, "/ui/")
    assert status == 200


def test_liveliness_needs_no_key(litellm_proxy: LitellmProxy) -> None:
    status, body = _get(litellm_proxy, "/health/liveliness")
    assert status == 200
    assert "alive" in str(body).lower()


def test_models_lists_exactly_the_declared_models(litellm_proxy: LitellmProxy) -> None:
    status, body = _get(litellm_proxy, "/v1/models", litellm_proxy.master_key)
    assert status == 200, body
    assert isinstance(body, dict)
    ids = sorted(m["id"] for m in body["data"])
    assert ids == sorted(litellm_proxy.models)
    # ... which are the models the stack declares (and exports as `models`).
    assert ids == sorted(litellm_proxy.evaluation.outputs["models"])


def test_no_key_is_refused(litellm_proxy: LitellmProxy) -> None:
    for path in ("/v1/models", "/v1/chat/completions"):
        if path.endswith("completions"):
            status, body = _post(
                litellm_proxy,
                path,
                {"model": litellm_proxy.models[0], "messages": [{"role": "user", "content": "hi"}]},
                None,
            )
        else:
            status, body = _get(litellm_proxy, path)
        assert status == 401, (path, status, body)
    assert litellm_proxy.ollama.chats() == []


@pytest.mark.parametrize("kind", ["other sk- key", "master key altered", "not sk- prefixed"])
def test_wrong_key_is_refused(litellm_proxy: LitellmProxy, kind: str) -> None:
    key = {
        "other sk- key": "sk-" + "0" * 40,
        "master key altered": litellm_proxy.master_key[:-1] + ("x" if litellm_proxy.master_key[-1] != "x" else "y"),
        "not sk- prefixed": "wrong",
    }[kind]
    status, body = _get(litellm_proxy, "/v1/models", key)
    # With its DB, LiteLLM answers 401 for an unknown key. This test runs without Postgres,
    # and LiteLLM then refuses any non-master key with 400 "No connected db." before the DB
    # lookup (litellm/proxy/auth/user_api_key_auth.py). Either way: refused, no model list.
    assert status in (400, 401, 403), (status, body)
    assert "data" not in (body if isinstance(body, dict) else {}), body
    status, body = _post(
        litellm_proxy,
        "/v1/chat/completions",
        {"model": litellm_proxy.models[0], "messages": [{"role": "user", "content": "hi"}]},
        key,
    )
    assert status in (400, 401, 403), (status, body)
    assert litellm_proxy.ollama.chats() == [], "a refused request must not reach Ollama"


def test_chat_completion_reaches_ollama_for_every_chat_model(litellm_proxy: LitellmProxy) -> None:
    chat_models = [m for m in litellm_proxy.models if m not in litellm_proxy.embedding_models]
    assert chat_models
    for model in chat_models:
        status, body = _post(
            litellm_proxy,
            "/v1/chat/completions",
            {"model": model, "messages": [{"role": "user", "content": "ping"}]},
            litellm_proxy.master_key,
        )
        assert status == 200, (model, body)
        assert isinstance(body, dict)
        assert body["choices"][0]["message"]["content"] == REPLY
    sent = [c["model"] for c in litellm_proxy.ollama.chats()]
    assert sent == [litellm_proxy.ollama_models[m] for m in chat_models]


def test_streamed_chat_completion(litellm_proxy: LitellmProxy) -> None:
    model = next(m for m in litellm_proxy.models if m not in litellm_proxy.embedding_models)
    reply = http_request(
        litellm_proxy.port,
        "/v1/chat/completions",
        method="POST",
        timeout=60,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {litellm_proxy.master_key}"},
        body=json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "ping"}]}).encode(),
    )
    assert reply.status == 200, reply.text
    chunks = [json.loads(line[6:]) for line in reply.text.splitlines() if line.startswith("data: {")]
    text = "".join((c["choices"][0].get("delta") or {}).get("content") or "" for c in chunks if c.get("choices"))
    assert text == REPLY
    assert "data: [DONE]" in reply.text


def test_embeddings_reach_ollama(litellm_prod: LitellmProxy) -> None:
    litellm_proxy = litellm_prod  # the prod stack declares an embedding model
    litellm_proxy.ollama.requests.clear()
    assert litellm_proxy.embedding_models
    for model in litellm_proxy.embedding_models:
        status, body = _post(
            litellm_proxy, "/v1/embeddings", {"model": model, "input": ["hello"]}, litellm_proxy.master_key
        )
        assert status == 200, body
        assert isinstance(body, dict) and body["data"][0]["embedding"] == [0.1, 0.2, 0.3]
    paths = [p for m, p, _ in litellm_proxy.ollama.requests if m == "POST"]
    assert any(p in ("/api/embed", "/api/embeddings") for p in paths), paths
