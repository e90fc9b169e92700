"""The socket proxy's real rules (the program's haproxy.cfg in real HAProxy) against the real engine.

Every call Traefik's docker provider makes answers; every other path, and anything that returns
a file, a log or a process list, gets 403; no container of the stack shows a secret in what
Traefik may read (its inspect body); and real Traefik, reading Docker through this proxy only,
loads the stack's routes while every request it made is one the rules allow.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from stack.render.socket_proxy import ALLOWED
from tests.integration.it_stack import RoutedStack
from tests.integration.it_support import Engine
from tools.offline import Evaluation
from tools.provider import RANDOM_PASSWORD

pytestmark = pytest.mark.integration


def _ip(stack: RoutedStack, service: str, network: str) -> str:
    nets = stack.engine.inspect(stack.names[service])["NetworkSettings"]["Networks"]
    return str(nets[stack.networks[network]]["IPAddress"])


def _wget(engine: Engine, image: str, network: str, *args: str) -> tuple[int, str]:
    """busybox wget from a throwaway container on `network` (by address: no resolver in the image)."""
    res = engine.run(
        "run", "--rm", "--init", "--label", engine.session_label, "--network", network,
        "--entrypoint", "/bin/busybox", image, "timeout", "5", "/bin/busybox", "wget", "-S", "-q", "-O", "-", *args,
        check=False, timeout=60,
    )  # fmt: skip
    return res.returncode, (res.stdout + res.stderr).decode(errors="replace")


def _status(out: str) -> int | None:
    found = re.findall(r"HTTP/1\.[01] (\d{3})", out)
    return int(found[-1]) if found else None


@pytest.fixture(scope="module")
def proxy(routed_stack: RoutedStack) -> str:
    return f"http://{_ip(routed_stack, 'docker-socket-proxy', 'ai-stack-socket')}:2375"


def _get(stack: RoutedStack, image: str, url: str, *extra: str) -> tuple[int | None, str]:
    _, out = _wget(stack.engine, image, stack.networks["ai-stack-socket"], *extra, url)
    return _status(out), out


def test_every_call_traefik_makes_answers(routed_stack: RoutedStack, standin_image: str, proxy: str) -> None:
    """The calls of traefik pkg/provider/docker (pdocker.go, shared.go): version, _ping (API
    negotiation, GET or HEAD), the container list, each container's inspect, events."""
    cid = routed_stack.engine.inspect(routed_stack.names["litellm"])["Id"]
    for path in (
        "/_ping",
        "/v1.41/_ping",
        "/version",
        "/v1.41/version",
        "/containers/json?all=1",
        "/v1.41/containers/json?all=1",
        f"/containers/{cid}/json",
        f"/v1.41/containers/{routed_stack.names['litellm']}/json",
        "/v1.41/events?since=1&until=2",
    ):
        status, out = _get(routed_stack, standin_image, proxy + path)
        assert status == 200, (path, out[-300:])
    status, out = _get(routed_stack, standin_image, proxy + "/_ping", "--spider")  # HEAD
    assert status == 200, out


REFUSED = [
    "/containers/{id}/archive?path=/etc/hostname",
    "/v1.41/containers/{id}/archive?path=/",
    "/containers/{id}/export",
    "/containers/{id}/logs?stdout=1&stderr=1",
    "/containers/{id}/top",
    "/containers/{id}/changes",
    "/containers/{id}/stats?stream=0",
    "/containers/{id}/attach/ws",
    "/containers/{id}/json/../archive",
    "/containers/{id}%2Farchive",
    "/containers/{id}/archive%3Fpath=/",
    "/CONTAINERS/{id}/ARCHIVE",
    "/images/json",
    "/info",
    "/networks",
    "/volumes",
    "/exec/x/json",
    "/secrets",
    "/system/df",
    "/plugins",
    "/v1.41/containers/json/../../info",
]


@pytest.mark.parametrize("path", REFUSED)
def test_files_logs_and_everything_else_are_refused(
    routed_stack: RoutedStack, standin_image: str, proxy: str, path: str
) -> None:
    cid = routed_stack.engine.inspect(routed_stack.names["open-webui"])["Id"]
    status, out = _get(routed_stack, standin_image, proxy + path.format(id=cid))
    assert status == 403, (path, out[-300:])


def test_writes_are_refused(routed_stack: RoutedStack, standin_image: str, proxy: str) -> None:
    body = json.dumps({"Image": standin_image, "Cmd": ["sh"]})
    cid = routed_stack.engine.inspect(routed_stack.names["litellm"])["Id"]
    for path in ("/containers/create?name=pwn", f"/containers/{cid}/json", f"/containers/{cid}/exec"):
        status, out = _get(routed_stack, standin_image, proxy + path, "--post-data", body)
        assert status == 403, (path, out[-300:])
    assert routed_stack.engine.run("inspect", "pwn", check=False).returncode != 0, "the write went through"


def _secrets(ev: Evaluation) -> set[str]:
    """Every secret value of the evaluation: the generated passwords and the keys built from them."""
    values = {str(r.outputs["result"]) for r in ev.of_type(RANDOM_PASSWORD)}
    return values | {str(ev.outputs[k]) for k in ev.secret_outputs}


def test_no_inspect_body_traefik_can_read_holds_a_secret(
    routed_stack: RoutedStack, standin_image: str, proxy: str
) -> None:
    """The stand-ins carry the env the program declares; through the proxy, each container's
    inspect (which Traefik reads, and which carries Config.Env) shows none of the stack's secrets."""
    secrets = _secrets(routed_stack.evaluation)
    assert len(secrets) >= 6
    checked = 0
    for service, cname in routed_stack.names.items():
        status, body = _get(routed_stack, standin_image, f"{proxy}/containers/{cname}/json")
        assert status == 200, (service, body[-300:])
        env = json.JSONDecoder().raw_decode(body, body.index("{"))[0]["Config"]["Env"]
        declared = routed_stack.evaluation.containers()[service].inputs.get("envs") or []
        assert set(declared) <= set(env), service  # the env Traefik reads is the declared one
        leaked = [s for s in secrets for e in env if s in e]
        assert not leaked, f"{service}: a secret in its env"
        checked += 1
    assert checked >= 5


def test_traefik_asked_only_for_what_the_rules_allow(routed_stack: RoutedStack) -> None:
    """HAProxy logs every request as it answers it (option httplog, logasap): every request from
    Traefik's address matches the allow-list and none was refused, and they include the list,
    the inspects and the event stream: the rules are what Traefik needs, no more."""
    traefik = _ip(routed_stack, "traefik", "ai-stack-socket")
    logs = routed_stack.engine.run("logs", routed_stack.names["docker-socket-proxy"])
    lines = (logs.stdout + logs.stderr).decode(errors="replace").splitlines()
    pattern = re.compile(r"^" + re.escape(traefik) + r':\d+ .* (-?\d+) [+\d]+ .*"(GET|HEAD|POST|PUT|DELETE) (\S+)')
    requests = [m for line in lines if (m := pattern.search(line))]
    assert requests, "\n".join(lines[-20:])
    paths = [m.group(3).split("?")[0] for m in requests]
    for m, path in zip(requests, paths, strict=True):
        assert any(re.search(rx, path) for _, rx in ALLOWED), path
        assert m.group(1) != "403", m.group(0)
    assert any(p.endswith("/containers/json") for p in paths)
    assert any(re.search(r"/containers/[^/]+/json$", p) and not p.endswith("/containers/json") for p in paths)
    assert any(p.endswith("/events") for p in paths)


def test_traefik_reads_the_routes_through_the_proxy(routed_stack: RoutedStack) -> None:
    assert "--providers.docker.endpoint=tcp://docker-socket-proxy:2375" in routed_stack.command
    assert routed_stack.router_names() >= {r.router for r in routed_stack.routes} | {"catch-all"}


def test_the_proxy_runs_read_only_with_no_capability(routed_stack: RoutedStack) -> None:
    info: dict[str, Any] = routed_stack.engine.inspect(routed_stack.names["docker-socket-proxy"])
    assert info["HostConfig"]["ReadonlyRootfs"] is True and info["HostConfig"]["CapDrop"] == ["ALL"]
    assert info["NetworkSettings"]["Ports"] in ({}, None)
