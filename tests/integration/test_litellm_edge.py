"""LiteLLM's public surface through real Traefik: the program's labels in front of real LiteLLM.

Traefik v3.7.13 with the program's command and the litellm container's labels (it_edge.py) routes
llm.example.com to the real LiteLLM proxy of the prod stack. From an ordinary client the OpenAI
API and the liveness probe answer; docs, /routes, the admin UI, its sign-in, the public pages,
MCP's OAuth registration and the management API are Traefik's 404, with the security headers.
A second carrier, the same labels with `litellm.adminSourceRange` covering this machine, shows
the admin router: the management API reaches LiteLLM from that range.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from stack.components.litellm import API_PATHS
from stack.render.labels import host_rule
from tests.integration import it_edge
from tests.integration.it_stack import LitellmProxy, label_map
from tests.integration.it_support import Engine, http_request, wait_for
from tools.offline import ROOT, evaluate

pytestmark = pytest.mark.integration

HOST, ADMIN_HOST = "llm.example.com", "llm-admin.example.com"
PORT_LABEL = "traefik.http.services.litellm.loadbalancer.server.port"


@pytest.fixture(scope="module")
def edge(
    docker_engine: Engine, traefik_image: str, standin_image: str, prod: Any, litellm_prod: LitellmProxy
) -> Iterator[it_edge.HostTraefik]:
    labels = label_map(prod.containers()["litellm"])
    labels[PORT_LABEL] = str(litellm_prod.port)
    # The same stack with an admin range covering this machine (Traefik sees 127.0.0.1 here).
    stack_file = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    stack_file["config"]["ai-stack:litellm"]["adminSourceRange"] = ["127.0.0.0/8"]
    ranged = evaluate("prod", config_text=yaml.safe_dump(stack_file))
    admin = {
        k.replace(".litellm", ".litellm-ranged"): (
            "litellm-ranged" if v == "litellm" else v.replace("litellm-", "litellm-ranged-").replace(HOST, ADMIN_HOST)
        )
        for k, v in label_map(ranged.containers()["litellm"]).items()
    }
    assert "traefik.http.routers.litellm-ranged-admin.rule" in admin
    admin["traefik.http.services.litellm-ranged.loadbalancer.server.port"] = str(litellm_prod.port)
    carriers = {
        "litellm-host": it_edge.Carrier(labels, f"http://127.0.0.1:{litellm_prod.port}/health/liveliness"),
        "litellm-ranged": it_edge.Carrier(admin),
    }
    with it_edge.host_traefik(docker_engine, traefik_image, standin_image, prod.containers()["traefik"], carriers) as e:
        wait_for("Traefik to route litellm", lambda: e.service("litellm") and e.service("litellm-ranged"), timeout=60)
        yield e


def _call(
    edge: it_edge.HostTraefik, host: str, path: str, key: str | None, method: str = "GET", body: Any = None
) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    return http_request(edge.ports["websecure"], path, host=host, tls=True, method=method, headers=headers, body=data)


def test_the_api_answers(edge: it_edge.HostTraefik, litellm_prod: LitellmProxy) -> None:
    key = litellm_prod.master_key
    reply = _call(edge, HOST, "/v1/models", key)
    assert reply.status == 200 and sorted(m["id"] for m in reply.json()["data"]) == sorted(litellm_prod.models)
    chat = next(m for m in litellm_prod.models if m not in litellm_prod.embedding_models)
    reply = _call(
        edge,
        HOST,
        "/v1/chat/completions",
        key,
        "POST",
        {"model": chat, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert reply.status == 200, reply.text
    reply = _call(edge, HOST, f"/v1/models/{chat}", key)
    assert reply.status == 200, reply.text
    assert _call(edge, HOST, "/health/liveliness", None).status == 200
    assert _call(edge, HOST, "/v1/models", None).status == 401  # LiteLLM's own refusal, through Traefik


REFUSED = [
    ("GET", "/"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
    ("GET", "/routes"),
    ("GET", "/ui/"),
    ("GET", "/ui/login"),
    ("GET", "/sso/key/generate"),
    ("GET", "/public/model_hub"),
    ("GET", "/.well-known/litellm-ui-config"),
    ("POST", "/register"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("POST", "/key/generate"),
    ("GET", "/key/info"),
    ("POST", "/user/new"),
    ("POST", "/model/new"),
    ("GET", "/config/yaml"),
    ("GET", "/health"),
    ("POST", "/v1/mcp/server/register"),
    ("POST", "/v1/agents/make_public"),
    ("GET", "/v1/access_group"),
    ("GET", "/chat/completions"),
    ("GET", "/v1/models/x/y"),
]


@pytest.mark.parametrize(("method", "path"), REFUSED)
def test_nothing_else_reaches_litellm(
    edge: it_edge.HostTraefik, litellm_prod: LitellmProxy, method: str, path: str
) -> None:
    reply = _call(edge, HOST, path, litellm_prod.master_key, method, {} if method == "POST" else None)
    assert reply.status == 404 and reply.text == "", (path, reply.status, reply.text[:200])
    assert reply.headers.get("strict-transport-security") and reply.headers.get("x-frame-options") == "DENY"


def test_the_admin_range_reaches_the_management_api(edge: it_edge.HostTraefik, litellm_prod: LitellmProxy) -> None:
    """From inside adminSourceRange every path goes through: LiteLLM answers (it has no database
    here, so a management call ends in its own error, not Traefik's 404)."""
    reply = _call(edge, ADMIN_HOST, "/key/info", litellm_prod.master_key)
    assert reply.status != 404 and reply.text, reply.status
    assert "atabase" in reply.text or "db" in reply.text.lower(), reply.text[:300]
    assert _call(edge, ADMIN_HOST, "/v1/models", litellm_prod.master_key).status == 200


def test_every_path_the_rule_admits_is_an_openai_route(litellm_offline: None) -> None:
    """Against LiteLLM's whole route table (616 paths at 1.101.0): each one the allow-list admits
    is in LiteLLM's own list of OpenAI routes (LiteLLMRoutes.openai_routes), OpenAI's
    retrieve-model route, or the liveness probe."""
    from litellm.proxy._types import LiteLLMRoutes
    from litellm.proxy.proxy_server import app

    paths = sorted(app.openapi()["paths"]) if app.openapi_url else _all_paths(app)
    assert len(paths) > 300
    admitted = [p for p in paths if any(rule.matches(p.replace("{", "x").replace("}", "x")) for rule in API_PATHS)]
    allowed = set(LiteLLMRoutes.openai_routes.value) | {"/health/liveliness", "/v1/models/{model_id}"}
    assert admitted and not [p for p in admitted if p not in allowed], admitted
    assert host_rule(HOST, API_PATHS).count("Path") == len(API_PATHS)


def _all_paths(app: Any) -> list[str]:
    from fastapi.openapi.utils import get_openapi

    return sorted(get_openapi(title="t", version="0", routes=app.routes)["paths"])
