"""Host mode on the real engine: the Mac example's containers reach an Ollama on this machine
through their declared `host.docker.internal:host-gateway` mapping.

The Ollama API stand-in listens on this machine (not in a container), on the engine's
host-gateway address, which is the gateway of the network the pull is on (the tier's private
dockerd is started with `--host-gateway-ip`, tests/integration/it_support.py; the network that
owns that address is created here, so it exists on this machine only while the test runs).
Every container is created as the provider creates it, from the program's own inputs for the
Mac stack (tests/stack/data/Pulumi.mac.yaml): networks, aliases, env, extra hosts. The pull
runs its real script with a fake `ollama` CLI that calls $OLLAMA_HOST; LiteLLM's and Open
WebUI's containers are probed with busybox wget from their exact networks and mapping.
Nothing is reached beyond the tier's own networks and this machine.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack.components.model_pull import MARKER
from tests.integration.engine_api import EngineAPI, provider_create, read_file
from tests.integration.it_support import Engine, unavailable, wait_for
from tests.integration.standins import OllamaStandIn
from tests.integration.test_engine_specs import _health, _label, _tools_tar
from tools import provider
from tools.offline import Evaluation, evaluate

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "stack" / "data"
GATEWAY_NAME = "host.docker.internal"
# The `ollama` CLI as the pull uses it, speaking the API at $OLLAMA_HOST with busybox wget.
FAKE_OLLAMA = (
    "#!/bin/sh\n"
    'case "$1" in\n'
    'pull) wget -q -O /dev/null --post-data "{\\"model\\":\\"$2\\"}" "$OLLAMA_HOST/api/pull" ;;\n'
    'list) wget -q -O - "$OLLAMA_HOST/api/tags" ;;\n'
    "esac\n"
)


@pytest.fixture(scope="module")
def api(docker_engine: Engine) -> EngineAPI:
    if not docker_engine.socket_path:
        unavailable("the engine is not on a local unix socket; the host-mode test needs one")
    return EngineAPI(docker_engine.socket_path)


@pytest.fixture(scope="module")
def mac() -> Evaluation:
    return evaluate("mac", root=DATA)


def _host_gateway(docker_engine: Engine, api: EngineAPI, image: str, net: str) -> str:
    """The address the engine writes for `host-gateway` into a container's /etc/hosts."""
    body = {
        "Image": image,
        "Entrypoint": ["/bin/cat"],
        "Cmd": ["/etc/hosts"],
        "Labels": _label(docker_engine),
        "HostConfig": {"ExtraHosts": [f"{GATEWAY_NAME}:host-gateway"], "NetworkMode": net},
    }
    cid = api.ok("POST", "/containers/create", body)["Id"]
    try:
        api.ok("POST", f"/containers/{cid}/start")
        api.ok("POST", f"/containers/{cid}/wait")
        logs = docker_engine.out("logs", cid)
    finally:
        api.call("DELETE", f"/containers/{cid}?force=true")
    for line in logs.splitlines():
        parts = line.split()
        if len(parts) >= 2 and GATEWAY_NAME in parts[1:]:
            return parts[0]
    raise AssertionError(f"no {GATEWAY_NAME} line in the container's /etc/hosts:\n{logs}")


def _is_local(address: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((address, 0))
        except OSError as err:
            if err.errno == errno.EADDRNOTAVAIL:
                return False
            raise
    return True


@pytest.fixture(scope="module")
def host_side(
    docker_engine: Engine, api: EngineAPI, standin_image: str, mac: Evaluation
) -> Iterator[tuple[OllamaStandIn, dict[str, str], str]]:
    """The Mac stack's networks on the engine, the stand-in on the host-gateway address."""
    prefix = f"{docker_engine.prefix}host-"
    labels = _label(docker_engine)
    probe_net = prefix + "probe"
    api.ok("POST", "/networks/create", {"Name": probe_net, "Labels": labels})
    try:
        gateway = _host_gateway(docker_engine, api, standin_image, probe_net)
    finally:
        api.call("DELETE", f"/networks/{probe_net}")
    pull_net = mac.containers()["ollama-pull"].inputs["networksAdvanced"][0]["name"]
    # The host-gateway address becomes this machine's when the network whose gateway it is exists.
    own_gateway = not _is_local(gateway)
    rename: dict[str, str] = {}
    for net in mac.of_type(provider.NETWORK):
        name = net.inputs["name"]
        rename[name] = prefix + name
        body: dict[str, Any] = {"Name": rename[name], "Labels": labels, "Internal": bool(net.inputs.get("internal"))}
        if own_gateway and name == pull_net:
            subnet = ipaddress.ip_network(f"{gateway}/24", strict=False)
            body["IPAM"] = {"Config": [{"Subnet": str(subnet), "Gateway": gateway}]}
        api.ok("POST", "/networks/create", body)
    url = mac.containers()["ollama-pull"].inputs["envs"]
    port = int(next(e for e in url if e.startswith("OLLAMA_HOST=")).rsplit(":", 1)[1])
    standin = OllamaStandIn(["llama3.1:8b"], host=gateway, port=port)
    try:
        yield standin, rename, gateway
    finally:
        standin.close()
        for name in rename.values():
            api.call("DELETE", f"/networks/{name}")


def _ip_on(api: EngineAPI, cid: str) -> set[str]:
    nets = api.ok("GET", f"/containers/{cid}/json")["NetworkSettings"]["Networks"]
    return {n["IPAddress"] for n in nets.values() if n.get("IPAddress")}


def test_the_pull_pulls_into_the_hosts_ollama(
    docker_engine: Engine,
    api: EngineAPI,
    standin_image: str,
    mac: Evaluation,
    host_side: tuple[OllamaStandIn, dict[str, str], str],
) -> None:
    """The pull container exactly as declared: its script, env, network and mapping."""
    standin, rename, gateway = host_side
    inputs = mac.containers()["ollama-pull"].inputs
    assert inputs["hosts"] == [{"host": GATEWAY_NAME, "ip": "host-gateway"}]
    cid = provider_create(
        api,
        f"{docker_engine.prefix}host-pull",
        inputs,
        standin_image,
        rename=rename,
        labels=_label(docker_engine),
        start=False,
    )
    try:
        inspect = api.ok("GET", f"/containers/{cid}/json")
        # What flattenExtraHosts reads back from the engine is what the program sent: no diff.
        stored = [{"host": e.split(":")[0], "ip": e.split(":")[1]} for e in inspect["HostConfig"]["ExtraHosts"]]
        assert stored == inputs["hosts"] == provider.read_back(provider.CONTAINER, inputs)["hosts"]
        api.ok("PUT", f"/containers/{cid}/archive?path=/", raw=_tools_tar(FAKE_OLLAMA))
        api.ok("POST", f"/containers/{cid}/start")
        wait_for("the host-mode pull to report healthy", lambda: _health(api, cid) == "healthy", timeout=60)
        assert read_file(api, cid, MARKER)[0] == b""
        sources = _ip_on(api, cid)
        pulls = [b for m, p, b in standin.requests if (m, p) == ("POST", "/api/pull")]
        assert pulls == [{"model": "llama3.1:8b"}]
        seen = {(peer, path) for peer, path in standin.peers}
        assert {(ip, "/api/pull") for ip in sources} & seen, (sources, seen)
        assert all(ipaddress.ip_address(peer) != ipaddress.ip_address("127.0.0.1") for peer, _ in seen)
        assert read_file(api, cid, "/etc/hosts")[0].decode().count(f"{gateway}\t{GATEWAY_NAME}") == 1
    finally:
        api.call("DELETE", f"/containers/{cid}?force=true")


def test_open_webui_does_not_call_ollama(mac: Evaluation) -> None:
    """Open WebUI talks to LiteLLM only (issue 22): no host mapping, no Ollama URL."""
    webui = mac.containers()["open-webui"].inputs
    assert not webui.get("hosts") and not any(e.startswith("OLLAMA_") for e in webui["envs"])


@pytest.mark.parametrize("name", ["litellm"])
def test_the_callers_reach_the_hosts_ollama_from_their_networks(
    docker_engine: Engine,
    api: EngineAPI,
    standin_image: str,
    mac: Evaluation,
    host_side: tuple[OllamaStandIn, dict[str, str], str],
    name: str,
) -> None:
    """Their declared networks (routed + internal) and mapping; busybox wget in place of the app
    (LiteLLM itself runs on loopback in this tier, test_litellm_proxy.py)."""
    standin, rename, _ = host_side
    declared = mac.containers()[name].inputs
    url = f"http://{GATEWAY_NAME}:{standin.port}/api/version"
    inputs = {
        **{k: v for k, v in declared.items() if k not in ("healthcheck", "uploads", "ports")},
        # No -T: this busybox's wget ends in SIGSEGV with it (exit 139, seen here).
        "entrypoints": ["/bin/sh", "-c"],
        "command": [f"wget -q -O - {url}"],
        "restart": "no",
    }
    cid = provider_create(
        api,
        f"{docker_engine.prefix}host-{name}",
        inputs,
        standin_image,
        rename=rename,
        labels=_label(docker_engine),
        start=False,
    )
    try:
        before = len(standin.peers)
        api.ok("POST", f"/containers/{cid}/start")
        status = api.ok("POST", f"/containers/{cid}/wait")["StatusCode"]
        logs = docker_engine.out("logs", cid)
        assert status == 0 and '"version"' in logs, logs
        # The request came from the container's address on its routed network: the internal
        # network has no gateway, the routed one carries it to this machine.
        routed = [rename[a["name"]] for a in declared["networksAdvanced"]]
        subnets = {
            ipaddress.ip_network(cfg["Subnet"])
            for net in routed
            if not (inspect := api.ok("GET", f"/networks/{net}"))["Internal"]
            for cfg in inspect["IPAM"]["Config"]
        }
        peers = {ipaddress.ip_address(peer) for peer, path in standin.peers[before:] if path == "/api/version"}
        assert peers and all(any(p in n for n in subnets) for p in peers), (peers, subnets)
    finally:
        api.call("DELETE", f"/containers/{cid}?force=true")
