"""The cluster example on two real Docker Engines, each in a network namespace of its own with the
addresses the stack file gives: every container created on its own host's engine as the provider
creates it, started, and read back as the provider reads it; the gate's ports bind gpu-1's
declared private address and nothing else.

Two network namespaces this test makes (`ip netns`), joined by a veth pair: the main host at
10.8.0.10 and gpu-1 at 10.8.0.11 (the example's `address`), each running Debian trixie's dockerd
26.1.5 (engines.py). Nothing is routed outside them. What stands in, as in test_engine_specs.py:
the images (busybox shims, and a stand-in that answers every healthcheck's probe and the
gate's ports), CPUs above this machine's, the Docker socket (the private engine's), GPU requests
(created exactly as declared and compared, started without).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stack import canonical
from stack.components.model_pull import MARKER as PULL_MARKER
from stack.constants import MONITORING_PORTS
from stack.render import ollama_gate as gate_cfg
from stack.render.litellm_key import MARKER as KEY_MARKER
from stack.render.litellm_metrics_key import MARKER as METRICS_KEY_MARKER
from tests.integration import engines
from tests.integration.engine_api import EngineAPI, network_create_body, provider_create, provider_delete, wait_healthy
from tests.integration.it_support import Engine, unavailable
from tests.integration.test_engine_specs import startable, stored, stored_gpu
from tools import provider
from tools.offline import Evaluation, evaluate

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "stack" / "data"
MAIN_ADDRESS, GPU_ADDRESS = "10.8.0.10", "10.8.0.11"


def ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"


@dataclass
class Namespaces:
    main: str
    gpu: str


@pytest.fixture(scope="module")
def namespaces() -> Iterator[Namespaces]:
    """Two namespaces joined by a veth pair; deleted (with the pair) at the end."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        unavailable("network namespaces need root and iproute2")
    tag = uuid.uuid4().hex[:6]
    ns = Namespaces(f"ai23-{tag}-main", f"ai23-{tag}-gpu")
    made: list[str] = []
    try:
        for name in (ns.main, ns.gpu):
            ip("netns", "add", name)
            made.append(name)
            ip("-n", name, "link", "set", "lo", "up")
        a, b = f"v{tag}m", f"v{tag}g"
        ip("link", "add", a, "netns", ns.main, "type", "veth", "peer", "name", b, "netns", ns.gpu)
        for name, dev, address in ((ns.main, a, MAIN_ADDRESS), (ns.gpu, b, GPU_ADDRESS)):
            ip("-n", name, "addr", "add", f"{address}/24", "dev", dev)
            ip("-n", name, "link", "set", dev, "up")
        yield ns
    finally:
        for name in made:
            _delete(name)


def _delete(name: str) -> None:
    """`ip netns delete`, retried while a dockerd that just stopped still holds the namespace
    (bounded: 10 s); the veth pair goes with it."""
    argv = ["ip", "netns", "delete", name]
    for _ in range(20):
        if subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0:
            return
        time.sleep(0.5)
    ip("netns", "delete", name)


# What the cluster's containers run, in front of the spec image's shims (engines.py): as PID 1 (a
# container's main process, `exec`ed by the socket proxy's and the gate's `sh -c`) it marks the
# run-once jobs' success as they do, answers the probes the healthchecks make (the socket proxy's
# /_ping on 2375, the gate's monitor URI) and each gate frontend's port, then sleeps; as anything
# else (a probe) it succeeds. The real gate runs in tests/integration/test_scaleout_routing.py.
LISTEN = " ".join(
    [
        "127.0.0.1:2375",
        f"127.0.0.1:{gate_cfg.HEALTH_PORT}",
        # gpu-1's gate: two instances, then the node, GPU and Ollama exporters (monitoring).
        *(f"0.0.0.0:{gate_cfg.port(i)}" for i in range(5)),
        # The monitoring's healthchecks (wget of /-/healthy or / on each one's port).
        *(f"127.0.0.1:{port}" for port in MONITORING_PORTS.values()),
    ]
)
STANDIN = f"""#!/bin/sh
if [ "$$" = 1 ]; then
  trap 'exit 0' TERM
  touch {PULL_MARKER} {KEY_MARKER} {METRICS_KEY_MARKER} 2>/dev/null
  for port in {LISTEN}; do
    httpd -p "$port" -h /
  done
  while :; do sleep 3600 & wait $!; done
fi
exit 0
"""


def cluster_image(eng: Engine, base: str, context: Path) -> str:
    """The spec image with STANDIN first on PATH, under every name the cluster's commands and
    probes call, and the files those probes fetch."""
    (context / "standin").mkdir(parents=True)
    (context / "standin" / "shim").write_text(STANDIN)
    (context / "standin" / "shim").chmod(0o755)
    for name in (*engines.SHIMMED, "haproxy"):
        if not (context / "standin" / name).exists():
            (context / "standin" / name).symlink_to("shim")
    (context / "files" / "etc").mkdir(parents=True)
    # The accounts the program's `user` inputs name (the engine resolves a name in the image's
    # /etc/passwd at start): postgres 999 (docker-library/postgres 16/bookworm/Dockerfile
    # `useradd -r -g postgres --uid=999`), nobody 65534.
    (context / "files" / "etc" / "passwd").write_text(
        "root:x:0:0::/root:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
    )
    (context / "files" / "etc" / "group").write_text("root:x:0:\npostgres:x:999:\nnogroup:x:65534:\n")
    (context / "files" / gate_cfg.HEALTH_URI.lstrip("/")).write_text("OK")
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY standin/ /standin/\nCOPY files/ /\nENV PATH=/standin:/bin\n"
    )
    tag = f"{base}-cluster"
    eng.run("build", "-q", "--label", eng.session_label, "-t", tag, str(context), timeout=300)
    return tag


@dataclass
class Host:
    label: str
    engine: Engine
    api: EngineAPI
    image: str
    ncpu: int
    ev: Evaluation
    ids: dict[str, str] = dataclasses.field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    exact: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        key, _, value = self.engine.session_label.partition("=")
        return {key: value}


def on_host(ev: Evaluation, host: str) -> Evaluation:
    """The resources of one host, each as if on the default provider (its engine is the only one)."""
    mine = [dataclasses.replace(r, provider="") for r in ev.resources if r.custom and r.host == host]
    return dataclasses.replace(ev, resources=mine)


def as_declared(inputs: dict[str, Any], ncpu: int, socket_path: str) -> dict[str, Any]:
    """The declared inputs; ports stay as declared (each host's addresses exist in its namespace)."""
    out = dict(inputs)
    if float(out["cpus"]) > ncpu:
        out["cpus"] = canonical.cpus(ncpu)
    if out.get("volumes"):
        out["volumes"] = [
            {**v, "hostPath": socket_path} if str(v.get("hostPath", "")).endswith("docker.sock") else v
            for v in out["volumes"]
        ]
    return out


def deploy(h: Host) -> None:
    assert h.engine.socket_path
    for net in h.ev.of_type(provider.NETWORK):
        status, data = h.api.call(
            "POST", "/networks/create", network_create_body(net.inputs, net.inputs["name"], h.labels)
        )
        assert status == 201, data
    for vol in h.ev.of_type(provider.VOLUME):
        h.api.ok("POST", "/volumes/create", {"Name": vol.inputs["name"], "Labels": h.labels})
    for name, c in h.ev.containers().items():
        inputs = as_declared(c.inputs, h.ncpu, h.engine.socket_path)
        h.inputs[name] = inputs
        if inputs.get("deviceRequests") or inputs.get("devices"):
            cid = provider_create(h.api, f"{name}-gpu", inputs, h.image, rename={}, labels=h.labels, start=False)
            h.exact[name] = h.api.ok("GET", f"/containers/{cid}/json")
            provider_delete(h.api, cid, inputs)
        h.ids[name] = provider_create(h.api, name, startable(inputs), h.image, rename={}, labels=h.labels)
    for name, cid in h.ids.items():
        wait_healthy(h.api, cid, float(h.inputs[name]["waitTimeout"]))


@pytest.fixture(scope="module")
def hosts(namespaces: Namespaces, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Host]]:
    ev = evaluate("cluster", root=DATA)
    config = tmp_path_factory.mktemp("docker-config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(DOCKER_CONFIG=str(config), DOCKER_BUILDKIT="0", DOCKER_CLI_HINTS="false")
    with (
        engines.engine("default", 2, env, netns=namespaces.main) as main,
        engines.engine("default", 3, env, netns=namespaces.gpu) as gpu,
    ):
        out = {}
        for label, eng in (("main", main), ("gpu-1", gpu)):
            assert eng.socket_path
            api = EngineAPI(eng.socket_path)
            base = engines.spec_image(eng, tmp_path_factory.mktemp(f"image-{label}"))
            image = cluster_image(eng, base, tmp_path_factory.mktemp(f"cluster-{label}"))
            info = api.ok("GET", "/info")
            out[label] = Host(label, eng, api, image, int(info["NCPU"]), on_host(ev, label))
            deploy(out[label])
        yield out
        for h in out.values():
            h.engine.cleanup()


def expected(h: Host) -> dict[str, dict[str, Any]]:
    resources = [
        dataclasses.replace(r, inputs=h.inputs[r.docker_name or ""]) if r.type == provider.CONTAINER else r
        for r in h.ev.resources
    ]
    states = provider.read_back_all(resources, provider.Host(userland_proxy=True))
    return {r.docker_name or "": states[r.urn] for r in resources if r.type == provider.CONTAINER}


def test_every_container_is_on_its_own_hosts_engine(hosts: dict[str, Host]) -> None:
    names = {label: sorted(h.ids) for label, h in hosts.items()}
    assert names == {
        "main": [
            "alertmanager",
            "backup",
            "blackbox-exporter",
            "docker-socket-proxy",
            "litellm",
            "litellm-key",
            "litellm-metrics-key",
            "node-exporter",
            "ollama",
            "ollama-exporter",
            "ollama-pull",
            "open-webui",
            "postgres",
            "prometheus",
            "traefik",
        ],
        # Monitoring: gpu-1's own exporters, on gpu-1's engine.
        "gpu-1": [
            "gpu-exporter",
            "node-exporter",
            "ollama",
            "ollama-1",
            "ollama-1-pull",
            "ollama-exporter",
            "ollama-gate",
            "ollama-pull",
        ],
    }
    for h in hosts.values():
        listed = {c["Names"][0].lstrip("/") for c in h.api.ok("GET", "/containers/json?all=1")}
        assert listed == set(h.ids), h.label


@pytest.mark.parametrize("label", ["main", "gpu-1"])
def test_each_host_reads_back_as_the_provider_model_says(hosts: dict[str, Host], label: str) -> None:
    h = hosts[label]
    want_all = expected(h)
    compared, wrong = set(), []
    for name, cid in h.ids.items():
        state, want = stored(h.api.ok("GET", f"/containers/{cid}/json")), want_all[name]
        for key in sorted(state.keys() & want.keys()):
            value, wanted = state[key], want[key]
            if key == "capabilities":
                wanted = {"drops": wanted.get("drops") or [], "adds": wanted.get("adds") or []}
            if value != wanted:
                wrong.append(f"{label}/{name}: {key} is stored as {value!r}, the model says {wanted!r}")
            compared.add(key)
        if name in h.exact:
            gpu = stored_gpu(h.exact[name])["deviceRequests"]
            if gpu != (wanted := provider.read_back(provider.CONTAINER, h.inputs[name])["deviceRequests"]):
                wrong.append(f"{label}/{name}: deviceRequests is stored as {gpu!r}, the model says {wanted!r}")
    assert not wrong, "\n".join(wrong)
    assert {"ports", "networkMode", "memorySwap", "hosts"} <= compared
    for net in h.ev.of_type(provider.NETWORK):
        got = h.api.ok("GET", f"/networks/{net.inputs['name']}")
        assert (got["Internal"], got["Attachable"]) == (bool(net.inputs.get("internal")), False), net.name


def test_each_instance_has_its_own_gpu_as_declared(hosts: dict[str, Host]) -> None:
    gpus = {name: stored_gpu(inspect)["deviceRequests"] for name, inspect in hosts["gpu-1"].exact.items()}
    assert gpus == {
        "ollama": [{"driver": "nvidia", "count": 0, "capabilities": ["gpu"], "deviceIds": ["0"]}],
        "ollama-1": [{"driver": "nvidia", "count": 0, "capabilities": ["gpu"], "deviceIds": ["1"]}],
        # dcgm-exporter reads every GPU of its host.
        "gpu-exporter": [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}],
    }


GET = (
    "import sys, urllib.request\n"
    "try:\n"
    "    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end='')\n"
    "except OSError as e:\n"
    "    sys.exit(f'{sys.argv[1]}: {e}')\n"
)


def _wget(namespace: str, url: str) -> subprocess.CompletedProcess[str]:
    """An HTTP GET from inside `namespace` (this interpreter, joined to it by `ip netns exec`)."""
    argv = ["ip", "netns", "exec", namespace, sys.executable, "-c", GET, url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def test_the_gate_is_reached_on_the_private_address_only(hosts: dict[str, Host], namespaces: Namespaces) -> None:
    """The gate's stand-in answers on its ports; the main host reaches it at 10.8.0.11:11434 and
    11435 (the instances) and 11436-11438 (the exporters), and nothing answers those ports on any
    other address of either host."""
    gpu = hosts["gpu-1"]
    bindings = gpu.api.ok("GET", f"/containers/{gpu.ids['ollama-gate']}/json")["NetworkSettings"]["Ports"]
    assert {k: [(b["HostIp"], b["HostPort"]) for b in v] for k, v in bindings.items()} == {
        f"{9434 + i}/tcp": [(GPU_ADDRESS, str(11434 + i))] for i in range(5)
    }
    for port in range(11434, 11439):
        reached = _wget(namespaces.main, f"http://{GPU_ADDRESS}:{port}/_ping")
        assert reached.returncode == 0 and reached.stdout == "OK", reached.stderr
        for elsewhere in ("127.0.0.1", MAIN_ADDRESS):
            ns = namespaces.gpu if elsewhere == "127.0.0.1" else namespaces.main
            assert _wget(ns, f"http://{elsewhere}:{port}/_ping").returncode != 0, (elsewhere, port)
    # No Ollama instance nor exporter publishes anything: only the gate is reachable from the main host.
    for name in ("ollama", "ollama-1", "node-exporter", "gpu-exporter", "ollama-exporter"):
        inspect = gpu.api.ok("GET", f"/containers/{gpu.ids[name]}/json")
        assert not any(inspect["NetworkSettings"]["Ports"].values()), name
