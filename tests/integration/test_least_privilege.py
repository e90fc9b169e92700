"""Least privilege on the real engine and the real Traefik: the socket proxy, the internal
network, the edge middlewares, the access log, the IPv6 binds.

Everything is read from the prod/dev evaluations (networks, env, labels, command, ports);
the stand-ins carry exactly what the program declares.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.it_stack import RoutedStack
from tests.integration.it_support import Engine, free_port, http_request, wait_for

pytestmark = pytest.mark.integration


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
    tcp://docker-socket-proxy:2375 as the program's command says."""
    assert "--providers.docker.endpoint=tcp://docker-socket-proxy:2375" in routed_stack.command
    for route in routed_stack.routes:
        reply = http_request(routed_stack.websecure_port, "/", host=route.host, tls=True)
        assert reply.status == 200 and f"stand-in:{route.service}" in reply.text


def test_the_proxy_refuses_writes_and_unlisted_sections(routed_stack: RoutedStack, standin_image: str) -> None:
    engine, socket_net = routed_stack.engine, routed_stack.networks["ai-stack-socket"]
    base = f"http://{_ip(routed_stack, 'docker-socket-proxy', 'ai-stack-socket')}:2375"
    code, out = _probe(engine, standin_image, socket_net, f"{base}/containers/json")
    assert code == 0 and out.startswith("["), out
    code, out = _probe(engine, standin_image, socket_net, f"{base}/v1.41/version")
    assert code == 0 and "ApiVersion" in out, out
    body = json.dumps({"Image": standin_image, "Cmd": ["sh"]})
    code, out = _probe(engine, standin_image, socket_net, f"{base}/containers/create?name=pwn", "--post-data", body)
    assert code == 1 and "403" in out, out
    assert engine.run("inspect", "pwn", check=False).returncode != 0, "the write went through"
    for refused in ("/images/json", "/info", "/networks", "/volumes", "/exec/x/json", "/secrets"):
        code, out = _probe(engine, standin_image, socket_net, f"{base}{refused}")
        assert code == 1 and "403" in out, (refused, out)


# --- the internal network --------------------------------------------------------------------


def test_backends_are_unreachable_from_the_routed_network(routed_stack: RoutedStack, standin_image: str) -> None:
    """Ollama and Postgres have no address on the routed network, and their internal addresses
    are not reachable from it (Docker isolates the internal bridge); the internal network
    reaches them. Names: each backend's only alias lives on the internal network (offline)."""
    engine = routed_stack.engine
    routed, internal = routed_stack.networks["proxy"], routed_stack.networks["ai-stack-internal"]
    for backend, port in (("ollama", 11434), ("postgres", 5432)):
        assert _ip(routed_stack, backend, "proxy") is None, backend
        target = f"http://{_ip(routed_stack, backend, 'ai-stack-internal')}:{port}/"
        code, out = _probe(engine, standin_image, routed, target)
        assert code != 0 and "stand-in:" not in out, (backend, out)
        code, out = _probe(engine, standin_image, internal, target)
        assert code == 0 and f"stand-in:{backend}" in out, (backend, out)
    code, out = _probe(engine, standin_image, routed, f"http://{_ip(routed_stack, 'litellm', 'proxy')}:4000/")
    assert code == 0 and "stand-in:litellm" in out, out


def test_the_laptop_loopback_publish_needs_the_egress_network(
    docker_engine: Engine, standin_image: str, dev: Any
) -> None:
    """Docker publishes no port of a container on internal networks only; with Ollama's own
    non-internal network beside the internal one (as dev declares it), 127.0.0.1 works."""
    engine = docker_engine
    ollama = dev.containers()["ollama"].inputs
    declared = {n["name"] for n in ollama["networksAdvanced"]}
    assert declared == {"ai-stack-internal", "ai-stack-ollama-egress"}
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
        only_internal = run(f"{engine.prefix}ollama-internal-only", [nets["ai-stack-internal"]])
        as_declared = run(f"{engine.prefix}ollama-dev", [nets["ai-stack-internal"], nets["ai-stack-ollama-egress"]])
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


def test_security_headers_on_every_routed_response(routed_stack: RoutedStack) -> None:
    for service in ("open-webui", "litellm"):
        reply = http_request(routed_stack.websecure_port, "/", host=_route(routed_stack, service).host, tls=True)
        assert reply.status == 200
        h = reply.headers
        assert h.get("strict-transport-security") == "max-age=31536000; includeSubDomains", (service, h)
        assert h.get("x-content-type-options") == "nosniff" and h.get("x-frame-options") == "DENY", h
        assert h.get("referrer-policy") == "strict-origin-when-cross-origin", h


def test_a_burst_over_the_limit_gets_429_and_is_logged(routed_stack: RoutedStack) -> None:
    litellm = routed_stack.evaluation.containers()["litellm"]
    labels = {i["label"]: i["value"] for i in litellm.inputs["labels"]}
    burst = int(labels["traefik.http.middlewares.litellm-ratelimit.ratelimit.burst"])
    average = int(labels["traefik.http.middlewares.litellm-ratelimit.ratelimit.average"])
    host = _route(routed_stack, "litellm").host
    token = f"burst={time.time_ns()}"
    path = f"/?{token}"  # the stand-in serves /; the token finds these requests in the log

    def one(_: int) -> int:
        return http_request(routed_stack.websecure_port, path, host=host, tls=True).status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, range(3 * burst)))
    assert statuses.count(429) > 0, statuses
    assert statuses.count(200) >= burst // 2, statuses
    time.sleep(2 + burst / average)  # the bucket refills before the next test

    def logged() -> list[dict[str, Any]]:
        out = routed_stack.engine.run("logs", routed_stack.names["traefik"])
        lines = (out.stdout + out.stderr).decode(errors="replace").splitlines()
        found = []
        for line in lines:
            if line.startswith("{") and token in line:
                found.append(json.loads(line))
        return found if len(found) == len(statuses) else []

    entries = wait_for("every request of the burst in Traefik's access log", logged, timeout=15)
    assert sorted(e["DownstreamStatus"] for e in entries) == sorted(statuses)
    assert {e["RequestHost"] for e in entries} == {host}
    # Traefik lists a router on two entrypoints once per entrypoint; these came in over IPv4.
    assert {e["RouterName"] for e in entries} == {"websecure-litellm@docker"}
    assert not any("Authorization" in json.dumps(e) for e in entries)


def test_the_ipv6_binds_route_like_the_ipv4_ones(routed_stack: RoutedStack) -> None:
    """The declared `::` binds reach Traefik's -v6 entrypoints: same routes, same redirect."""
    assert set(routed_stack.v6_ports) == {8081, 8444}
    host = _route(routed_stack, "open-webui").host
    reply = http_request(routed_stack.v6_ports[8444], "/", host=host, tls=True, address="::1")
    assert reply.status == 200 and "stand-in:open-webui" in reply.text
    assert reply.headers.get("strict-transport-security")
    redirect = http_request(routed_stack.v6_ports[8081], "/x", host=host, address="::1")
    assert redirect.status in (301, 308) and redirect.headers["location"].startswith(f"https://{host}/x")
