"""The pack on a stack that spans hosts: the README's cluster example, sent as the engine sends it.

Every resource goes with its provider (pulumi step_generator.go: `AnalyzerProviderResource`, the
default docker provider `default_5_1_0` for the main host's, the host's own for an inference
host's), as the offline gate sends it (tools.gate.run.providers). The pack's config is the one
tools.packconfig generates from the stack file. Each case changes one thing and names what the
pack must say, by hand.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tools import packconfig
from tools.analyzer import AnalyzeResult, PolicyPackAnalyzer, Resource
from tools.gate.run import _resource, providers
from tools.offline import Evaluation, evaluate
from tools.stackfile import stack_settings

DATA = Path(__file__).resolve().parents[1] / "stack" / "data"


@pytest.fixture(scope="module")
def cluster() -> Evaluation:
    return evaluate("cluster", root=DATA)


@pytest.fixture()
def pack(analyzer: PolicyPackAnalyzer) -> Iterator[PolicyPackAnalyzer]:
    analyzer.configure(packconfig.pack_config(stack_settings("cluster", DATA)))
    yield analyzer


def stack(ev: Evaluation, edits: Mapping[str, Mapping[str, Any]] | None = None) -> list[Resource]:
    """AnalyzeStack's resources; `edits` change a container's inputs by `host/name` (or `name`)."""
    given = providers(ev)
    containers = {id(r): key for key, r in ev.containers().items()}
    out = []
    for r in ev.resources:
        if not r.custom:
            continue
        props = copy.deepcopy({**r.outputs, **r.wire_json})
        for key, value in (edits or {}).get(containers.get(id(r), ""), {}).items():
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
        out.append(_resource(r, outputs=True, provider=given.get(r.urn)))
        out[-1].properties = props
    return out


def messages(result: AnalyzeResult, policy: str) -> list[str]:
    return [d.message for d in result.by_policy(policy)]


def test_the_cluster_passes_with_its_own_config(pack: PolicyPackAnalyzer, cluster: Evaluation) -> None:
    result = pack.analyze_stack(stack(cluster))
    assert result.diagnostics == ()
    # ... and each inference container reached the pack with its host's provider.
    gate = next(r for r in stack(cluster) if r.name == "gpu-1-ollama-gate")
    assert gate.provider is not None and gate.provider.name == "gpu-1"
    assert gate.provider.properties["host"] == "ssh://ops@gpu-1.lan"
    main = next(r for r in stack(cluster) if r.name == "litellm")
    assert main.provider is not None and main.provider.name == "default_5_1_0"


@dataclass(frozen=True)
class Case:
    id: str
    edits: dict[str, dict[str, Any]]
    policy: str
    fragment: str
    config: dict[str, Any] = field(default_factory=dict)


PORTS = [{"internal": 9434, "external": 11434, "ip": "10.8.0.11"}]
CASES = [
    Case(
        "every-interface",
        {"gpu-1/ollama-gate": {"ports": [{"internal": 9434, "external": 11434}]}},
        "inference-host-private-bind",
        "container 'ollama-gate' on inference host 'gpu-1' publishes 0.0.0.0:11434->9434, beyond the host's "
        "private address 10.8.0.11",
    ),
    Case(
        "ipv6-any",
        {"gpu-1/ollama-gate": {"ports": [{**PORTS[0], "ip": "::"}]}},
        "inference-host-private-bind",
        "publishes :::11434->9434, beyond the host's private address 10.8.0.11",
    ),
    Case(
        "another-address",
        {"gpu-1/ollama-gate": {"ports": [{**PORTS[0], "ip": "10.8.0.12"}]}},
        "inference-host-private-bind",
        "publishes 10.8.0.12:11434->9434, beyond the host's private address 10.8.0.11",
    ),
    Case(
        "unparsable-address",
        {"gpu-1/ollama-gate": {"ports": [{**PORTS[0], "ip": "010.8.0.11"}]}},
        "inference-host-private-bind",
        "publishes 010.8.0.11:11434->9434, beyond",
    ),
    Case(
        "ollama-itself-published",
        {"gpu-1/ollama": {"ports": [{"internal": 11434, "external": 11500}]}},
        "inference-host-private-bind",
        "container 'ollama' on inference host 'gpu-1' publishes 0.0.0.0:11500->11434",
    ),
    Case(
        "publish-all",
        {"gpu-1/ollama-1": {"publishAllPorts": True}},
        "inference-host-private-bind",
        "container 'ollama-1' on inference host 'gpu-1' publishes all its ports",
    ),
    Case(
        "undeclared-host",
        {},
        "inference-host-private-bind",
        "publishes 10.8.0.11:11434->9434 on host 'gpu-1', which has no private address",
        config={"inference-host-private-bind": {"hosts": {}}},
    ),
    # gpu-1 alone is overcommitted (32 CPUs: 12 + 20 + two pulls of 0.5 + the gate's 0.5 + three
    # exporters of 0.25 = 34.25);
    # the main host has 16 CPUs to spare, and the pack must not count them.
    Case(
        "one-host-over-cpu",
        {"gpu-1/ollama-1": {"cpus": "20.0"}},
        "stack-host-capacity",
        "host 'gpu-1': containers sum to 34.25 CPUs of limits, above the host's 32 CPUs",
    ),
    # 49152 + 81920 + 256 + 256 + 128 MB, and three exporters of 128, on a 128Gi host.
    Case(
        "one-host-over-memory",
        {"gpu-1/ollama-1": {"memory": 81920, "memorySwap": 81920}},
        "stack-host-capacity",
        "host 'gpu-1': containers reserve 132096 MB of memory limits, above the host's 131072 MB",
    ),
    Case(
        "one-host-over-gpus",
        {"gpu-1/ollama": {"deviceRequests": [{"driver": "nvidia", "count": 4, "capabilities": ["gpu"]}]}},
        "stack-host-capacity",
        "container 'ollama' requests 4 GPU(s) but the host has 2",
    ),
    Case(
        "capacity-of-an-undeclared-host",
        {},
        "stack-host-capacity",
        "container 'ollama-gate' runs on host 'gpu-1', whose capacity the policy config does not declare",
        config={"stack-host-capacity": {"hosts": {}}},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_pack_refuses(pack: PolicyPackAnalyzer, cluster: Evaluation, case: Case) -> None:
    if case.config:
        config = packconfig.pack_config(stack_settings("cluster", DATA))
        for policy, knobs in case.config.items():
            config[policy] = {**config[policy], **knobs}
        pack.configure(config)
    found = messages(pack.analyze_stack(stack(cluster, case.edits)), case.policy)
    assert [m for m in found if case.fragment in m], found
    assert all("Fix:" in m for m in found)


def test_capacity_is_per_host_never_summed(pack: PolicyPackAnalyzer, cluster: Evaluation) -> None:
    """gpu-1 over by 2.25 CPUs while the main host has 4.45 to spare: the sum over hosts would fit."""
    over = stack(cluster, {"gpu-1/ollama-1": {"cpus": "20.0"}})
    cpus = {r.properties.get("cpus") for r in over if r.name == "gpu-1-ollama-1"}
    assert cpus == {"20.0"}
    found = messages(pack.analyze_stack(over), "stack-host-capacity")
    assert len(found) == 1 and found[0].startswith("host 'gpu-1': containers sum to 34.25 CPUs"), found


def test_the_same_names_on_two_hosts_are_two_objects(pack: PolicyPackAnalyzer, cluster: Evaluation) -> None:
    """The main host and gpu-1 each have a volume `ollama-models` and a network `ai-stack-ollama`:
    neither is shared across hosts (volumes-not-shared, the view's networks)."""
    result = pack.analyze_stack(stack(cluster))
    assert messages(result, "volumes-not-shared") == []
    # Two containers on one host sharing a volume are still reported, with that host's name.
    shared = stack(
        cluster,
        {"gpu-1/ollama-1": {"volumes": [{"volumeName": "ollama-models", "containerPath": "/root/.ollama"}]}},
    )
    assert messages(pack.analyze_stack(shared), "volumes-not-shared") == [
        "volume 'gpu-1/ollama-models' is mounted by several containers (ollama, ollama-1). Fix: give each "
        "container its own volume, or list it in `allowedSharedVolumes` after review."
    ]


POLICIES = {c.policy for c in CASES}
"""The policies these cases cover (test_rules.test_every_rule_has_a_mutation_case)."""
