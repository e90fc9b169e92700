"""The tooling follows the hosts: the gate and the diff name each resource's host, `make up` checks
each inference host as its provider reaches it, and `make smoke` checks every Ollama instance.

The README's cluster example (tests/stack/data/Pulumi.cluster.yaml) is gated like the AMD and Mac
examples; the fakes stand for `ssh`/`docker`/`nvidia-smi` and Ollama's HTTP API, each answering
in the documented format of the real program.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from tools import hostprereqs, packconfig, smoke, smoke_ollama
from tools.gate import render
from tools.gate.run import run_gate
from tools.offline import ROOT
from tools.stackfile import stack_settings

DATA = Path(__file__).resolve().parents[1] / "stack" / "data"


def _gate_root(tmp_path: Path) -> tuple[Path, Path]:
    pack = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", pack, ignore=shutil.ignore_patterns("venv", "__pycache__", "config"))
    (pack / "config").mkdir()
    shutil.copy(DATA / "Pulumi.cluster.yaml", tmp_path / "Pulumi.cluster.yaml")
    (pack / "config" / "cluster.json").write_text(packconfig.render(stack_settings("cluster", DATA)))
    return tmp_path, pack


def test_the_cluster_passes_the_gate_with_each_resource_on_its_host(tmp_path: Path) -> None:
    root, pack = _gate_root(tmp_path)
    (report,) = run_gate(["cluster"], root=root, pack_dir=pack)
    assert report.error is None and report.passed and report.diagnostics == [], report.diagnostics
    rows = {(r.type, r.host, r.name) for r in report.rows}
    assert ("Container", "gpu-1", "ollama-1") in rows and ("Container", "gpu-1", "ollama-gate") in rows
    assert ("Container", "main", "ollama") in rows and ("Provider", "gpu-1", "docker ssh://ops@gpu-1.lan") in rows
    text = render.text([report])
    assert f"inventory: {len(report.rows)} resources, 23 containers on 2 hosts (main, gpu-1)" in text
    header = next(line for line in text.splitlines() if line.startswith("TYPE"))
    assert header.split()[:3] == ["TYPE", "HOST", "NAME"]
    gate = next(line for line in text.splitlines() if "gpu-1" in line and "ollama-gate" in line)
    # Two instances and three exporters, on the private address alone.
    assert "10.8.0.11:11434-11438→9434-9438" in gate
    assert max(len(line) for line in text.splitlines()) <= 200


def test_pack_config_declares_each_host(tmp_path: Path) -> None:
    config = packconfig.pack_config(stack_settings("cluster", DATA))
    assert config["stack-host-capacity"]["hosts"] == {"gpu-1": {"hostCpus": 32, "hostMemoryMb": 131072, "hostGpus": 2}}
    assert config["inference-host-private-bind"] == {"hosts": {"gpu-1": "10.8.0.11"}}
    # gpu-1's dcgm-exporter reads the GPUs its instances have.
    assert config["container-gpu-allow-list"] == {"allowedContainers": ["gpu-exporter", "ollama", "ollama-1"]}


# --- make up: each inference host ------------------------------------------------------------


def fake(answers: dict[str, tuple[int, str, str]]) -> tuple[list[list[str]], Any]:
    """A runner answering by the command's first word after `--` (ssh) or its own first word."""
    seen: list[list[str]] = []

    def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        seen.append(list(cmd))
        remote = list(cmd[cmd.index("--") + 1 :]) if "--" in cmd else list(cmd)
        key = " ".join(remote[:2])
        code, out, err = answers.get(key, answers.get(remote[0], (0, "", "")))
        return subprocess.CompletedProcess(list(cmd), code, out, err)

    return seen, run


INFO = json.dumps({"ServerVersion": "27.3.1", "NCPU": 32, "MemTotal": 140_000_000_000, "Runtimes": {"nvidia": {}}})
TWO_GPUS = "0, 24564\n1, 24564\n"


def test_each_host_is_reached_as_its_provider_reaches_it() -> None:
    seen, run = fake({"docker info": (0, INFO, ""), "nvidia-smi": (0, TWO_GPUS, "")})
    warnings: list[str] = []
    s = stack_settings("cluster", DATA)
    found = hostprereqs.problems(s, "Pulumi.cluster.yaml", run=run, env={}, warnings=warnings)
    assert found == [] and warnings == []
    assert seen == [
        ["ssh", "ops@gpu-1.lan", "--", "docker", "info", "--format", "{{json .}}"],
        ["ssh", "ops@gpu-1.lan", "--", *hostprereqs.GPU_QUERY],
    ]


def test_a_host_that_is_smaller_than_declared_or_missing_gpus() -> None:
    small = json.dumps({"ServerVersion": "24.0.7", "NCPU": 8, "MemTotal": 8 * 1024**3})
    _, run = fake({"docker info": (0, small, ""), "nvidia-smi": (0, "0, 12288\n", "")})
    warnings: list[str] = []
    found = hostprereqs.problems(
        stack_settings("cluster", DATA), "Pulumi.cluster.yaml", run=run, env={}, warnings=warnings
    )
    assert (
        "ai-stack:inferenceHosts.gpu-1: Docker Engine 24.0.7 is older than 25.0 (it drops start_interval): upgrade it"
        in found
    )
    assert "ai-stack:inferenceHosts.gpu-1.cpus is 32 but that host has 8 CPUs: set it to 8 or less" in found
    assert "ai-stack:inferenceHosts.gpu-1.gpus is 2 but nvidia-smi there lists 1: set it to 1" in found
    assert (
        "ai-stack:inferenceHosts.gpu-1.gpuMemory is 24Gi but GPU 0 there has 12288Mi: the models' fit was checked "
        "against more than it has; set it to 12Gi" in warnings
    )
    assert any("lists no nvidia runtime" in w for w in warnings)


def test_an_unreachable_host_and_a_docker_context_are_named() -> None:
    _, run = fake({"docker info": (255, "", "ssh: connect to host gpu-1.lan port 22: No route to host")})
    found = hostprereqs.problems(
        stack_settings("cluster", DATA), "Pulumi.cluster.yaml", run=run, env={"DOCKER_CONTEXT": "laptop"}, warnings=[]
    )
    assert found[0].startswith("DOCKER_CONTEXT is set: it overrides the host of every Docker provider")
    assert (
        "Pulumi.cluster.yaml: no Docker Engine answers at ai-stack:inferenceHosts.gpu-1.docker ssh://ops@gpu-1.lan: "
        "start Docker there, check that this machine can reach it (said: ssh: connect to host gpu-1.lan port 22: "
        "No route to host)" in found
    )


# --- make smoke: every instance ----------------------------------------------------------------


class Session(requests.Session):
    """Answers GET <url>/api/tags in Ollama's format (api/types.go ListResponse), by URL, and
    401 without the right bearer token where a token is required."""

    def __init__(self, tags: dict[str, list[str]], token: str | None = None) -> None:
        super().__init__()
        self.tags, self.token = tags, token
        self.asked: list[tuple[str, str | None]] = []

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = str(url)
        headers = kwargs.get("headers") or {}
        self.asked.append((url, headers.get("Authorization")))
        resp = requests.Response()
        resp.url = url
        base = url.removesuffix("/api/tags")
        if self.token and base.startswith("http://10.") and headers.get("Authorization") != f"Bearer {self.token}":
            resp.status_code, resp._content = 401, b""
        else:
            resp.status_code = 200
            resp._content = json.dumps({"models": [{"name": m, "model": m} for m in self.tags.get(base, [])]}).encode()
        return resp


OUTPUTS: dict[str, Any] = {
    "ollamaInstances": [
        {"host": "main", "name": "ollama", "url": None, "models": ["nomic-embed-text"]},
        {"host": "gpu-1", "name": "ollama", "url": "http://10.8.0.11:11434", "models": ["llama3.1:8b"]},
        {"host": "gpu-1", "name": "ollama-1", "url": "http://10.8.0.11:11435", "models": ["llama3.1:8b"]},
    ],
    "ollamaGateTokens": {"gpu-1": "tok-1"},
}


def _exec(stdout: str, code: int = 0) -> Any:
    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        assert list(argv) == ["docker", "exec", "ollama", "ollama", "list"], argv
        return subprocess.CompletedProcess(list(argv), code, stdout, "")

    return run


# `ollama list` prints a NAME column under a header (cmd/cmd.go ListHandler, v0.32.15).
LIST = (
    "NAME                       ID              SIZE      MODIFIED\n"
    "nomic-embed-text:latest    0a109f422b47    274 MB    2 days ago\n"
)


def test_every_instance_answers_with_its_models() -> None:
    session = Session({"http://10.8.0.11:11434": ["llama3.1:8b"], "http://10.8.0.11:11435": ["llama3.1:8b"]}, "tok-1")
    results = [(name, check(OUTPUTS, session, 5)) for name, check in smoke_ollama.checks(OUTPUTS, run=_exec(LIST))]
    assert [name for name, _ in results] == [
        "ollama models",
        "gpu-1/ollama models",
        "gpu-1/ollama-1 models",
    ]
    assert results[1][1] == "http://10.8.0.11:11434 answers with all 1 model(s) it serves"
    assert ("http://10.8.0.11:11435/api/tags", "Bearer tok-1") in session.asked


def test_an_instance_without_its_models_or_with_a_wrong_token_fails() -> None:
    missing = Session({"http://10.8.0.11:11434": ["llama3.1:8b"], "http://10.8.0.11:11435": []}, "tok-1")
    results = smoke.run_checks(
        {**OUTPUTS, "webuiUrl": "x", "litellmUrl": "x", "models": ["llama3.1:8b"]}, session=missing
    )
    by_name = {r.name: r for r in results}
    assert not by_name["gpu-1/ollama-1 models"].ok
    assert by_name["gpu-1/ollama-1 models"].detail == (
        "http://10.8.0.11:11435 has not pulled model(s) it serves: llama3.1:8b"
    )
    wrong = {**OUTPUTS, "ollamaGateTokens": {"gpu-1": "stale"}}
    check = dict(smoke_ollama.checks(wrong, run=_exec(LIST)))["gpu-1/ollama models"]
    with pytest.raises(smoke.CheckFailedError, match=r"refused the host's gate token \(HTTP 401\)"):
        check(wrong, Session({}, "tok-1"), 5)
    assert smoke_ollama.secrets(OUTPUTS) == ["tok-1"]
    empty = "NAME    ID    SIZE    MODIFIED\n"
    local = dict(smoke_ollama.checks(OUTPUTS, run=_exec(empty)))["ollama models"]
    with pytest.raises(smoke.CheckFailedError, match=r"`docker exec ollama` has not pulled .*nomic-embed-text"):
        local(OUTPUTS, Session({}), 5)
