"""The prod stack's routing, for real: Traefik v3 + the declared labels, networks and command.

Containers are busybox stand-ins carrying exactly the labels/networks/aliases the program
declares (from the mock evaluation); Traefik runs with the program's own command, changed
only where a loopback test must (see conftest.traefik_test_command). The test process talks
to 127.0.0.1 only: Traefik's entrypoints are published there.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.it_stack import (
    CLOSED_ACME,
    ROUTED_CONSTRAINT,
    RoutedStack,
    label_map,
    start_standin,
    traefik_test_command,
    wait_health,
)
from tests.integration.it_support import http_request, wait_for

pytestmark = pytest.mark.integration

DEFAULT_CERT_CN = b"TRAEFIK DEFAULT CERT"


def test_the_program_routes_webui_and_litellm_only(routed_stack: RoutedStack) -> None:
    # The shape the rest of this file relies on, read from the program rather than assumed.
    routed = {r.service for r in routed_stack.routes}
    assert routed == {"open-webui", "litellm"}
    assert {"ollama", "postgres"} <= set(routed_stack.unrouted)
    assert {r.service: r.port for r in routed_stack.routes} == {"open-webui": 8080, "litellm": 4000}


def test_command_differs_from_the_program_only_where_a_loopback_test_must() -> None:
    declared = [
        "--entrypoints.web.address=:8000",
        "--certificatesresolvers.le.acme.email=a@example.com",
        "--certificatesresolvers.le.acme.caserver=https://acme-v02.api.letsencrypt.org/directory",
    ]
    got = traefik_test_command(declared)
    assert "--certificatesresolvers.le.acme.caserver=https://acme-v02.api.letsencrypt.org/directory" not in got
    assert f"--certificatesresolvers.le.acme.caserver={CLOSED_ACME}" in got
    assert set(declared[:2]) <= set(got)


def test_effective_traefik_command_keeps_every_declared_argument(routed_stack: RoutedStack) -> None:
    # On a shared engine whose `proxy` network already exists the test uses its own network
    # and renames it here; on the private engine (CI) nothing is renamed.
    renamed = {
        f"--providers.docker.network={routed_stack.networks.get(a.split('=', 1)[1], '')}"
        if a.startswith("--providers.docker.network=")
        else a
        for a in routed_stack.declared_command
    }
    declared, used = renamed, set(routed_stack.command)
    assert declared - used == set(), "the test dropped part of the program's Traefik command"
    added = used - declared
    for arg in added:
        assert arg == ROUTED_CONSTRAINT or arg.startswith(
            ("--api", "--entrypoints.itapi.address=", "--certificatesresolvers.")
        ), arg
        if arg.startswith("--certificatesresolvers."):
            assert arg.endswith(f"caserver={CLOSED_ACME}"), arg


@pytest.mark.parametrize("service", ["open-webui", "litellm"])
def test_host_reaches_its_service_over_tls(routed_stack: RoutedStack, service: str) -> None:
    route = next(r for r in routed_stack.routes if r.service == service)
    # LiteLLM's router forwards only its API paths and its liveness probe (the stand-in serves
    # the probe's path); Open WebUI's forwards every path.
    path = "/health/liveliness" if service == "litellm" else "/"
    reply = http_request(routed_stack.websecure_port, path, host=route.host, tls=True)
    assert reply.status == 200, reply.text
    assert f"ok {service}" in reply.text if service == "litellm" else f"stand-in:{service} instance:main" in reply.text
    # No ACME anywhere: Traefik's self-signed default certificate is what the client gets.
    assert reply.peer_cert_der and DEFAULT_CERT_CN in reply.peer_cert_der


@pytest.mark.parametrize("service", ["open-webui", "litellm"])
def test_health_path_is_routed_like_any_other(routed_stack: RoutedStack, service: str) -> None:
    from tests.integration.it_stack import health_path

    route = next(r for r in routed_stack.routes if r.service == service)
    path = health_path(routed_stack.evaluation.containers()[service])
    assert path in {"/health", "/health/liveliness"}
    reply = http_request(routed_stack.websecure_port, path, host=route.host, tls=True)
    assert reply.status == 200 and f"ok {service}" in reply.text


@pytest.mark.parametrize("service", ["open-webui", "litellm"])
def test_plain_http_redirects_to_https(routed_stack: RoutedStack, service: str) -> None:
    route = next(r for r in routed_stack.routes if r.service == service)
    reply = http_request(routed_stack.web_port, "/some/path?q=1", host=route.host)
    assert reply.status in (301, 308), (reply.status, reply.text)
    assert reply.headers["location"].startswith(f"https://{route.host}/some/path"), reply.headers


def test_unrouted_services_are_not_reachable(routed_stack: RoutedStack) -> None:
    hosts = []
    for service in routed_stack.unrouted:
        c = routed_stack.evaluation.containers()[service]
        aliases = [a for n in c.inputs["networksAdvanced"] for a in n.get("aliases") or []]
        hosts += [service, *aliases, f"{service}.example.com", f"{service}:11434", f"{service}:5432"]
    hosts += ["127.0.0.1", "localhost", "unknown.example.com"]
    for host in hosts:
        reply = http_request(routed_stack.websecure_port, "/", host=host, tls=True)
        assert reply.status == 404, (host, reply.status, reply.text[:200])
        assert "stand-in:" not in reply.text, host
    # Only the declared routers exist, and they lead to the routed stand-ins only.
    routers = routed_stack.docker_routers()
    # The services' routers, Traefik's own catch-all, and the test's API router.
    assert routed_stack.router_names() == {r.router for r in routed_stack.routes} | {"catch-all", "it-api"}
    assert routers
    engine = routed_stack.engine
    ips: dict[str, set[str]] = {}
    for service, cname in routed_stack.names.items():
        nets = engine.inspect(cname)["NetworkSettings"]["Networks"]
        ips[service] = {n["IPAddress"] for n in nets.values() if n.get("IPAddress")}
    services = {s["name"]: s for s in routed_stack.api("/api/http/services") if s.get("provider") == "docker"}
    for route in routed_stack.routes:
        svc = services[f"{route.router}@docker"]  # each router's service has its name
        urls = [srv["url"] for srv in svc["loadBalancer"]["servers"]]
        # Its address on the routed network (traefik.docker.network), not the internal one.
        nets = engine.inspect(routed_stack.names[route.service])["NetworkSettings"]["Networks"]
        routed_ip = nets[routed_stack.networks["proxy"]]["IPAddress"]
        assert urls == [f"http://{routed_ip}:{route.port}"], (route, urls)
        for other in routed_stack.unrouted:
            assert not any(ip in u for ip in ips[other] for u in urls)
    for kind in ("tcp", "udp"):
        assert [r for r in routed_stack.api(f"/api/{kind}/routers") if r.get("provider") == "docker"] == []


def test_unhealthy_container_is_dropped(routed_stack: RoutedStack, standin_image: str) -> None:
    """A container with open-webui's labels whose healthcheck fails never gets traffic; once
    it is the only one left, its host answers 404/503."""
    engine = routed_stack.engine
    stack_webui = routed_stack.evaluation.containers()["open-webui"]
    route = next(r for r in routed_stack.routes if r.service == "open-webui")
    healthy = routed_stack.names["open-webui"]
    sick = start_standin(
        engine,
        standin_image,
        "open-webui",
        stack_webui,
        routed_stack.networks,
        port=route.port,
        instance="sick",
        healthy=False,
    )
    try:
        got = _labels(engine, sick)
        for key, value in label_map(stack_webui).items():
            if key != "traefik.docker.network":  # may be renamed on a shared engine
                assert got[key] == value, key
        wait_health(engine, sick, "unhealthy", timeout=60)
        for _ in range(10):  # both present: every request goes to the healthy one
            reply = http_request(routed_stack.websecure_port, "/", host=route.host, tls=True)
            assert reply.status == 200 and "instance:main" in reply.text, reply.text

        engine.run("stop", "-t", "2", healthy)

        def only_sick_left() -> int | None:
            r = http_request(routed_stack.websecure_port, "/", host=route.host, tls=True)
            assert "instance:sick" not in r.text, "Traefik routed to an unhealthy container"
            return r.status if r.status in (404, 503) else None

        status = wait_for("Traefik to drop the healthy container", only_sick_left, timeout=30)
        assert status in (404, 503)
        time.sleep(2)  # still nothing a few event loops later
        assert only_sick_left() in (404, 503)
        assert "open-webui" not in routed_stack.router_names()
    finally:
        engine.run("rm", "-f", sick, check=False)
        engine.run("start", healthy, check=False)
        wait_health(engine, healthy, "healthy", timeout=60)
        wait_for(
            "the healthy open-webui stand-in to be routed again",
            lambda: "instance:main" in http_request(routed_stack.websecure_port, "/", host=route.host, tls=True).text,
            timeout=30,
        )


def _labels(engine, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(engine.inspect(name)["Config"]["Labels"] or {})


def test_acme_only_tried_the_closed_loopback_port(routed_stack: RoutedStack) -> None:
    logs = routed_stack.engine.run("logs", routed_stack.names["traefik"]).stdout.decode(errors="replace")
    logs += routed_stack.engine.run("logs", routed_stack.names["traefik"]).stderr.decode(errors="replace")
    assert "letsencrypt.org" not in logs
    assert "127.0.0.1:9" in logs or "acme" not in logs.lower()
