"""One Ollama per GPU and more GPU hosts: the settings, per-host checks, the fit per instance, and
what the program registers (a provider per host, every inference container on it).

Expected values are written by hand from the stack files; the fit numbers from Ollama's formulas
as tests/stack/test_fit.py works them out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.settings import SettingsError
from stack.settings.placement import instance_gpus
from tests.stackfiles import overlay
from tools.offline import Evaluation, Registered, evaluate, host_of
from tools.stackfile import stack_settings

DATA = Path(__file__).resolve().parent / "data"
CLUSTER = (DATA / "Pulumi.cluster.yaml").read_text()
CONTAINER = "docker:index/container:Container"


@pytest.fixture(scope="module")
def cluster() -> Evaluation:
    return evaluate("cluster", root=DATA)


def error(stack: str, text: str, root: Path | None = None) -> str:
    with pytest.raises(SettingsError) as err:
        if root is None:
            evaluate(stack, config_text=text)
        else:
            evaluate(stack, config_text=text, root=root)
    return str(err.value)


GPU2: dict[str, Any] = {
    "docker": "ssh://ops@gpu-2.lan",
    "address": "10.8.0.12",
    "cpus": 16,
    "memory": "64Gi",
    "gpus": 1,
    "gpuMemory": "16Gi",
    "ollama": {"cpus": 12, "memory": "48Gi", "gpu": {"driver": "nvidia", "count": "all"}, "kvCacheType": "q8_0"},
    "models": ["llama3.1:8b"],
}
"""A second inference host with one 16 GiB GPU, serving the smaller model only."""


def hosts_text(**gpu2: Any) -> str:
    """The cluster file with a second inference host gpu-2 (GPU2 with `gpu2` changed)."""
    doc = yaml.safe_load(CLUSTER)
    doc["config"]["ai-stack:inferenceHosts"]["gpu-2"] = {**GPU2, **gpu2}
    return str(yaml.safe_dump(doc, sort_keys=False))


# --- one Ollama per GPU ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu", "host_gpus", "expected"),
    [
        ({"driver": "nvidia", "count": "all"}, 2, [["0"], ["1"]]),
        ({"driver": "nvidia", "count": 1}, 2, [["0"]]),
        ({"driver": "nvidia", "deviceIds": ["1", "GPU-abc"]}, 2, [["1"], ["GPU-abc"]]),
        ({"driver": "cdi", "deviceIds": ["nvidia.com/gpu=all"]}, 2, [["nvidia.com/gpu=0"], ["nvidia.com/gpu=1"]]),
        ({"driver": "amd", "renderNodes": ["renderD128", "renderD129"], "groups": [44]}, 2, "amd"),
    ],
)
def test_per_gpu_gives_each_instance_one_gpu(gpu: dict[str, Any], host_gpus: int, expected: Any) -> None:
    s = stack_settings("dev")
    ollama = s.ollama.model_validate({"gpu": gpu, "instances": "perGpu"})
    got = instance_gpus(ollama, host_gpus)
    if expected == "amd":
        assert [g.devices() if g else None for g in got] == [
            ["/dev/kfd", "/dev/dri/renderD128"],
            ["/dev/kfd", "/dev/dri/renderD129"],
        ]
    else:
        assert [g.device_ids if g else None for g in got] == expected
        assert all(g is not None and g.count is None and g.driver == gpu["driver"] for g in got)


def test_one_instance_keeps_the_whole_selection() -> None:
    s = stack_settings("prod")
    single = s.ollama.model_copy(update={"instances": 1})
    assert instance_gpus(single, 2) == [s.ollama.gpu]


@pytest.mark.parametrize(
    ("ollama", "message"),
    [
        (
            {"instances": "perGpu"},
            "ai-stack:ollama.instances: perGpu runs one Ollama per GPU, but ai-stack:ollama.gpu is not set",
        ),
        (
            {"instances": "perGpu", "gpu": {"driver": "amd", "groups": [44]}},
            "ai-stack:ollama.instances: perGpu gives each instance one AMD GPU by its render node",
        ),
        ({"instances": 2}, "ai-stack:ollama.instances: must be 1 or 'perGpu'"),
    ],
)
def test_per_gpu_needs_gpus_to_split(ollama: dict[str, Any], message: str) -> None:
    text = overlay("config:\n  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 2, gpuMemory: 8Gi}\n")
    text = text.replace(
        "config:\n", "config:\n  ai-stack:ollama: " + yaml.safe_dump(ollama, default_flow_style=True), 1
    )
    assert message in error("dev", text)


def test_each_instance_is_counted_on_its_host() -> None:
    """prod: two instances of 8 CPUs / 32Gi plus two pulls of 0.5 (and the monitoring's 2.35);
    at 16 CPUs each they do not fit 32."""
    s = stack_settings("prod")
    assert sum(b.cpus for b in s.budgets().values()) == pytest.approx(31.3)
    prod = (Path(__file__).resolve().parents[2] / "Pulumi.prod.yaml").read_text()
    msg = error("prod", prod.replace("    cpus: 8\n    memory: 32Gi\n", "    cpus: 16\n    memory: 32Gi\n"))
    assert "ai-stack:host.cpus: the containers' CPU limits add up to 47.3" in msg
    assert "ollama 16, ollama-pull 0.5, ollama-1 16, ollama-1-pull 0.5" in msg


# --- more GPU hosts ------------------------------------------------------------------------


def test_the_cluster_places_what_it_declares() -> None:
    s = stack_settings("cluster", DATA)
    placed = {site.label: ([i.name for i in site.instances], list(site.models)) for site in s.sites()}
    assert placed == {
        "main": (["ollama"], ["nomic-embed-text"]),
        "gpu-1": (["ollama", "ollama-1"], ["llama3.1:8b", "qwen2.5-coder:14b"]),
    }
    three = evaluate("cluster", root=DATA, config_text=hosts_text())
    assert sorted({r.host for r in three.resources}) == ["gpu-1", "gpu-2", "main"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"address": "8.8.8.8"}, "ai-stack:inferenceHosts.gpu-2.address: address 8.8.8.8 is a public address"),
        ({"address": "127.0.0.1"}, "ai-stack:inferenceHosts.gpu-2.address: address 127.0.0.1 is not one address"),
        ({"address": "gpu-2.lan"}, "ai-stack:inferenceHosts.gpu-2.address: address must be the IP address"),
        ({"docker": "tcp://gpu-2.lan:2375"}, "ai-stack:inferenceHosts.gpu-2: docker: a tcp:// engine needs TLS"),
        (
            {"docker": "unix:///var/run/docker.sock"},
            "ai-stack:inferenceHosts.gpu-2.docker: docker must be a DOCKER_HOST URL",
        ),
        (
            {"address": "10.8.0.11"},
            "ai-stack:inferenceHosts.gpu-2.address: 10.8.0.11 is also the address of ai-stack:inferenceHosts.gpu-1",
        ),
        (
            {"models": ["mistral:7b"]},
            "ai-stack:inferenceHosts.gpu-2.models: mistral:7b is not one of the stack's models",
        ),
        (
            {"memroy": "1Gi"},
            "ai-stack:inferenceHosts.gpu-2.memroy: unknown setting "
            "(did you mean ai-stack:inferenceHosts.gpu-2.memory?)",
        ),
        (
            {"gpus": 0},
            "ai-stack:inferenceHosts.gpu-2.ollama.gpu: a GPU is requested but ai-stack:inferenceHosts.gpu-2.gpus is 0",
        ),
        (
            {"ollama": {"mode": "host"}},
            "ai-stack:inferenceHosts.gpu-2.ollama.mode: an inference host runs Ollama in containers",
        ),
    ],
)
def test_an_inference_host_is_checked_with_its_own_keys(change: dict[str, Any], message: str) -> None:
    assert message in error("cluster", hosts_text(**change), DATA)


def test_a_bad_host_key_is_named() -> None:
    doc = yaml.safe_load(CLUSTER)
    hosts = doc["config"]["ai-stack:inferenceHosts"]
    hosts["GPU_3"] = hosts["main"] = hosts["default-2"] = dict(GPU2)
    msg = error("cluster", yaml.safe_dump(doc), DATA)
    assert "ai-stack:inferenceHosts.GPU_3: must be a host name such as gpu-2" in msg
    assert "ai-stack:inferenceHosts.main: 'main' is reserved" in msg
    assert "ai-stack:inferenceHosts.default-2: 'default-2' is reserved" in msg


def test_capacity_is_per_host_never_summed() -> None:
    """gpu-2 (16 CPUs) overcommitted while the hosts together have 64."""
    msg = error(
        "cluster", hosts_text(ollama={"cpus": 16, "memory": "48Gi", "gpu": {"driver": "nvidia", "count": "all"}}), DATA
    )
    # ollama 16 + its pull 0.5 + the gate 0.5 + node, GPU and Ollama exporters 0.25 each = 17.75 of 16.
    assert (
        "ai-stack:inferenceHosts.gpu-2.cpus: the containers' CPU limits add up to 17.75 (ollama 16, "
        "ollama-pull 0.5, ollama-gate 0.5, node-exporter 0.25, gpu-exporter 0.25, ollama-exporter 0.25), "
        "above the host's 16" in msg
    )
    assert "ai-stack:host.cpus" not in msg


def test_the_fit_is_checked_per_host_against_its_gpu() -> None:
    """gpu-2 (one GPU) asked for both chat models on 8 GiB: refused with gpu-2's own keys."""
    msg = error("cluster", hosts_text(models=["llama3.1:8b", "qwen2.5-coder:14b"], gpuMemory="8Gi"), DATA)
    assert re.search(
        r"ai-stack:inferenceHosts\.gpu-2\.ollama: .*the host has 1 × 8\.0 GiB of GPU memory "
        r"\(ai-stack:inferenceHosts\.gpu-2\.gpuMemory\)",
        msg,
    )
    assert "ai-stack:inferenceHosts.gpu-2.ollama.allowCpuOffload: true" in msg


def test_a_model_no_instance_serves_is_refused() -> None:
    doc = yaml.safe_load(CLUSTER)
    doc["config"]["ai-stack:inferenceHosts"]["gpu-1"]["models"] = ["llama3.1:8b"]
    msg = error("cluster", yaml.safe_dump(doc), DATA)
    assert (
        "ai-stack:models: qwen2.5-coder:14b is served by no Ollama: add it to ai-stack:host.models or "
        "ai-stack:inferenceHosts.<name>.models" in msg
    )
    one_host = error("dev", overlay("config:\n  ai-stack:host: {cpus: 8, memory: 16Gi, models: []}\n"))
    assert "ai-stack:models: llama3.2:1b is served by no Ollama: add it to ai-stack:host.models (unset" in one_host


def test_every_problem_at_once_across_hosts() -> None:
    doc = yaml.safe_load(CLUSTER)
    hosts = doc["config"]["ai-stack:inferenceHosts"]
    hosts["gpu-1"]["address"] = "8.8.4.4"
    hosts["gpu-2"] = {**GPU2, "cpus": 4}
    doc["config"]["ai-stack:host"]["memory"] = "4Gi"
    msg = error("cluster", yaml.safe_dump(doc), DATA)
    assert "ai-stack:inferenceHosts.gpu-1.address" in msg
    assert "ai-stack:inferenceHosts.gpu-2.cpus: the containers' CPU limits" in msg
    assert "ai-stack:host.memory: the containers' memory limits" in msg


# --- what the program registers -------------------------------------------------------------


def providers(ev: Evaluation) -> dict[str, Registered]:
    return {r.name: r for r in ev.resources if r.type == "pulumi:providers:docker"}


def test_one_provider_per_inference_host(cluster: Evaluation) -> None:
    given = providers(cluster)
    assert {n: (p.inputs["host"], p.inputs.get("sshOpts")) for n, p in given.items()} == {
        "gpu-1": ("ssh://ops@gpu-1.lan", None),
    }
    urns = {p.urn: n for n, p in given.items()}
    on = {
        r.name: urns.get(r.provider.rsplit("::", 1)[0], "main") if r.provider else "main"
        for r in cluster.resources
        if r.custom
    }
    # Every resource of an inference host goes through its provider, named by the key; the main
    # host's through the default provider (no reference).
    for name, host in on.items():
        if name.startswith("gpu-1-"):
            assert host == "gpu-1", name
        elif not name.startswith("secrets-") and name not in given:
            assert host == "main", name
    assert {r.docker_name for r in cluster.resources if r.type == CONTAINER and host_of(r.provider) == "gpu-1"} == {
        "ollama",
        "ollama-1",
        "ollama-pull",
        "ollama-1-pull",
        "ollama-gate",
        # Monitoring (a server stack): the host's exporters, behind its gate.
        "node-exporter",
        "gpu-exporter",
        "ollama-exporter",
    }


def test_reordering_the_hosts_changes_nothing() -> None:
    doc = yaml.safe_load(hosts_text())
    hosts = doc["config"]["ai-stack:inferenceHosts"]
    assert list(hosts) == ["gpu-1", "gpu-2"]
    doc["config"]["ai-stack:inferenceHosts"] = {k: hosts[k] for k in reversed(list(hosts))}
    again = evaluate("cluster", root=DATA, config_text=yaml.safe_dump(doc, sort_keys=False))
    first = evaluate("cluster", root=DATA, config_text=hosts_text())

    def shape(ev: Evaluation) -> dict[str, Any]:
        return {r.urn: (r.inputs, host_of(r.provider)) for r in ev.resources if r.custom}

    assert shape(again) == shape(first)


def test_the_gate_publishes_on_the_private_address_only(cluster: Evaluation) -> None:
    gates = {k: c for k, c in cluster.containers().items() if k.endswith("/ollama-gate")}
    assert {k: c.inputs["ports"] for k, c in gates.items()} == {
        # Both instances, then the node, GPU and Ollama exporters (monitoring), on 10.8.0.11 alone.
        "gpu-1/ollama-gate": [{"internal": 9434 + i, "external": 11434 + i, "ip": "10.8.0.11"} for i in range(5)],
    }
    for key, c in cluster.containers().items():
        if key.startswith("gpu-") and not key.endswith("/ollama-gate"):
            assert not c.inputs.get("ports"), key
    # The gate keeps the token's hash, never the token.
    token = next(r for r in cluster.resources if r.name == "secrets-ollama-token-gpu-1").outputs["result"]
    command = gates["gpu-1/ollama-gate"].inputs["command"][0]
    assert token not in command and re.search(r"-m str [0-9A-F]{64}\n", command)


def test_litellm_lists_each_model_once_per_instance(cluster: Evaluation) -> None:
    doc = yaml.safe_load(cluster.containers()["litellm"].inputs["uploads"][0]["content"])
    tokens = {
        h: next(r for r in cluster.resources if r.name == f"secrets-ollama-token-{h}").outputs["result"]
        for h in ("gpu-1",)
    }
    got = [
        (
            m["model_name"],
            m["litellm_params"]["model"],
            m["litellm_params"]["api_base"],
            m["litellm_params"].get("api_key"),
        )
        for m in doc["model_list"]
    ]
    assert got == [
        ("llama3.1:8b", "ollama_chat/llama3.1:8b", "http://10.8.0.11:11434", tokens["gpu-1"]),
        ("llama3.1:8b", "ollama_chat/llama3.1:8b", "http://10.8.0.11:11435", tokens["gpu-1"]),
        ("qwen2.5-coder:14b", "ollama_chat/qwen2.5-coder:14b", "http://10.8.0.11:11434", tokens["gpu-1"]),
        ("qwen2.5-coder:14b", "ollama_chat/qwen2.5-coder:14b", "http://10.8.0.11:11435", tokens["gpu-1"]),
        ("nomic-embed-text", "ollama/nomic-embed-text", "http://ollama:11434", None),
    ]
    # LiteLLM reaches the gates over its routed network (the way out); the main host's Ollama on its
    # own; Prometheus scrapes it on the monitoring network (a server stack monitors).
    nets = {n["name"] for n in cluster.containers()["litellm"].inputs["networksAdvanced"]}
    assert nets == {"proxy", "ai-stack-internal", "ai-stack-datastore", "ai-stack-ollama", "ai-stack-monitoring"}


def test_each_inference_host_has_its_own_networks(cluster: Evaluation) -> None:
    nets = {
        (host_of(r.provider), r.inputs["name"]): bool(r.inputs.get("internal"))
        for r in cluster.resources
        if r.type == "docker:index/network:Network"
    }
    for host in ("gpu-1",):
        assert {k: v for k, v in nets.items() if k[0] == host} == {
            (host, "ai-stack-ollama"): True,
            (host, "ai-stack-ollama-egress"): False,
            (host, "ai-stack-ollama-gate"): False,
            # Monitoring: the exporters and the gate alone, no way out.
            (host, "ai-stack-exporters"): True,
        }
    gate = cluster.containers()["gpu-1/ollama-gate"].inputs["networksAdvanced"]
    assert sorted(n["name"] for n in gate) == ["ai-stack-exporters", "ai-stack-ollama", "ai-stack-ollama-gate"]
    for exporter in ("node-exporter", "gpu-exporter"):
        attached = cluster.containers()[f"gpu-1/{exporter}"].inputs["networksAdvanced"]
        assert [n["name"] for n in attached] == ["ai-stack-exporters"], exporter
    ollama = cluster.containers()["gpu-1/ollama-1"].inputs["networksAdvanced"]
    assert sorted(n["name"] for n in ollama) == ["ai-stack-ollama", "ai-stack-ollama-egress"]


def test_open_webui_waits_for_every_pull(cluster: Evaluation) -> None:
    deps = {u.rsplit("::", 1)[1] for u in cluster.containers()["open-webui"].dependencies}
    assert {"ollama-pull", "gpu-1-ollama-pull", "gpu-1-ollama-1-pull"} <= deps
    assert cluster.outputs["models"] == ["llama3.1:8b", "qwen2.5-coder:14b", "nomic-embed-text"]
    assert [(i["host"], i["name"], i["url"]) for i in cluster.outputs["ollamaInstances"]] == [
        ("main", "ollama", None),
        ("gpu-1", "ollama", "http://10.8.0.11:11434"),
        ("gpu-1", "ollama-1", "http://10.8.0.11:11435"),
    ]
    assert "ollamaGateTokens" in cluster.secret_outputs
