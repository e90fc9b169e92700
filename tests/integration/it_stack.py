"""What the integration tier takes from the program, and how it starts the pieces.

Helpers of tests/integration/conftest.py and the test files (a module of its own so the
test files never import `conftest`, which is ambiguous next to tests/policy/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from tests.integration.it_support import (
    LOOPBACK,
    Background,
    Engine,
    free_port,
    http_request,
    unavailable,
    venv_script,
    wait_for,
)
from tests.integration.standins import OllamaStandIn

CONTAINER = "docker:index/container:Container"
TRAEFIK_API_PORT = 9090
"""A test-only entrypoint (`itapi`) for Traefik's API, published on loopback only: the program's
own `traefik` entrypoint (ping) listens on the container's 127.0.0.1, which no publish reaches."""
API_ROUTER_LABELS = {
    "traefik.enable": "true",
    "traefik.http.routers.it-api.rule": "PathPrefix(`/api`)",
    "traefik.http.routers.it-api.entrypoints": "itapi",
    "traefik.http.routers.it-api.service": "api@internal",
}
"""Test-only labels on Traefik's container: its API on the itapi entrypoint."""
ROUTED_LABEL = ("ai-stack-it.routed", "1")
"""On every container of the routed stack (its stand-ins and its Traefik), and nowhere else."""
ROUTED_CONSTRAINT = f"--providers.docker.constraints=Label(`{ROUTED_LABEL[0]}`,`{ROUTED_LABEL[1]}`)"
"""The routed stack's Traefik sees only those. Other tests run Traefiks of their own on the same
engine (test_open_webui's `strict` router, test_pack_traefik's carriers), whose label carriers are
host-network containers. Unconstrained, the routed Traefik loads their routers too, and for each
looks up `host.docker.internal` and `host.containers.internal` (pkg/provider/docker/config.go
getIPAddress, v3.7; keepContainer, which applies the constraint, runs first). From its bridge
network no resolver answers those (the private engine neither forwards nor masquerades, so the
embedded DNS's upstream is out of reach): seconds per lookup, on every Docker event, and the routed
Traefik lags behind the stand-ins it must drop."""
# Inside Traefik's container nothing listens on port 9: ACME fails at once, no packet leaves.
CLOSED_ACME = "https://127.0.0.1:9/directory"
ROUTE_PORT_LABEL = re.compile(r"^traefik\.http\.services\.([^.]+)\.loadbalancer\.server\.port$")
ROUTER_RULE_LABEL = re.compile(r"^traefik\.http\.routers\.([^.]+)\.rule$")
HOST_RULE = re.compile(r"^Host\(`([^`]+)`\)(?: && .+)?$")
HEALTH_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost):(\d+)(/[^\s'\"|;)]*)?")


def label_map(container: Any) -> dict[str, str]:
    return {item["label"]: item["value"] for item in container.inputs.get("labels") or []}


def health_path(container: Any) -> str:
    """The HTTP path the declared healthcheck probes on loopback ('/' when it is not HTTP)."""
    tests = " ".join((container.inputs.get("healthcheck") or {}).get("tests") or [])
    match = HEALTH_URL.search(tests)
    return (match.group(2) or "/") if match else "/"


def traefik_test_command(declared: list[str]) -> list[str]:
    """The stack's Traefik command with only what a loopback test must change.

    - each ACME resolver's caServer points at a closed port on Traefik's own loopback, so
      no certificate is ever requested from outside and Traefik serves its default cert;
    - the API is enabled and routed (API_ROUTER_LABELS) on a test-only `itapi` entrypoint,
      published on 127.0.0.1 only, so the test can list routers.
    Everything else (entrypoints, redirect, TLS, docker provider, network, the `traefik`
    entrypoint on the container's loopback) is used as is.
    """
    resolvers = sorted(
        {m.group(1) for a in declared if (m := re.match(r"--certificatesresolvers\.([^.=]+)\.acme\.", a))}
    )
    out = [a for a in declared if not re.match(r"--certificatesresolvers\.[^.=]+\.acme\.caserver=", a, re.I)]
    out += [f"--certificatesresolvers.{r}.acme.caserver={CLOSED_ACME}" for r in resolvers]
    out += ["--api=true", f"--entrypoints.itapi.address=:{TRAEFIK_API_PORT}"]
    return out


@dataclass
class Route:
    router: str
    host: str
    service: str  # docker container name in the stack
    port: int


@dataclass
class RoutedStack:
    engine: Engine
    evaluation: Any
    names: dict[str, str]  # stack container name -> test container name
    networks: dict[str, str]  # declared network -> network created here
    routes: list[Route]
    unrouted: list[str]  # stack containers that must not be reachable through Traefik
    web_port: int
    websecure_port: int
    api_port: int
    entrypoints: dict[str, str] = field(default_factory=dict)
    declared_command: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    v6_ports: dict[int, int] = field(default_factory=dict)  # container port -> host port on ::1
    metrics_port: int = 0  # Traefik's metrics entrypoint on 127.0.0.1 (0: the stack has none)

    def api(self, path: str) -> Any:
        reply = http_request(self.api_port, path, timeout=5)
        assert reply.status == 200, f"Traefik API {path}: {reply.status} {reply.text[:200]}"
        return reply.json()

    def docker_routers(self) -> dict[str, Any]:
        return {r["name"]: r for r in self.api("/api/http/routers") if r.get("provider") == "docker"}

    def router_names(self) -> set[str]:
        """The declared router names Traefik loaded. A router on several TLS entrypoints
        (websecure, websecure-v6) is listed once per entrypoint as `<entrypoint>-<router>`."""
        eps = sorted(self.entrypoints, key=len, reverse=True)
        names = set()
        for full in self.docker_routers():
            base = full.split("@")[0]
            prefix = next((ep for ep in eps if base.startswith(f"{ep}-")), None)
            names.add(base[len(prefix) + 1 :] if prefix else base)
        return names


def network_flags(
    engine: Engine, container: Any, networks: dict[str, str]
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """`docker create` flags for the first declared network; the others to connect afterwards."""
    declared = container.inputs.get("networksAdvanced") or []
    assert declared, f"{container.name} declares no network"
    first, rest = declared[0], declared[1:]
    flags = ["--network", networks[first["name"]]]
    for alias in first.get("aliases") or []:
        flags += ["--network-alias", alias]
    return flags, [(networks[n["name"]], list(n.get("aliases") or [])) for n in rest]


def rewrite_network(value: str, networks: dict[str, str]) -> str:
    return networks.get(value, value)


def start_standin(
    engine: Engine,
    image: str,
    service: str,
    container: Any,
    networks: dict[str, str],
    *,
    port: int,
    instance: str = "main",
    healthy: bool = True,
) -> str:
    """A busybox stand-in carrying `container`'s declared labels, networks and aliases."""
    name = f"{engine.prefix}{service}" + ("" if instance == "main" else f"-{instance}")
    hc = container.inputs.get("healthcheck") or {}
    path = health_path(container)
    args = ["create", "--name", name, "--label", engine.session_label, "--label", "=".join(ROUTED_LABEL)]
    for key, value in label_map(container).items():
        if key == "traefik.docker.network":
            value = rewrite_network(value, networks)
        args += ["--label", f"{key}={value}"]
    flags, more = network_flags(engine, container, networks)
    args += flags
    # The declared env too: what `docker inspect` (and the socket proxy's inspect) shows of it.
    for item in container.inputs.get("envs") or []:
        args += ["--env", item]
    args += [
        "--env",
        f"SERVICE_NAME={service}",
        "--env",
        f"PORT={port}",
        "--env",
        f"HEALTH_PATH={path}",
        "--env",
        f"INSTANCE={instance}",
        "--env",
        f"HEALTH_OK={1 if healthy else 0}",
    ]
    # The declared probe's target (curl/python/pg_isready are not in a busybox image), with
    # busybox wget; the declared timeout and retries, a test-sized interval.
    args += [
        "--health-cmd",
        f"wget -q -O /dev/null http://127.0.0.1:{port}{path}",
        "--health-interval",
        "1s",
        "--health-timeout",
        str(hc.get("timeout", "5s")),
        "--health-retries",
        str(int(hc.get("retries", 3))),
        "--health-start-period",
        "0s",
    ]
    args.append(image)
    engine.run(*args)
    for net, aliases in more:
        extra = [a for alias in aliases for a in ("--alias", alias)]
        engine.run("network", "connect", *extra, net, name)
    engine.run("start", name)
    return name


def wait_health(engine: Engine, name: str, want: str, timeout: float = 60) -> None:
    wait_for(f"{name} to be {want}", lambda: engine.health(name) == want, timeout=timeout)


def port_of(service: str, container: Any) -> int:
    """The service's internal port: the Traefik label when routed, else the program's constant."""
    for key, value in label_map(container).items():
        if ROUTE_PORT_LABEL.match(key):
            return int(value)
    from stack import constants

    return int(constants.PORTS[service])


def routes_of(containers: dict[str, Any]) -> list[Route]:
    routes = []
    for service, c in containers.items():
        labels = label_map(c)
        for key, value in labels.items():
            m = ROUTER_RULE_LABEL.match(key)
            if not m:
                continue
            host = HOST_RULE.match(value)
            assert host, f"{service}: router rule {value!r} is not a single Host(`...`)"
            routes.append(Route(router=m.group(1), host=host.group(1), service=service, port=port_of(service, c)))
    return routes


@dataclass
class LitellmProxy:
    stack: str
    url: str
    port: int
    master_key: str
    models: list[str]  # model_name entries of the uploaded config
    ollama_models: dict[str, str]  # model_name -> Ollama model name, for ollama_* entries
    embedding_models: list[str]
    ollama: OllamaStandIn
    config: dict[str, Any]
    env: dict[str, str]
    evaluation: Any
    process: Background
    virtual_key: str | None = None
    """With key_auth: Open WebUI's declared virtual key, which this LiteLLM accepts."""
    key_models: list[str] = field(default_factory=list)
    metrics_key: str | None = None
    """With key_auth and monitoring: Prometheus's declared key, limited to /metrics."""
    """The models the key job registers the virtual key for (its declared MODELS)."""


def env_list(items: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items)


def litellm_config_for_test(content: str, ollama_base_declared: str, ollama_url: str) -> dict[str, Any]:
    """The uploaded config.yaml with only the test's changes: Ollama's api_base points at the
    loopback stand-in, and database_url is dropped (no Postgres in this test)."""
    config: dict[str, Any] = yaml.safe_load(content)
    for entry in config.get("model_list") or []:
        params = entry.get("litellm_params") or {}
        if params.get("api_base") == ollama_base_declared:
            params["api_base"] = ollama_url
    (config.get("general_settings") or {}).pop("database_url", None)
    return config


UNDECLARED_MODEL = "not-a-stack-model"
"""key_auth only: a model the stack does not declare, standing for one added later in LiteLLM's
UI or API (STORE_MODEL_IN_DB): the master key may call it, the virtual key may not."""

KEY_AUTH = """# Test-only stand-in for the database row /key/generate writes (this machine cannot run LiteLLM
# with Postgres): the same fields the key job sends (stack/render/litellm_key.py), as LiteLLM's
# own UserAPIKeyAuth. LiteLLM's common_checks then enforce them (custom_auth_run_common_checks).
import json, os
from fastapi import HTTPException
from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth

_KEYS = json.loads(open(os.path.join(os.path.dirname(__file__), "keys.json")).read())


async def user_api_key_auth(request, api_key):
    key = api_key.removeprefix("Bearer ").strip()
    if key == _KEYS["master"]:
        return UserAPIKeyAuth(api_key=key, user_role=LitellmUserRoles.PROXY_ADMIN)
    if key == _KEYS["virtual"]["key"]:
        v = _KEYS["virtual"]
        return UserAPIKeyAuth(api_key=key, models=v["models"], key_alias=v["key_alias"], metadata=v["metadata"])
    m = _KEYS.get("metrics")
    if m and key == m["key"]:
        # Prometheus's key as stack/render/litellm_metrics_key.py registers it: /metrics only.
        return UserAPIKeyAuth(
            api_key=key, models=m["models"], allowed_routes=m["allowed_routes"], key_alias=m["key_alias"],
            metadata=m["metadata"],
        )
    raise HTTPException(status_code=401, detail="unknown key")
"""


def start_litellm(stack: str, evaluation: Any, tmp: Path, *, key_auth: bool = False) -> LitellmProxy:
    binary = venv_script("litellm")
    if not binary:
        unavailable("litellm is not installed (pip install 'litellm[proxy]')")
    containers = evaluation.containers()
    litellm = containers["litellm"]
    ollama = containers["ollama"]
    uploads = {u["file"]: u["content"] for u in litellm.inputs.get("uploads") or []}
    command = list(litellm.inputs["command"])
    config_path = command[command.index("--config") + 1]
    assert config_path in uploads, f"litellm's --config {config_path} is not among its uploads {list(uploads)}"

    # Ollama as LiteLLM reaches it on its network: alias + port of the ollama container.
    aliases = [a for n in ollama.inputs["networksAdvanced"] for a in n.get("aliases") or []]
    from stack import constants
    from stack.render import litellm_key

    ollama_base = f"http://{aliases[0]}:{constants.PORTS['ollama']}"
    config_raw = yaml.safe_load(uploads[config_path])
    ollama_entries = {
        e["model_name"]: e["litellm_params"]["model"].split("/", 1)[1]
        for e in config_raw["model_list"]
        if str(e["litellm_params"].get("model", "")).startswith(("ollama/", "ollama_chat/"))
    }
    bases = {e["litellm_params"].get("api_base") for e in config_raw["model_list"] if e["model_name"] in ollama_entries}
    assert bases == {ollama_base}, f"Ollama models must use {ollama_base} (the ollama alias), got {bases}"

    standin = OllamaStandIn([*ollama_entries.values(), *([UNDECLARED_MODEL] if key_auth else [])])
    config = litellm_config_for_test(uploads[config_path], ollama_base, standin.url)
    master_key = config["general_settings"]["master_key"]
    virtual_key, key_models, metrics_key = None, [], None
    if key_auth:
        job = containers["litellm-key"]
        job_files = {u["file"]: u["content"] for u in job.inputs["uploads"]}
        job_env = env_list(job.inputs["envs"])
        virtual_key = job_files[job_env["KEY_FILE"]]
        assert job_files[job_env["MASTER_KEY_FILE"]] == master_key
        key_models = json.loads(job_env["MODELS"])
        payload = litellm_key.generate_payload(virtual_key, key_models)
        keys: dict[str, Any] = {"master": master_key, "virtual": payload}
        if "litellm-metrics-key" in containers:  # with monitoring: Prometheus's key too
            from stack.render import litellm_metrics_key

            mjob = containers["litellm-metrics-key"]
            mfiles = {u["file"]: u["content"] for u in mjob.inputs["uploads"]}
            menv = env_list(mjob.inputs["envs"])
            assert mfiles[menv["MASTER_KEY_FILE"]] == master_key
            metrics_key = mfiles[menv["KEY_FILE"]]
            keys["metrics"] = litellm_metrics_key.generate_payload(metrics_key)
        (tmp / "keys.json").write_text(json.dumps(keys))
        (tmp / "it_key_auth.py").write_text(KEY_AUTH)
        # The key's model access is then checked by _enforce_key_and_fallback_model_access
        # (auth/user_api_key_auth.py), the function a key from the database goes through.
        config["general_settings"] |= {
            "custom_auth": "it_key_auth.user_api_key_auth",
            "custom_auth_run_common_checks": True,
        }
        config.setdefault("litellm_settings", {})["enable_post_custom_auth_checks"] = True
        config["model_list"].append(
            {
                "model_name": UNDECLARED_MODEL,
                "litellm_params": {"model": f"ollama_chat/{UNDECLARED_MODEL}", "api_base": standin.url},
            }
        )
    cfg_file = tmp / "config.yaml"
    cfg_file.write_text(yaml.safe_dump(config, sort_keys=False))

    declared_env = env_list(litellm.inputs.get("envs") or [])
    # No Postgres here: STORE_MODEL_IN_DB is left out on purpose. Without a DB, LiteLLM answers
    # a wrong (non-master) key with 400 "No connected db." instead of 401.
    env_from_stack = {k: v for k, v in declared_env.items() if k != "STORE_MODEL_IN_DB"}
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k not in declared_env}
    env.update(env_from_stack)
    env.update(
        {
            # Never fetch LiteLLM's remote catalogues; use the ones in the package.
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
            "LITELLM_LOCAL_BLOG_POSTS": "True",
            "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
            "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
            "LITELLM_TELEMETRY": "False",
            # Belt and braces: anything that still tries an outside URL hits a closed loopback port.
            "HTTP_PROXY": f"http://{LOOPBACK}:9",
            "HTTPS_PROXY": f"http://{LOOPBACK}:9",
            "NO_PROXY": "127.0.0.1,localhost",
            "HOME": str(tmp),
        }
    )
    port = free_port()
    argv = [binary]
    i = 0
    while i < len(command):  # the declared command, with our file, our port and loopback
        arg = command[i]
        if arg == "--config":
            argv += ["--config", str(cfg_file)]
            i += 2
        elif arg == "--port":
            argv += ["--port", str(port)]
            i += 2
        else:
            argv.append(arg)
            i += 1
    argv += ["--host", LOOPBACK]
    name = f"litellm ({stack}{', key auth' if key_auth else ''})"
    proc = Background.start(name, argv, log=tmp / "litellm.log", env=env, cwd=tmp)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_for(
            f"{name} /health/liveliness",
            lambda: http_request(port, "/health/liveliness", timeout=3).status == 200,
            timeout=180,
            interval=0.5,
            alive=proc.dead,
        )
    except BaseException:
        proc.stop()
        standin.close()
        raise
    embedding = [
        e["model_name"] for e in config["model_list"] if (e.get("model_info") or {}).get("mode") == "embedding"
    ]
    return LitellmProxy(
        stack=stack,
        url=url,
        port=port,
        master_key=master_key,
        models=[e["model_name"] for e in config["model_list"] if e["model_name"] != UNDECLARED_MODEL],
        ollama_models=ollama_entries,
        embedding_models=embedding,
        ollama=standin,
        config=config,
        env=env_from_stack,
        evaluation=evaluation,
        process=proc,
        virtual_key=virtual_key,
        key_models=key_models,
        metrics_key=metrics_key,
    )


def parse_url(url: str) -> tuple[str, int]:
    u = urlparse(url)
    return u.hostname or "", int(u.port or 0)
