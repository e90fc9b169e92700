"""The scale-out tier's real components on loopback: real LiteLLM with the config the program
renders, Debian's HAProxy running each gate's own configuration, and Ollama stand-ins.

The stack is the README's cluster example with its models on GPU hosts only (`variant_text`:
`ai-stack:host.models: []`, gpu-1's `models` unset, and a second host gpu-2 with one instance
serving llama3.1:8b): LiteLLM reaches every model through a gate, chat and embeddings, and
llama3.1:8b has three instances on two hosts. What changes from the program's declarations,
each change here and nowhere else:
- the gate's binds (`:9434`, `:9435`, its monitor on 127.0.0.1:9433) move to free loopback ports,
  and each backend (`ollama:11434`, `ollama-1:11434`, by Docker's DNS) to its stand-in's port;
- LiteLLM's `api_base` for `http://10.8.0.11:<port>` becomes the gate frontend published there,
  `general_settings.database_url` is dropped (no Postgres), and a custom auth stands for the
  database row of Open WebUI's virtual key (it_stack.KEY_AUTH), as in test_litellm_proxy;
- each Ollama is a stand-in (standins.py) in a process of its own, so stopping it closes every
  connection as a stopped Ollama does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stack.render import litellm_key
from stack.render import ollama_gate as gate_cfg
from tests.integration.it_stack import KEY_AUTH, env_list
from tests.integration.it_support import (
    LOOPBACK,
    Background,
    free_port,
    http_request,
    unavailable,
    venv_script,
    wait_for,
)
from tools.offline import Evaluation, evaluate

DATA = Path(__file__).resolve().parents[1] / "stack" / "data"
ADDRESSES = {"gpu-1": "10.8.0.11", "gpu-2": "10.8.0.12"}
GPU2 = {
    "docker": "ssh://ops@gpu-2.lan",
    "address": ADDRESSES["gpu-2"],
    "cpus": 16,
    "memory": "64Gi",
    "gpus": 1,
    "gpuMemory": "16Gi",
    "ollama": {"cpus": 12, "memory": "48Gi", "gpu": {"driver": "nvidia", "count": "all"}, "kvCacheType": "q8_0"},
    "models": ["llama3.1:8b"],
}


def variant_text() -> str:
    doc = yaml.safe_load((DATA / "Pulumi.cluster.yaml").read_text())
    doc["config"]["ai-stack:host"]["models"] = []
    hosts = doc["config"]["ai-stack:inferenceHosts"]
    hosts["gpu-1"].pop("models")
    hosts["gpu-2"] = GPU2
    return str(yaml.safe_dump(doc, sort_keys=False))


def evaluation() -> Evaluation:
    return evaluate("cluster", root=DATA, config_text=variant_text())


@dataclass
class Standin:
    """An Ollama stand-in process; `lines()` are the requests it got: (method, path, auth)."""

    name: str
    port: int
    models: list[str]
    root: Path
    process: Background | None = None

    @property
    def log(self) -> Path:
        return self.root / f"{self.name}.requests"

    def start(self) -> None:
        import sys

        argv = [sys.executable, "-m", "tests.integration.standins", str(self.port), str(self.log), *self.models]
        self.process = Background.start(
            self.name, argv, log=self.root / f"{self.name}.log", cwd=Path(__file__).resolve().parents[2]
        )
        wait_for(
            f"{self.name} up",
            lambda: http_request(self.port, "/api/version", timeout=2).status == 200,
            timeout=30,
            alive=self.process.dead,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=0.1)
            self.process = None

    def lines(self) -> list[tuple[str, str, str]]:
        if not self.log.exists():
            return []
        return [tuple(line.split(" ", 2)) for line in self.log.read_text().splitlines() if line]  # type: ignore[misc]

    def chats(self) -> int:
        return sum(1 for m, p, _ in self.lines() if (m, p) == ("POST", "/api/chat"))


def gate_config(ev: Evaluation, host: str) -> tuple[str, list[dict[str, Any]]]:
    """A host's gate: the HAProxy configuration its command writes, and its published ports."""
    gate = ev.containers()[f"{host}/ollama-gate"].inputs
    command = str(gate["command"][0])
    match = re.search(r"<<'AI_STACK_EOF'\n(.*)AI_STACK_EOF\n", command, re.S)
    assert match and command.endswith(f"exec haproxy -db -f {gate_cfg.CONFIG_FILE}\n"), command[-200:]
    return match.group(1), list(gate["ports"])


@dataclass
class Gate:
    """Debian's haproxy with a host's gate configuration, moved to loopback ports."""

    host: str
    cfg: str
    root: Path
    frontends: dict[int, int] = field(default_factory=dict)
    """Published host port (11434, 11435) -> the loopback port standing in for it."""
    process: Background | None = None

    @property
    def log(self) -> Path:
        return self.root / f"{self.host}-gate.log"

    def start(self) -> None:
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            unavailable("haproxy is not installed (apt-get install haproxy)")
        path = self.root / f"{self.host}-gate.cfg"
        path.write_text(self.cfg)
        self.process = Background.start(f"{self.host} gate", [haproxy, "-db", "-f", str(path)], log=self.log)
        port = next(iter(self.frontends.values()))
        wait_for(
            "gate up",
            lambda: http_request(port, "/api/version", timeout=2).status == 401,
            timeout=30,
            alive=self.process.dead,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=0.1)
            self.process = None

    def url(self, published: int) -> str:
        return f"http://{LOOPBACK}:{self.frontends[published]}"


def loopback_gate(
    ev: Evaluation, host: str, standins: dict[str, Standin], root: Path, exporters: dict[str, int] | None = None
) -> Gate:
    """`standins` by the instance's name on that host (`ollama`, `ollama-1`); `exporters`: the
    loopback port of each fronted exporter (`node-exporter`), every other one a closed loopback
    port, so HAProxy never looks a container name up."""
    cfg, ports = gate_config(ev, host)
    frontends: dict[int, int] = {}
    for port in ports:
        local = free_port()
        frontends[int(port["external"])] = local
        bind = f"    bind :{int(port['internal'])}\n"
        assert bind in cfg, bind
        cfg = cfg.replace(bind, f"    bind {LOOPBACK}:{local}\n")
    monitor = f"    bind 127.0.0.1:{gate_cfg.HEALTH_PORT}\n"
    assert monitor in cfg
    cfg = cfg.replace(monitor, f"    bind {LOOPBACK}:{free_port()}\n")
    for name, standin in standins.items():
        backend = f"server {name} {name}:11434 "
        assert backend in cfg, name
        cfg = cfg.replace(backend, f"server {name} {LOOPBACK}:{standin.port} ")
    for name, port in re.findall(r"server ([a-z-]+-exporter) \1:(\d+) ", cfg):
        local = (exporters or {}).get(name) or free_port()
        cfg = cfg.replace(f"server {name} {name}:{port} ", f"server {name} {LOOPBACK}:{local} ")
    assert not re.search(r"server \S+ [a-z]", cfg), "a backend still names a container"
    return Gate(host, cfg, root, frontends)


@dataclass
class Litellm:
    url: str
    port: int
    master_key: str
    virtual_key: str
    key_models: list[str]
    config: dict[str, Any]
    process: Background
    evaluation: Evaluation


def loopback_config(ev: Evaluation, gates: dict[str, Gate]) -> dict[str, Any]:
    litellm = ev.containers()["litellm"].inputs
    config: dict[str, Any] = yaml.safe_load(litellm["uploads"][0]["content"])
    hosts = {address: host for host, address in ADDRESSES.items()}
    for entry in config["model_list"]:
        params = entry["litellm_params"]
        base = str(params.get("api_base", ""))
        match = re.match(r"^http://([0-9.]+):(\d+)(/v1)?$", base)
        assert match and match.group(1) in hosts, f"every model goes through a gate in this variant: {base}"
        params["api_base"] = gates[hosts[match.group(1)]].url(int(match.group(2))) + (match.group(3) or "")
    config["general_settings"].pop("database_url", None)
    return config


def start_litellm(ev: Evaluation, gates: dict[str, Gate], root: Path) -> Litellm:
    binary = venv_script("litellm")
    if not binary:
        unavailable("litellm is not installed (pip install 'litellm[proxy]')")
    config = loopback_config(ev, gates)
    master_key = config["general_settings"]["master_key"]
    job = ev.containers()["litellm-key"].inputs
    job_files = {u["file"]: u["content"] for u in job["uploads"]}
    job_env = env_list(job["envs"])
    virtual_key = job_files[job_env["KEY_FILE"]]
    key_models = json.loads(job_env["MODELS"])
    payload = litellm_key.generate_payload(virtual_key, key_models)
    (root / "keys.json").write_text(json.dumps({"master": master_key, "virtual": payload}))
    (root / "it_key_auth.py").write_text(KEY_AUTH)
    config["general_settings"] |= {
        "custom_auth": "it_key_auth.user_api_key_auth",
        "custom_auth_run_common_checks": True,
    }
    config.setdefault("litellm_settings", {})["enable_post_custom_auth_checks"] = True
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    declared = env_list(ev.containers()["litellm"].inputs.get("envs") or [])
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k not in declared}
    env.update({k: v for k, v in declared.items() if k != "STORE_MODEL_IN_DB"})
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
            "LITELLM_LOCAL_BLOG_POSTS": "True",
            "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
            "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
            "LITELLM_TELEMETRY": "False",
            "HTTP_PROXY": f"http://{LOOPBACK}:9",
            "HTTPS_PROXY": f"http://{LOOPBACK}:9",
            "NO_PROXY": "127.0.0.1,localhost",
            "HOME": str(root),
        }
    )
    port = free_port()
    argv = [binary, "--config", str(root / "config.yaml"), "--port", str(port), "--host", LOOPBACK]
    proc = Background.start("litellm (cluster)", argv, log=root / "litellm.log", env=env, cwd=root)
    try:
        wait_for(
            "litellm /health/liveliness",
            lambda: http_request(port, "/health/liveliness", timeout=3).status == 200,
            timeout=180,
            interval=0.5,
            alive=proc.dead,
        )
    except BaseException:
        proc.stop()
        raise
    return Litellm(f"http://{LOOPBACK}:{port}", port, master_key, virtual_key, key_models, config, proc, ev)


@dataclass
class Cluster:
    ev: Evaluation
    standins: dict[str, Standin]
    """By `host/instance`: gpu-1/ollama, gpu-1/ollama-1, gpu-2/ollama."""
    gates: dict[str, Gate]
    litellm: Litellm
    tokens: dict[str, str]


@contextmanager
def cluster(root: Path) -> Iterator[Cluster]:
    """Three Ollama stand-ins (gpu-1's `ollama` and `ollama-1`, gpu-2's `ollama`), both gates, LiteLLM."""
    ev = evaluation()
    models = [str(m) for m in ev.outputs["models"]]
    instances = {"gpu-1": ("ollama", "ollama-1"), "gpu-2": ("ollama",)}
    standins = {
        f"{host}/{name}": Standin(f"{host}-{name}", free_port(), models, root)
        for host, names in instances.items()
        for name in names
    }
    gates = {
        host: loopback_gate(ev, host, {n: standins[f"{host}/{n}"] for n in names}, root)
        for host, names in instances.items()
    }
    tokens = {
        host: str(next(r for r in ev.resources if r.name == f"secrets-ollama-token-{host}").outputs["result"])
        for host in instances
    }
    started: list[Any] = []
    try:
        for s in standins.values():
            s.start()
            started.append(s)
        for g in gates.values():
            g.start()
            started.append(g)
        litellm = start_litellm(ev, gates, root)
        started.append(litellm.process)
        yield Cluster(ev, standins, gates, litellm, tokens)
    finally:
        for thing in reversed(started):
            thing.stop()


def chat(port: int, key: str, model: str, timeout: float = 60) -> tuple[int, float]:
    """One chat completion through LiteLLM: (HTTP status, seconds)."""
    started = time.monotonic()
    reply = http_request(
        port,
        "/v1/chat/completions",
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        body=json.dumps({"model": model, "messages": [{"role": "user", "content": "ping"}]}).encode(),
        timeout=timeout,
    )
    return reply.status, time.monotonic() - started
