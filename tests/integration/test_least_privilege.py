"""Least privilege on the real engine and the real Traefik: the socket proxy, the internal
network, the edge middlewares, the access log, the IPv6 binds.

Everything is read from the prod/dev evaluations (networks, env, labels, command, ports);
the stand-ins carry exactly what the program declares.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import ssl
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.engine_api import EngineAPI
from tests.integration.it_stack import RoutedStack, health_path
from tests.integration.it_support import Engine, free_port, http_request, wait_for

pytestmark = pytest.mark.integration


def tar_of(path: str, content: bytes, mode: int = 0o644) -> bytes:
    """A one-file tar, as the Engine API's archive upload takes it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size = len(content)
        info.mode = mode
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _route(stack: RoutedStack, service: str) -> Any:
    return next(r for r in stack.routes if r.service == service)


def _ip(stack: RoutedStack, service: str, network: str) -> str | None:
    nets = stack.engine.inspect(stack.names[service])["NetworkSettings"]["Networks"]
    found = nets.get(stack.networks[network])
    return found["IPAddress"] if found else None


def _probe(engine: Engine, image: str, network: str, url: str, *wget: str) -> tuple[int, str]:
    """busybox wget from a throwaway container on `network`: (exit code, output). By address:
    busybox-static cannot resolve names in a FROM-scratch image (static glibc, no NSS)."""
    res = engine.run(
        "run",
        "--rm",
        "--init",  # so wget is not PID 1, which ignores timeout's signal
        "--label",
        engine.session_label,
        "--network",
        network,
        "--entrypoint",
        "/bin/busybox",
        image,
        # busybox 1.35-static's wget segfaults with -T: busybox timeout bounds it instead.
        "timeout",
        "5",
        "/bin/busybox",
        "wget",
        "-q",
        "-O",
        "-",
        *wget,
        url,
        check=False,
        timeout=60,
    )
    return res.returncode, (res.stdout + res.stderr).decode(errors="replace")


# --- the Docker socket -----------------------------------------------------------------------


def test_only_the_socket_proxy_mounts_the_socket(routed_stack: RoutedStack) -> None:
    engine = routed_stack.engine
    for service, cname in routed_stack.names.items():
        sources = [m.get("Source", "") for m in engine.inspect(cname)["Mounts"]]
        has_socket = any(s.endswith(".sock") for s in sources)
        assert has_socket == (service == "docker-socket-proxy"), (service, sources)
    for declared in routed_stack.evaluation.containers().values():  # stand-ins keep Docker's caps
        assert declared.inputs["capabilities"]["drops"] == ["ALL"], declared.name
    for real in ("traefik", "docker-socket-proxy"):  # run with their declared capabilities
        assert engine.inspect(routed_stack.names[real])["HostConfig"]["CapDrop"] == ["ALL"], real
    assert engine.inspect(routed_stack.names["docker-socket-proxy"])["NetworkSettings"]["Ports"] in ({}, None)


def test_traefik_discovers_routes_through_the_proxy(routed_stack: RoutedStack) -> None:
    """The fixture waited for every declared router: Traefik found them with no socket, over
    tcp://docker-socket-proxy:2375 as the program's command says (the proxy's rules themselves:
    test_socket_proxy.py)."""
    assert "--providers.docker.endpoint=tcp://docker-socket-proxy:2375" in routed_stack.command
    for route in routed_stack.routes:
        path = health_path(routed_stack.evaluation.containers()[route.service])
        reply = http_request(routed_stack.websecure_port, path, host=route.host, tls=True)
        assert reply.status == 200 and f"ok {route.service}" in reply.text


# --- segmentation ------------------------------------------------------------------------------


def test_open_webui_reaches_litellm_and_nothing_behind_it(routed_stack: RoutedStack, standin_image: str) -> None:
    """From each of Open WebUI's networks, Postgres and Ollama are unreachable (they have no
    address there, and Docker isolates the other bridges); from their own networks they answer.
    LiteLLM answers on the internal network, which is how Open WebUI calls it."""
    engine = routed_stack.engine
    webui_nets = {n["name"] for n in routed_stack.evaluation.containers()["open-webui"].inputs["networksAdvanced"]}
    assert webui_nets == {"proxy", "ai-stack-internal"}
    for backend, home, port in (("postgres", "ai-stack-datastore", 5432), ("ollama", "ai-stack-ollama", 11434)):
        target = f"http://{_ip(routed_stack, backend, home)}:{port}/"
        for net in sorted(webui_nets):
            assert _ip(routed_stack, backend, net) is None, (backend, net)
            code, out = _probe(engine, standin_image, routed_stack.networks[net], target)
            assert code != 0 and "stand-in:" not in out, (backend, net, out)
        code, out = _probe(engine, standin_image, routed_stack.networks[home], target)
        assert code == 0 and f"stand-in:{backend}" in out, (backend, out)
    litellm = f"http://{_ip(routed_stack, 'litellm', 'ai-stack-internal')}:4000/"
    code, out = _probe(engine, standin_image, routed_stack.networks["ai-stack-internal"], litellm)
    assert code == 0 and "stand-in:litellm" in out, out


def test_traefiks_own_entrypoint_is_not_on_the_routed_network(routed_stack: RoutedStack, standin_image: str) -> None:
    """Ping (the `traefik` entrypoint) listens on the container's loopback: the declared
    healthcheck reaches it (Traefik is healthy), nothing on the routed network does."""
    engine = routed_stack.engine
    assert engine.health(routed_stack.names["traefik"]) == "healthy"
    url = f"http://{_ip(routed_stack, 'traefik', 'proxy')}:8080/ping"
    code, out = _probe(engine, standin_image, routed_stack.networks["proxy"], url)
    assert code != 0 and "OK" not in out, out


def test_the_laptop_loopback_publish_needs_the_egress_network(
    docker_engine: Engine, standin_image: str, dev: Any
) -> None:
    """Docker publishes no port of a container on internal networks only; with Ollama's own
    non-internal network beside the internal one (as dev declares it), 127.0.0.1 works."""
    engine = docker_engine
    ollama = dev.containers()["ollama"].inputs
    declared = {n["name"] for n in ollama["networksAdvanced"]}
    assert declared == {"ai-stack-ollama", "ai-stack-ollama-egress"}
    (port,) = ollama["ports"]
    assert port["ip"] == "127.0.0.1"
    nets = {name: f"{engine.prefix}dev-{name}" for name in declared}
    internal = {n.inputs["name"] for n in dev.of_type("docker:index/network:Network") if n.inputs.get("internal")}
    for name, actual in nets.items():
        flags = ["--internal"] if name in internal else []
        engine.run("network", "create", *flags, "--label", engine.session_label, actual)

    def run(name: str, networks: list[str]) -> int:
        host_port = free_port()
        engine.run(
            "create",
            "--name",
            name,
            "--label",
            engine.session_label,
            "--network",
            networks[0],
            "--env",
            "SERVICE_NAME=ollama",
            "--env",
            f"PORT={int(port['internal'])}",
            "-p",
            f"127.0.0.1:{host_port}:{int(port['internal'])}",
            standin_image,
        )
        for extra in networks[1:]:
            engine.run("network", "connect", extra, name)
        engine.run("start", name)
        return host_port

    try:
        only_internal = run(f"{engine.prefix}ollama-internal-only", [nets["ai-stack-ollama"]])
        as_declared = run(f"{engine.prefix}ollama-dev", [nets["ai-stack-ollama"], nets["ai-stack-ollama-egress"]])
        wait_for(
            "the dev-shaped Ollama stand-in on 127.0.0.1",
            lambda: "stand-in:ollama" in http_request(as_declared, "/").text,
            timeout=30,
        )
        with pytest.raises(OSError):
            http_request(only_internal, "/", timeout=2)
    finally:
        engine.run("rm", "-f", f"{engine.prefix}ollama-internal-only", f"{engine.prefix}ollama-dev", check=False)
        engine.run("network", "rm", *nets.values(), check=False)


# --- the edge ----------------------------------------------------------------------------------


def _hardened(headers: dict[str, str]) -> bool:
    return (
        headers.get("strict-transport-security") == "max-age=31536000; includeSubDomains"
        and headers.get("x-content-type-options") == "nosniff"
        and headers.get("x-frame-options") == "DENY"
        and headers.get("referrer-policy") == "strict-origin-when-cross-origin"
    )


def test_security_headers_on_every_response_404_included(routed_stack: RoutedStack) -> None:
    """A routed answer, a refused LiteLLM path and an unknown host: each carries the headers
    (the last two from the catch-all router on Traefik's own labels, a 404 with an empty body)."""
    webui, llm = _route(routed_stack, "open-webui").host, _route(routed_stack, "litellm").host
    cases = [
        (webui, "/", 200),
        (llm, "/health/liveliness", 200),
        (llm, "/", 404),
        (llm, "/key/generate", 404),
        ("unknown.example.com", "/", 404),
        ("127.0.0.1", "/anything", 404),
    ]
    for host, path, status in cases:
        reply = http_request(routed_stack.websecure_port, path, host=host, tls=True)
        assert reply.status == status, (host, path, reply.status, reply.text[:200])
        assert _hardened(reply.headers), (host, path, reply.headers)
        if status == 404:
            assert "stand-in:" not in reply.text
    # Open WebUI's Content-Security-Policy (proven against the real UI in test_open_webui.py).
    reply = http_request(routed_stack.websecure_port, "/", host=webui, tls=True)
    assert "frame-ancestors 'none'" in reply.headers.get("content-security-policy", "")


class _KeepAlive:
    """One TLS connection to Traefik on loopback (SNI and Host: `host`), reused for each request
    and opened again if Traefik closed it."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host = port, host
        self.conn: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.sock = ctx.wrap_socket(raw, server_hostname=self.host)
        return conn

    def get(self, path: str) -> tuple[int, dict[str, str]]:
        for attempt in (1, 2):
            self.conn = self.conn or self._open()
            try:
                self.conn.request("GET", path, headers={"Host": self.host})
                resp = self.conn.getresponse()
                resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _log_after(routed_stack: RoutedStack, mark: int) -> list[dict[str, Any]]:
    out = routed_stack.engine.run("logs", routed_stack.names["traefik"])
    lines = (out.stdout + out.stderr).decode(errors="replace").splitlines()[mark:]
    return [json.loads(line) for line in lines if line.startswith("{") and '"RequestHost"' in line]


def _log_length(routed_stack: RoutedStack) -> int:
    out = routed_stack.engine.run("logs", routed_stack.names["traefik"])
    return len((out.stdout + out.stderr).decode(errors="replace").splitlines())


def test_a_burst_over_the_limit_gets_429_with_the_headers_and_is_logged(routed_stack: RoutedStack) -> None:
    litellm = routed_stack.evaluation.containers()["litellm"]
    labels = {i["label"]: i["value"] for i in litellm.inputs["labels"]}
    burst = int(labels["traefik.http.middlewares.litellm-ratelimit.ratelimit.burst"])
    average = int(labels["traefik.http.middlewares.litellm-ratelimit.ratelimit.average"])
    host = _route(routed_stack, "litellm").host
    path = "/health/liveliness"
    mark = _log_length(routed_stack)

    workers = 8
    conns = [_KeepAlive(routed_stack.websecure_port, host) for _ in range(workers)]

    def share(w: int) -> list[tuple[int, bool]]:
        """Worker w's part of a batch, one request after another on its own connection (a
        connection is never used by two threads at once)."""
        out = []
        for _ in range(w, burst, workers):
            status, headers = conns[w].get(path)
            out.append((status, _hardened(headers)))
        return out

    # Batches of `burst` at once until the bucket runs dry (bounded: ten batches). The bucket
    # refills at `average` a second, so the requests must come faster than that: each worker
    # keeps one TLS connection open (no handshake per request), which holds on a loaded machine.
    replies: list[tuple[int, bool]] = []
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in range(10):
                replies += [reply for part in pool.map(share, range(workers)) for reply in part]
                if any(status == 429 for status, _ in replies):
                    break
    finally:
        for conn in conns:
            conn.close()
    statuses = [status for status, _ in replies]
    rate = len(statuses) / (time.monotonic() - started)
    assert statuses.count(429) > 0, (f"{rate:.1f} requests/s against {average}/s", statuses)
    assert statuses.count(200) >= burst // 2, statuses
    # The headers middleware runs before the rate limit: its 429s carry them too.
    assert all(hardened for _, hardened in replies), replies
    time.sleep(2 + burst / average)  # the bucket refills before the next test

    def logged() -> list[dict[str, Any]]:
        found = [e for e in _log_after(routed_stack, mark) if e.get("RequestPath") == path]
        return found if len(found) == len(statuses) else []

    entries = wait_for("every request of the burst in Traefik's access log", logged, timeout=15)
    assert sorted(e["DownstreamStatus"] for e in entries) == sorted(statuses)
    assert {e["RequestHost"] for e in entries} == {host}
    # Traefik lists a router on two entrypoints once per entrypoint; these came in over IPv4.
    assert {e["RouterName"] for e in entries} == {"websecure-litellm@docker"}
    assert not any("Authorization" in json.dumps(e) for e in entries)


def test_no_query_string_reaches_the_access_log(routed_stack: RoutedStack) -> None:
    """LiteLLM's `?key=` routes: the path is logged, its query is not."""
    secret = f"sk-in-a-query-{time.time_ns()}"
    mark = _log_length(routed_stack)
    host = _route(routed_stack, "open-webui").host
    reply = http_request(routed_stack.websecure_port, f"/?key={secret}&x=1", host=host, tls=True)
    assert reply.status == 200

    def logged() -> list[dict[str, Any]]:
        return [e for e in _log_after(routed_stack, mark) if e.get("RequestHost") == host]

    (entry, *_) = wait_for("the request in Traefik's access log", logged, timeout=15)
    assert entry["RequestPath"] == "/"
    out = routed_stack.engine.run("logs", routed_stack.names["traefik"])
    assert secret not in (out.stdout + out.stderr).decode(errors="replace")


def test_the_ipv6_binds_route_like_the_ipv4_ones(routed_stack: RoutedStack) -> None:
    """The declared `::` binds reach Traefik's -v6 entrypoints: same routes, same redirect."""
    assert set(routed_stack.v6_ports) == {8081, 8444}
    host = _route(routed_stack, "open-webui").host
    reply = http_request(routed_stack.v6_ports[8444], "/", host=host, tls=True, address="::1")
    assert reply.status == 200 and "stand-in:open-webui" in reply.text
    assert reply.headers.get("strict-transport-security")
    redirect = http_request(routed_stack.v6_ports[8081], "/x", host=host, address="::1")
    assert redirect.status in (301, 308) and redirect.headers["location"].startswith(f"https://{host}/x")


# --- read-only root filesystems ----------------------------------------------------------------


def test_an_upload_into_a_read_only_container_is_refused(docker_engine: Engine, standin_image: str) -> None:
    """Why the containers that take their secrets as uploaded files (LiteLLM, Open WebUI, the
    key job, Postgres, the backup scheduler) keep a writable root filesystem: the provider uploads
    with PUT /containers/{id}/archive?path=/ (resource_docker_container_funcs.go, v4.5.0), and the
    engine refuses any extraction to "/" of a read-only container, even of a file whose directory
    is a volume (moby daemon/archive.go checks the destination, "/", against the mounts)."""
    if not docker_engine.socket_path:
        pytest.skip("needs the engine's unix socket")
    api = EngineAPI(docker_engine.socket_path)
    body = {
        "Image": standin_image,
        "Labels": dict([docker_engine.session_label.split("=", 1)]),
        "HostConfig": {"ReadonlyRootfs": True},
        "Volumes": {"/run/secrets": {}},
    }
    name = f"{docker_engine.prefix}read-only-upload"
    cid = api.ok("POST", f"/containers/create?name={name}", body)["Id"]
    try:
        status, data = api.call("PUT", f"/containers/{cid}/archive?path=/", raw=tar_of("/run/secrets/key", b"s"))
        assert status >= 400 and b"read-only" in (data if isinstance(data, bytes) else json.dumps(data).encode()), data
        # The same file extracted at its volume's own path is accepted: the refusal is the "/".
        assert api.call("PUT", f"/containers/{cid}/archive?path=/run/secrets", raw=tar_of("key", b"s"))[0] == 200
    finally:
        api.call("DELETE", f"/containers/{cid}?force=true&v=true")
