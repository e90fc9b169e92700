"""The real Open WebUI (PyPI wheel of the pinned image's release) with the prod stack's env.

- the env is the one the program declares for the prod container (`tools.offline.evaluate`),
  changed only as `webui.run_env` lists: LiteLLM's URL to the tier's loopback LiteLLM (the real
  one with the prod config, accepting Open WebUI's virtual key as the key job registers it; the
  Ollama stand-in behind it), DATA_DIR, offline switches for this machine and the test's own
  browser origins; the process is started by the declared wrapper, its secrets in files;
- behind the real Traefik with the program's Traefik command and open-webui labels: Traefik
  and a label-carrying container run with host networking on the tier's private dockerd, so
  Traefik reaches the loopback process at 127.0.0.1 (its docker provider uses 127.0.0.1 for a
  container in host network mode with no node address); only entrypoint addresses (to
  127.0.0.1) and the service port label (to the process's port) are rewritten, and a
  constraint label keeps this Traefik to this test's container on a shared engine;
- headless Chromium loads the page through Traefik; the screenshot is kept.

Missing prerequisites skip on a laptop and fail under CI=true.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack.components.open_webui import CSP as OPEN_WEBUI_CSP
from tests.integration import it_edge, webui
from tests.integration.it_stack import (
    LitellmProxy,
    env_list,
    label_map,
)
from tests.integration.it_support import LOOPBACK, Engine, free_port, http_request, wait_for
from tools.offline import ROOT

pytestmark = pytest.mark.integration

ARTIFACTS = ROOT / "build" / "integration"
SERVICE_PORT_LABEL = "traefik.http.services.open-webui.loadbalancer.server.port"
STRICT_HOST = "chat-strict.example.com"
STRICT_CSP = "default-src 'self'"
"""The negative control: no inline script may run, which the UI needs to start."""


@pytest.fixture(scope="module")
def declared(prod: Any) -> dict[str, str]:
    """The env the program declares for the prod open-webui container (it holds no secret)."""
    return env_list(list(prod.containers()["open-webui"].inputs["envs"]))


@pytest.fixture(scope="module")
def files(prod: Any) -> dict[str, str]:
    """The secret files the program uploads into the open-webui container, by name."""
    return {Path(u["file"]).name: u["content"] for u in prod.containers()["open-webui"].inputs["uploads"]}


@pytest.fixture(scope="module")
def owui(
    prod: Any, declared: dict[str, str], litellm_keyed: LitellmProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[webui.Webui]:
    binary = webui.open_webui_binary()
    root = tmp_path_factory.mktemp("open-webui")
    data = root / "data"
    data.mkdir()
    port = free_port()
    traefik_origin_port = free_port()  # the websecure address of the host-mode Traefik below
    env = webui.run_env(
        declared,
        data_dir=data,
        litellm_url=litellm_keyed.url,
        extra_origins=[f"http://{LOOPBACK}:{port}", f"https://chat.example.com:{traefik_origin_port}"],
    )
    container = prod.containers()["open-webui"].inputs
    assert container["entrypoints"] == ["bash", "-c"]
    webui.write_secrets(container["uploads"], root / "secrets")
    server = webui.Webui(
        binary=binary,
        env=env,
        data_dir=data,
        port=port,
        logs=root,
        secrets_dir=root / "secrets",
        wrapper=container["command"][0],
        traefik_port=traefik_origin_port,
    )
    server.start()
    print(f"open-webui boot 1: /health after {server.last_boot_seconds:.1f}s")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin_token(owui: webui.Webui, declared: dict[str, str], files: dict[str, str]) -> str:
    """One sign-in for the whole module (sign-in is limited to 15 per 3 minutes per email)."""
    status, body = owui.request(
        "POST",
        "/api/v1/auths/signin",
        payload={"email": declared["WEBUI_ADMIN_EMAIL"], "password": files["webui-admin-password"]},
    )
    assert status == 200, body
    assert body["role"] == "admin" and body["email"] == declared["WEBUI_ADMIN_EMAIL"]
    assert body["name"] == declared["WEBUI_ADMIN_NAME"]
    token: str = body["token"]
    return token


# --------------------------------------------------------------------------- the process


def test_env_is_the_declared_one_changed_only_where_listed(declared: dict[str, str], owui: webui.Webui) -> None:
    changed = {k for k in declared if owui.env[k] != declared[k]}
    assert changed == {"OPENAI_API_BASE_URL", "RAG_OPENAI_API_BASE_URL", "CORS_ALLOW_ORIGIN"}
    assert owui.env["CORS_ALLOW_ORIGIN"].startswith(declared["CORS_ALLOW_ORIGIN"] + ";")
    added = set(owui.env) - set(declared)
    assert added == {"DATA_DIR", "STATIC_DIR", *webui.IMAGE_ENV, *webui.OFFLINE_ENV}
    # The prod declaration itself needs no offline switch to start: its embedding engine is
    # LiteLLM's, so nothing is loaded from Hugging Face at startup.
    assert declared["RAG_EMBEDDING_ENGINE"] == "openai"


def test_no_master_key_in_its_env_or_its_database(
    owui: webui.Webui, admin_token: str, litellm_keyed: LitellmProxy, files: dict[str, str]
) -> None:
    """Open WebUI holds the virtual key only: not in the declared env, not in the running
    process's environment, not in webui.db; an admin sees the virtual key at /openai/config."""
    master = litellm_keyed.master_key
    assert files["litellm-key"] == litellm_keyed.virtual_key != master
    assert owui.process is not None
    environ = Path(f"/proc/{_serving_pid(owui)}/environ").read_bytes()
    assert master.encode() not in environ and litellm_keyed.virtual_key.encode() in environ
    assert master.encode() not in (owui.data_dir / "webui.db").read_bytes()
    status, cfg = owui.request("GET", "/openai/config", token=admin_token)
    assert status == 200 and cfg["OPENAI_API_KEYS"] == [litellm_keyed.virtual_key], cfg


def test_health_and_version(owui: webui.Webui) -> None:
    status, body = owui.request("GET", "/health")
    assert (status, body) == (200, {"status": True})
    status, body = owui.request("GET", "/api/version")
    assert status == 200 and body["version"] == webui.release(), body


def test_first_admin_signs_in_with_the_declared_credentials(admin_token: str, owui: webui.Webui) -> None:
    status, body = owui.request("GET", "/api/v1/auths/", token=admin_token)
    assert status == 200 and body["role"] == "admin", body


def test_wrong_password_is_refused(owui: webui.Webui, declared: dict[str, str]) -> None:
    status, body = owui.request(
        "POST", "/api/v1/auths/signin", payload={"email": declared["WEBUI_ADMIN_EMAIL"], "password": "not-it"}
    )
    assert status == 400, body


def test_signup_is_refused_for_anyone_else(owui: webui.Webui, admin_token: str) -> None:
    status, body = owui.request(
        "POST",
        "/api/v1/auths/signup",
        payload={"email": "visitor@example.org", "password": "Visitor-pass-1", "name": "Visitor"},
    )
    assert status == 403, body
    status, body = owui.request("GET", "/api/v1/auths/admin/config", token=admin_token)
    assert status == 200 and body["ENABLE_SIGNUP"] is False, body


def _serving_pid(owui: webui.Webui) -> int:
    """The `open-webui serve` process the wrapper exec'd into (the Background's own pid)."""
    assert owui.process is not None
    return owui.process.proc.pid


def test_models_come_through_litellm_with_the_virtual_key(
    owui: webui.Webui, admin_token: str, litellm_keyed: LitellmProxy
) -> None:
    assert owui.request("GET", "/api/models")[0] == 401
    status, body = owui.request("GET", "/api/models", token=admin_token)
    assert status == 200, body
    owner = {m["id"]: m.get("owned_by") for m in body["data"]}
    # Exactly the stack's models, all through LiteLLM ("openai"): no Ollama connection, and not
    # the model LiteLLM serves beyond the stack's (the virtual key may not list it).
    assert set(owner) == set(litellm_keyed.evaluation.outputs["models"]) == set(litellm_keyed.key_models)
    assert set(owner.values()) == {"openai"}
    status, cfg = owui.request("GET", "/openai/config", token=admin_token)
    assert status == 200 and cfg["OPENAI_API_BASE_URLS"] == [f"{litellm_keyed.url}/v1"], cfg
    status, cfg = owui.request("GET", "/ollama/config", token=admin_token)
    assert status == 200 and cfg["ENABLE_OLLAMA_API"] is False, cfg


def test_cors_allows_the_declared_origin_only(owui: webui.Webui, declared: dict[str, str]) -> None:
    headers = {"Access-Control-Request-Method": "GET"}
    for origin, ok in ((declared["CORS_ALLOW_ORIGIN"].split(";")[0], True), ("https://evil.example", False)):
        reply = http_request(owui.port, "/api/models", method="OPTIONS", headers={**headers, "Origin": origin})
        assert (reply.status == 200) is ok, (origin, reply.status, reply.text)
        assert (reply.headers.get("access-control-allow-origin") == origin) is ok


# --------------------------------------------------------------------------- behind Traefik


@pytest.fixture(scope="module")
def host_traefik(
    owui: webui.Webui, docker_engine: Engine, traefik_image: str, standin_image: str, prod: Any
) -> Iterator[dict[str, Any]]:
    """Real Traefik with the program's command and open-webui labels in front of the process
    (it_edge.py); the carrier's healthcheck is the declared probe of /health (busybox wget
    instead of curl), so Traefik routes only while the real process is healthy."""
    containers = prod.containers()
    labels = label_map(containers["open-webui"])
    assert SERVICE_PORT_LABEL in labels
    labels[SERVICE_PORT_LABEL] = str(owui.port)
    # The control for the Content-Security-Policy test: the same labels under another router
    # and host, with a policy that forbids the inline scripts the UI starts from.
    strict = {k.replace("open-webui", "strict"): v.replace("open-webui", "strict") for k, v in labels.items()}
    strict["traefik.http.routers.strict.rule"] = f"Host(`{STRICT_HOST}`)"
    strict["traefik.http.middlewares.strict-headers.headers.contentSecurityPolicy"] = STRICT_CSP
    carriers = {
        "open-webui-host": it_edge.Carrier(labels, f"http://{LOOPBACK}:{owui.port}/health"),
        "open-webui-strict": it_edge.Carrier(strict),
    }
    with it_edge.host_traefik(
        docker_engine, traefik_image, standin_image, containers["traefik"], carriers,
        fixed_ports={"websecure": owui.traefik_port},
    ) as edge:  # fmt: skip
        service = wait_for("Traefik to route open-webui", lambda: edge.service("open-webui"), timeout=60)
        yield {"ports": edge.ports, "service": service, "command": edge.command, "api": edge.api}


def test_traefik_reaches_the_loopback_process(host_traefik: dict[str, Any], owui: webui.Webui) -> None:
    servers = [s["url"] for s in host_traefik["service"]["loadBalancer"]["servers"]]
    assert servers == [f"http://{LOOPBACK}:{owui.port}"]
    port = host_traefik["ports"]["websecure"]
    reply = http_request(port, "/health", host="chat.example.com", tls=True)
    assert reply.status == 200 and reply.json() == {"status": True}, reply.text
    # Redirect from plain HTTP, as declared.
    reply = http_request(host_traefik["ports"]["web"], "/", host="chat.example.com")
    assert reply.status in (301, 308) and reply.headers["location"].startswith("https://chat.example.com")
    # Other host names get nothing.
    assert http_request(port, "/health", host="other.example.com", tls=True).status == 404


def test_chat_page_loads_in_chromium_through_traefik(
    host_traefik: dict[str, Any], tmp_path: Path, owui: webui.Webui
) -> None:
    chromium = webui.chromium_binary()
    port = host_traefik["ports"]["websecure"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "open-webui-signin.png"
    shot.unlink(missing_ok=True)
    started = time.monotonic()
    log = webui.screenshot(
        chromium,
        f"https://chat.example.com:{port}/auth",
        shot,
        profile=tmp_path / "chromium",
        resolve={"chat.example.com": port},
    )
    print(f"screenshot: {shot} ({shot.stat().st_size} bytes, {time.monotonic() - started:.1f}s)")
    assert shot.stat().st_size > 10_000, log[-2000:]
    # The page and the app's own API calls went through Traefik to the real process.
    reply = http_request(port, "/auth", host="chat.example.com", tls=True)
    assert reply.status == 200 and "<title>Open WebUI</title>" in reply.text, reply.text[:300]


def test_the_ui_works_under_its_content_security_policy(
    host_traefik: dict[str, Any], tmp_path: Path, owui: webui.Webui
) -> None:
    """Headless Chromium loads the sign-in page through Traefik with the program's CSP header:
    the app builds its sign-in form and Chromium reports no violation. The control, the same
    page under a policy without 'unsafe-inline', is blocked and builds nothing: the check can fail."""
    chromium = webui.chromium_binary()
    port = host_traefik["ports"]["websecure"]
    reply = http_request(port, "/auth", host="chat.example.com", tls=True)
    assert reply.headers.get("content-security-policy") == OPEN_WEBUI_CSP
    resolve = {"chat.example.com": port, STRICT_HOST: port}
    dom, log = webui.load_page(
        chromium, f"https://chat.example.com:{port}/auth", profile=tmp_path / "csp", resolve=resolve
    )
    assert 'type="password"' in dom and 'type="email"' in dom, dom[-2000:]
    assert "Content Security Policy" not in log, [line for line in log.splitlines() if "Security Policy" in line]
    strict = http_request(port, "/auth", host=STRICT_HOST, tls=True)
    assert strict.status == 200 and strict.headers.get("content-security-policy") == STRICT_CSP
    dom, log = webui.load_page(
        chromium, f"https://{STRICT_HOST}:{port}/auth", profile=tmp_path / "strict", resolve=resolve
    )
    assert "Content Security Policy" in log and 'type="password"' not in dom


# --------------------------------------------------------------------------- restart (last)


def test_a_restart_keeps_sessions_converges_the_key_and_drops_the_password(
    owui: webui.Webui, admin_token: str, declared: dict[str, str], litellm_keyed: LitellmProxy
) -> None:
    """A new process on the same data and secret key accepts the old token; the env's admin and
    signup settings are not re-applied (the database wins). Before it starts, the wrapper puts
    the stack's LiteLLM key back into the database (here one that stored the master key, as an
    older stack's did) and, a user existing, deletes the admin password file."""
    db = owui.data_dir / "webui.db"
    master = litellm_keyed.master_key
    owui.stop()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE config SET value = ? WHERE key = 'openai.api_keys'", (json.dumps([master]),))
    conn.close()
    assert master.encode() in db.read_bytes()
    owui.start()
    print(f"open-webui boot {owui.boots}: /health after {owui.last_boot_seconds:.1f}s")
    status, body = owui.request("GET", "/api/v1/auths/", token=admin_token)
    assert status == 200 and body["email"] == declared["WEBUI_ADMIN_EMAIL"], body
    status, cfg = owui.request("GET", "/openai/config", token=admin_token)
    assert status == 200 and cfg["OPENAI_API_KEYS"] == [litellm_keyed.virtual_key], cfg
    assert master.encode() not in db.read_bytes()
    assert not (owui.secrets_dir / "webui-admin-password").exists()
    environ = Path(f"/proc/{_serving_pid(owui)}/environ").read_bytes()
    assert b"WEBUI_ADMIN_PASSWORD" not in environ
    status, body = owui.request(
        "POST", "/api/v1/auths/signup", payload={"email": "late@example.org", "password": "Late-pass-1", "name": "L"}
    )
    assert status == 403, body
