"""Real LiteLLM routes one model over Ollama instances on two hosts, through real HAProxy gates.

Everything is the program's own: LiteLLM's config.yaml (model list, router settings, tokens) as
the cluster example renders it, each gate's HAProxy configuration as its command writes it
(Debian's HAProxy 2.6; the image has 3.2.4). What stands in is listed in scaleout.py.

Measured here (printed, and in the README): requests lost and latency while an instance is
stopped (its gate answers 503) and while a whole host is gone (connection refused), and how soon
a restarted instance gets requests again.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.components.monitoring import PROMETHEUS_CONFIG, gate_token_file
from tests.integration import it_monitoring as mon
from tests.integration import scaleout, webui
from tests.integration.it_stack import env_list
from tests.integration.it_support import LOOPBACK, Background, free_port, http_request, unavailable, wait_for

pytestmark = pytest.mark.integration
CHAT = "llama3.1:8b"
"""Served by gpu-1's two instances and gpu-2's one."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[scaleout.Cluster]:
    with scaleout.cluster(tmp_path_factory.mktemp("scaleout")) as running:
        yield running


def _gate(stack: scaleout.Cluster, host: str, published: int, method: str, path: str, token: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"model": CHAT}).encode() if method == "POST" else None
    reply = http_request(
        stack.gates[host].frontends[published], path, method=method, headers=headers, body=body, timeout=10
    )
    return reply.status


def test_the_gate_admits_only_the_token_and_the_calls_litellm_makes(stack: scaleout.Cluster) -> None:
    token = stack.tokens["gpu-1"]
    assert _gate(stack, "gpu-1", 11434, "GET", "/api/tags", None) == 401
    assert _gate(stack, "gpu-1", 11434, "GET", "/api/tags", "wrong") == 401
    assert _gate(stack, "gpu-1", 11434, "GET", "/api/tags", stack.tokens["gpu-2"]) == 401  # another host's
    assert _gate(stack, "gpu-1", 11434, "GET", "/api/tags", token) == 200
    assert _gate(stack, "gpu-1", 11435, "POST", "/api/show", token) == 200
    # What would change the models, even with the token: refused at the gate.
    for path in ("/api/pull", "/api/delete", "/api/create", "/api/copy", "/api/push", "/api/generate"):
        assert _gate(stack, "gpu-1", 11434, "POST", path, token) == 403, path
    assert _gate(stack, "gpu-1", 11434, "DELETE", "/api/chat", token) == 403
    # Each published port is its own instance, and the token never reaches Ollama.
    first, second = stack.standins["gpu-1/ollama"].lines(), stack.standins["gpu-1/ollama-1"].lines()
    assert ("GET", "/api/tags", "-") in first and ("POST", "/api/show", "-") in second
    assert not {p for _, p, _ in first + second} & {"/api/pull", "/api/delete", "/api/create", "/api/generate"}
    assert {a for *_, a in first + second} == {"-"}


def test_haproxy_accepts_the_gates_own_configuration_unchanged(stack: scaleout.Cluster, tmp_path: Path) -> None:
    """`haproxy -c` on exactly what the gate's command writes (its binds and backend names too:
    `init-addr last,libc,none` lets it start before Docker's DNS knows an instance)."""
    import shutil
    import subprocess

    cfg, _ = scaleout.gate_config(stack.ev, "gpu-1")
    (tmp_path / "gate.cfg").write_text(cfg)
    haproxy = shutil.which("haproxy")
    assert haproxy is not None
    done = subprocess.run([haproxy, "-c", "-f", str(tmp_path / "gate.cfg")], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration file is valid" in done.stdout + done.stderr


def _burst(stack: scaleout.Cluster, n: int, workers: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(n // workers):
            status, _ = scaleout.chat(stack.litellm.port, stack.litellm.master_key, CHAT)
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return statuses


def _chats(stack: scaleout.Cluster) -> dict[str, int]:
    return {name: s.chats() for name, s in stack.standins.items()}


def test_litellm_spreads_a_model_over_every_instance(stack: scaleout.Cluster) -> None:
    before = _chats(stack)
    statuses = _burst(stack, 60, 4)
    assert statuses == [200] * 60
    got = {k: v - before[k] for k, v in _chats(stack).items()}
    # simple-shuffle over three deployments: each gets a share (below 8 of 60 is about 1e-4 likely).
    assert sum(got.values()) == 60 and min(got.values()) >= 8, got
    # Through the gates: LiteLLM sent each host's token (else 401), which the gate removed.
    for s in stack.standins.values():
        assert {a for m, p, a in s.lines() if p == "/api/chat"} == {"-"}


def test_embeddings_go_through_the_gate_with_the_token(stack: scaleout.Cluster) -> None:
    """The gated embedding is LiteLLM's openai/ provider on Ollama's /v1/embeddings (base64 floats)."""
    reply = http_request(
        stack.litellm.port,
        "/v1/embeddings",
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack.litellm.master_key}"},
        body=json.dumps({"model": "nomic-embed-text", "input": ["hello", "world"]}).encode(),
        timeout=60,
    )
    assert reply.status == 200, reply.text
    vectors = [d["embedding"] for d in reply.json()["data"]]
    assert len(vectors) == 2 and all(v == pytest.approx([0.1, 0.2, 0.3], abs=1e-6) for v in vectors)
    embeds = [
        line
        for name in ("gpu-1/ollama", "gpu-1/ollama-1")
        for line in stack.standins[name].lines()
        if line[1] == "/v1/embeddings"
    ]
    assert embeds and {a for *_, a in embeds} == {"-"}


class Load:
    """Four clients sending chats back to back; every request's start, end and status."""

    def __init__(self, stack: scaleout.Cluster, workers: int = 4) -> None:
        self.stack = stack
        self.results: list[tuple[float, float, int]] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._work) for _ in range(workers)]

    def _work(self) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                status, _ = scaleout.chat(self.stack.litellm.port, self.stack.litellm.master_key, CHAT, timeout=60)
            except OSError:
                status = 0
            with self.lock:
                self.results.append((start, time.monotonic(), status))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)

    def window(self, start: float, end: float) -> list[tuple[float, float, int]]:
        with self.lock:
            return [r for r in self.results if start <= r[0] < end]


def _figures(name: str, rows: list[tuple[float, float, int]]) -> dict[str, float]:
    durations = sorted(e - s for s, e, _ in rows)
    figures = {
        "requests": len(rows),
        "failed": sum(1 for *_, status in rows if status != 200),
        "p50_ms": 1000 * durations[len(durations) // 2],
        "max_ms": 1000 * durations[-1],
    }
    print(f"{name}: {figures}")
    return figures


def _first_after(standin: scaleout.Standin, count: int, deadline: float) -> float | None:
    while time.monotonic() < deadline:
        if standin.chats() > count:
            return time.monotonic()
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("what", ["instance", "host"])
def test_failover_loses_no_request_and_the_instance_comes_back(
    stack: scaleout.Cluster, what: str, tmp_path: Path
) -> None:
    """`instance`: gpu-1's `ollama-1` stops (its gate answers 503). `host`: gpu-2 is gone (its
    gate stops: connection refused). Requests keep succeeding on the others; started again, the
    instance gets requests again."""
    victim = stack.standins["gpu-1/ollama-1"] if what == "instance" else stack.standins["gpu-2/ollama"]
    down = victim if what == "instance" else stack.gates["gpu-2"]
    with Load(stack) as load:
        time.sleep(2)
        stopped = time.monotonic()
        down.stop()
        time.sleep(6)
        restarted = time.monotonic()
        before = victim.chats()
        down.start()
        back = _first_after(victim, before, time.monotonic() + 30)
        time.sleep(2)
    baseline = _figures(f"{what}: before", load.window(0, stopped))
    outage = _figures(f"{what}: stopped", load.window(stopped, restarted))
    assert baseline["failed"] == 0 and outage["requests"] >= 10
    assert outage["failed"] == 0, f"requests lost while {what} was down: {outage}"
    assert back is not None, f"the {what} got no request within 30 s of its restart"
    print(f"{what}: first request {back - restarted:.2f} s after the restart")
    assert _figures(f"{what}: after", load.window(restarted, time.monotonic()))["failed"] == 0


# --------------------------------------------------------------------------- Open WebUI's chats


@pytest.fixture(scope="module")
def owui(stack: scaleout.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[webui.Webui, str]]:
    """Real Open WebUI 0.11.1 with the cluster's declared env, wrapper and secret files, talking
    to the cluster's LiteLLM with its virtual key (the program's path: Open WebUI has no Ollama
    connection); signed in as the declared first admin."""
    container = stack.ev.containers()["open-webui"].inputs
    declared = env_list(list(container["envs"]))
    root = tmp_path_factory.mktemp("open-webui")
    data = root / "data"
    data.mkdir()
    port = free_port()
    env = webui.run_env(
        declared, data_dir=data, litellm_url=stack.litellm.url, extra_origins=[f"http://{LOOPBACK}:{port}"]
    )
    webui.write_secrets(container["uploads"], root / "secrets")
    server = webui.Webui(
        binary=webui.open_webui_binary(),
        env=env,
        data_dir=data,
        port=port,
        logs=root,
        secrets_dir=root / "secrets",
        wrapper=container["command"][0],
    )
    server.start()
    try:
        files = {Path(u["file"]).name: u["content"] for u in container["uploads"]}
        status, body = server.request(
            "POST",
            "/api/v1/auths/signin",
            payload={"email": declared["WEBUI_ADMIN_EMAIL"], "password": files["webui-admin-password"]},
        )
        assert status == 200, body
        yield server, str(body["token"])
    finally:
        server.stop()


def _webui_chat(server: webui.Webui, token: str) -> tuple[int, Any]:
    payload = {"model": CHAT, "messages": [{"role": "user", "content": "ping"}], "stream": False}
    return server.request("POST", "/api/chat/completions", token=token, payload=payload)


def test_open_webui_chats_spread_over_every_instance(stack: scaleout.Cluster, owui: tuple[webui.Webui, str]) -> None:
    server, token = owui
    status, models = server.request("GET", "/api/models", token=token)
    assert status == 200, models
    # One entry per model, however many instances serve it: LiteLLM's model_name.
    assert sorted(m["id"] for m in models["data"]) == sorted(stack.litellm.key_models)
    before = _chats(stack)
    for _ in range(45):
        status, body = _webui_chat(server, token)
        assert status == 200, body
    got = {k: v - before[k] for k, v in _chats(stack).items()}
    # Random over three instances: each gets a share (3 or fewer of 45 is about 1e-5 likely).
    assert sum(got.values()) == 45 and min(got.values()) >= 4, got


def test_open_webui_keeps_chatting_and_listing_models_with_a_host_down(
    stack: scaleout.Cluster, owui: tuple[webui.Webui, str]
) -> None:
    """gpu-2 gone (its gate stopped): every chat still succeeds, and Open WebUI's model list does
    not wait for it (LiteLLM's /v1/models answers from its config; Open WebUI's own Ollama
    connections would wait AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST, 10 s, open_webui/env.py 0.11.1)."""
    server, token = owui
    gone = stack.standins["gpu-2/ollama"]
    stack.gates["gpu-2"].stop()
    try:
        started = time.monotonic()
        status, _ = server.request("GET", "/api/models", token=token)
        listed = time.monotonic() - started
        assert status == 200
        count = gone.chats()
        rows = []
        for _ in range(20):
            started = time.monotonic()
            status, body = _webui_chat(server, token)
            rows.append((started, time.monotonic(), status))
            assert status == 200, body
        assert gone.chats() == count
        figures = _figures("open webui, gpu-2 down", rows)
        print(f"open webui, gpu-2 down: model list in {1000 * listed:.0f} ms")
        assert listed < 5 and figures["failed"] == 0
    finally:
        stack.gates["gpu-2"].start()


def _binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is missing (apt-get install {package}; scripts/bootstrap.sh dev does)")
    return found


def test_prometheus_scrapes_an_inference_hosts_exporters_through_its_gate(
    stack: scaleout.Cluster, tmp_path: Path
) -> None:
    """gpu-1's exporters publish nothing: Prometheus reaches them through gpu-1's gate with that
    gate's token. Debian's node-exporter with gpu-1's declared command, a dcgm-format stand-in,
    Debian's HAProxy with gpu-1's gate configuration, Debian's Prometheus with the jobs the program
    renders for gpu-1 and the token file it uploads (addresses moved to loopback, 1s intervals)."""
    ev, token = stack.ev, stack.tokens["gpu-1"]
    files = {u["file"]: u["content"] for u in ev.containers()["prometheus"].inputs["uploads"]}
    assert files[gate_token_file("gpu-1")] == token
    jobs = {j["job_name"]: j for j in yaml.safe_load(files[PROMETHEUS_CONFIG])["scrape_configs"]}
    gated = {name: jobs[name] for name in ("node-gpu-1", "gpu-gpu-1")}
    published = {name: j["static_configs"][0]["targets"][0] for name, j in gated.items()}
    assert published == {"node-gpu-1": "10.8.0.11:11436", "gpu-gpu-1": "10.8.0.11:11437"}

    node_port, gpu = free_port(), mon.GpuStandIn()
    declared = [str(a) for a in ev.containers()["gpu-1/node-exporter"].inputs["command"]]
    argv, _ = mon.node_exporter_argv(
        _binary("prometheus-node-exporter", "prometheus-node-exporter"),
        declared,
        textfile=str(tmp_path),
        port=node_port,
    )
    instances = {n: stack.standins[f"gpu-1/{n}"] for n in ("ollama", "ollama-1")}
    gate = scaleout.loopback_gate(
        ev, "gpu-1", instances, tmp_path, exporters={"node-exporter": node_port, "gpu-exporter": gpu.start()}
    )
    processes: list[Any] = []
    try:
        processes.append(Background.start("node-exporter", argv, log=tmp_path / "node.log"))
        gate.start()
        processes.append(gate)
        node = gate.frontends[11436]
        # The gate's rules for an exporter: the token, then GET of its one path.
        auth = {"Authorization": f"Bearer {token}"}
        assert http_request(node, "/metrics", timeout=10).status == 401
        assert http_request(node, "/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status == 401
        assert http_request(node, "/", headers=auth, timeout=10).status == 403
        assert http_request(node, "/metrics", method="POST", headers=auth, timeout=10).status == 403
        reply = http_request(node, "/metrics", headers=auth, timeout=10)
        assert reply.status == 200 and b"node_exporter_build_info" in reply.body

        (tmp_path / "token").write_text(files[gate_token_file("gpu-1")])
        for name, job in gated.items():
            job["static_configs"][0]["targets"] = [
                f"{LOOPBACK}:{gate.frontends[int(published[name].rsplit(':', 1)[1])]}"
            ]
            assert job["authorization"]["credentials_file"] == gate_token_file("gpu-1")
            job["authorization"]["credentials_file"] = str(tmp_path / "token")
        port = free_port()
        config = {"global": {"scrape_interval": "1s"}, "scrape_configs": list(gated.values())}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        prometheus = Background.start(
            "prometheus",
            [
                _binary("prometheus", "prometheus"),
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address={LOOPBACK}:{port}",
            ],
            log=tmp_path / "prometheus.log",
        )
        processes.append(prometheus)

        def up() -> dict[str, float]:
            reply = http_request(port, "/api/v1/query?query=up", timeout=5)
            if reply.status != 200:
                return {}
            return {r["metric"]["job"]: float(r["value"][1]) for r in reply.json()["data"]["result"]}

        wait_for("both gated jobs up", lambda: up() == {"node-gpu-1": 1.0, "gpu-gpu-1": 1.0}, timeout=60)
        reply = http_request(port, "/api/v1/query?query=DCGM_FI_DEV_GPU_TEMP", timeout=5)
        (series,) = reply.json()["data"]["result"]
        assert series["metric"]["host"] == "gpu-1" and float(series["value"][1]) == gpu.temperature
    finally:
        for proc in reversed(processes):
            proc.stop()
        gpu.close()
