"""The pack over the real Analyzer gRPC protocol: metadata, config, and the mandatory rejections."""

from __future__ import annotations

import re
from typing import Any

import pytest

from policies.rules.catalog import PACK_NAME, RESOURCE_RULES, STACK_RULES
from tests.policies.fixtures import CONFIG_DIR, Baseline, added, configure_prod
from tools.analyzer import (
    UNKNOWN_NUMBER,
    UNKNOWN_STRING,
    AnalyzeResult,
    Diagnostic,
    PolicyConfigError,
    PolicyPackAnalyzer,
    load_policy_config,
    reconcile_config,
)

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")


# What the prod stack is reported for today: nothing (every container drops ALL capabilities
# since the least-privilege change); anything reported is a regression.
KNOWN_PROD_ADVISORIES: set[str] = set()


def test_analyzer_info_describes_every_policy(analyzer: PolicyPackAnalyzer) -> None:
    info = analyzer.get_analyzer_info()
    assert info.name == PACK_NAME
    assert info.supports_config
    for p in info.policies:
        assert KEBAB.match(p.name), p.name
        assert p.description.endswith(".") and p.description.count(". ") == 0, p.name
        assert p.enforcement_level in {"mandatory", "advisory"}, p.name
        assert p.severity in {"low", "medium", "high", "critical"}, p.name
        assert p.config_schema, f"{p.name} has no config schema"
        for knob, schema in p.config_schema.items():
            assert "type" in schema and schema.get("description"), f"{p.name}.{knob}"
    assert analyzer.get_plugin_info()


def test_analyzer_info_lists_exactly_the_catalog(analyzer: PolicyPackAnalyzer) -> None:
    info = analyzer.get_analyzer_info()
    catalog = [(r.name, r.description, r.enforcement_level.value, r.severity.value, "resource") for r in RESOURCE_RULES]
    catalog += [(r.name, r.description, r.enforcement_level.value, r.severity.value, "stack") for r in STACK_RULES]
    listed = [(p.name, p.description, p.enforcement_level, p.severity, p.policy_type) for p in info.policies]
    assert listed == catalog


class _RecordingStub:
    """The pack's Analyzer stub, recording the ConfigureStack requests sent through it."""

    def __init__(self, stub: Any) -> None:
        self._stub = stub
        self.calls: list[tuple[Any, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stub, name)

    def ConfigureStack(self, request: Any, **kwargs: Any) -> Any:  # noqa: N802 (gRPC name)
        response = self._stub.ConfigureStack(request, **kwargs)
        self.calls.append((request, response))
        return response


def test_configure_stack_sends_the_stack_the_gate_is_on(
    analyzer: PolicyPackAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = _RecordingStub(analyzer.stub)
    monkeypatch.setattr(analyzer, "_stub", recording)
    analyzer.configure_stack({"team": "platform"})
    monkeypatch.setattr(analyzer, "stack", "dev")  # what the gate does between stacks
    analyzer.configure_stack()
    sent = [(r.stack, r.project, r.dry_run, dict(r.tags)) for r, _ in recording.calls]
    assert sent == [("prod", "ai-stack", True, {"team": "platform"}), ("dev", "ai-stack", True, {})]
    assert all(type(resp).__name__ == "AnalyzerStackConfigureResponse" for _, resp in recording.calls)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_configs_reconcile_against_the_schemas(analyzer: PolicyPackAnalyzer, stack: str) -> None:
    effective = reconcile_config(analyzer.get_analyzer_info(), load_policy_config(CONFIG_DIR / f"{stack}.json"))
    level, knobs = effective["stack-host-capacity"]
    assert level == "mandatory"
    assert knobs["headroom"] == 1.0
    expected = {"dev": (8, 16384, 0), "prod": (32, 131072, 2)}[stack]
    assert (knobs["hostCpus"], knobs["hostMemoryMb"], knobs["hostGpus"]) == expected
    assert effective["container-resource-limits"][0] == "mandatory"
    assert effective["volume-protected"][0] == ("advisory" if stack == "dev" else "mandatory")


@pytest.mark.parametrize(
    "config",
    [
        {"no-such-policy": "mandatory"},
        {"container-resource-limits": "blocking"},
        {"container-resource-limits": {"maxMemoryMb": "lots"}},
        {"container-gpu-allow-list": {"allowedContainer": ["ollama"]}},
    ],
)
def test_bad_config_is_rejected_before_it_reaches_the_pack(
    analyzer: PolicyPackAnalyzer, config: dict[str, Any]
) -> None:
    with pytest.raises(PolicyConfigError):
        analyzer.configure(config)


def test_all_key_sets_every_level(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    effective = analyzer.configure({"all": "advisory"})
    assert {level for level, _ in effective.values()} == {"advisory"}
    props = baseline.container("open-webui", image="x:latest", privileged=True)
    result = analyzer.analyze_resource(baseline.resource("open-webui", props))
    assert result.policies() >= {"image-tag-pinned", "container-no-privileged"} and not result.mandatory


def test_the_prod_stack_passes(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    results = [prod_pack.analyze_resource(r) for r in baseline.resources()]
    results.append(prod_pack.analyze_stack(baseline.stack()))
    diags = [d for result in results for d in result.diagnostics]
    assert [d.message for d in diags if d.enforcement_level == "mandatory"] == []
    assert {d.policy_name for d in diags} <= KNOWN_PROD_ADVISORIES, [d.message for d in diags]


# The four rejections the pack exists for, asserted on the wire.


def test_unlimited_container_is_rejected(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    props = baseline.container("litellm", memory=None, memorySwap=None, memoryReservation=None, cpus=None)
    result = prod_pack.analyze_resource(baseline.resource("litellm", props))
    diags = result.by_policy("container-resource-limits")
    assert [d.enforcement_level for d in diags] == ["mandatory", "mandatory"]
    assert diags[0].urn == baseline.urn("litellm")
    assert diags[0].severity == "high"
    assert "container 'litellm' has no memory limit" in diags[0].message
    assert "container 'litellm' has no CPU limit" in diags[1].message


def test_privileged_container_is_rejected(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    result = prod_pack.analyze_resource(
        baseline.resource("open-webui", baseline.container("open-webui", privileged=True))
    )
    [diag] = result.mandatory
    assert diag.policy_name == "container-no-privileged"
    assert diag.severity == "critical"
    assert "container 'open-webui' runs privileged" in diag.message


@pytest.mark.parametrize("name,key", [("ollama-image", "name"), ("ollama", "image")])
def test_latest_image_is_rejected(prod_pack: PolicyPackAnalyzer, baseline: Baseline, name: str, key: str) -> None:
    props = baseline.props(name, **{key: "ollama/ollama:latest"})
    [diag] = prod_pack.analyze_resource(baseline.resource(name, props)).mandatory
    assert diag.policy_name == "image-tag-pinned"
    assert "floating tag 'latest'" in diag.message


def test_plaintext_secret_is_rejected_without_echoing_it(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    props = baseline.container("postgres", envs=["POSTGRES_USER=litellm", "POSTGRES_PASSWORD=hunter2-plain"])
    [diag] = prod_pack.analyze_resource(baseline.resource("postgres", props)).mandatory
    assert diag.policy_name == "container-no-plaintext-secrets"
    assert "env POSTGRES_PASSWORD is set in plaintext" in diag.message
    assert "hunter2-plain" not in diag.message


def test_unknown_limit_at_preview_is_a_violation_not_a_skip(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    props = baseline.container("ollama", memory=UNKNOWN_NUMBER, cpus=UNKNOWN_STRING)
    result = prod_pack.analyze_resource(baseline.resource("ollama", props))
    diags = result.by_policy("container-resource-limits")
    assert [d.enforcement_level for d in diags] == ["mandatory", "mandatory"]
    assert all("limits must be literal" in d.message for d in diags)
    assert not any("can't run policy" in d.message for d in result.diagnostics)


def test_unknown_values_elsewhere_do_not_degrade_to_advisory_skips(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline
) -> None:
    props = baseline.container("open-webui", image=UNKNOWN_STRING, networkMode=UNKNOWN_STRING, restart=UNKNOWN_STRING)
    props["envs"].append(UNKNOWN_STRING)
    before = prod_pack.analyze_resource(baseline.resource("open-webui"))
    result = prod_pack.analyze_resource(baseline.resource("open-webui", props))
    assert added(result, before) == [], [d.message for d in result.diagnostics]


def test_volume_protection_follows_the_stack_config(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    analyzer.configure_file(CONFIG_DIR / "prod.json")
    assert analyzer.analyze_resource(baseline.resource("postgres-data")).diagnostics == ()
    [diag] = analyzer.analyze_resource(baseline.resource("postgres-data", protect=False)).diagnostics
    assert (diag.policy_name, diag.enforcement_level) == ("volume-protected", "mandatory")
    assert "volume 'postgres-data' is not protected" in diag.message
    analyzer.configure_file(CONFIG_DIR / "dev.json")
    [diag] = analyzer.analyze_resource(baseline.resource("postgres-data", protect=False)).diagnostics
    assert diag.enforcement_level == "advisory"


def test_dev_allows_ollama_on_loopback_only(dev_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    def new(name: str, **changes: Any) -> list[Diagnostic]:
        before = [*dev_pack.analyze_resource(baseline.resource(name)).diagnostics]
        before += dev_pack.analyze_stack(baseline.stack()).diagnostics
        after = [*dev_pack.analyze_resource(baseline.resource(name, baseline.container(name, **changes))).diagnostics]
        after += dev_pack.analyze_stack(baseline.stack_changed({name: changes})).diagnostics
        return added(AnalyzeResult(tuple(after)), before)

    loopback = [{"internal": 11434, "external": 11434, "ip": "127.0.0.1", "protocol": "tcp"}]
    assert new("ollama", ports=loopback) == []
    everywhere = [{"internal": 11434, "external": 11434}]
    assert {d.policy_name for d in new("ollama", ports=everywhere)} == {
        "container-no-published-datastore",
        "container-ports-bound-to-interface",
    }
    [diag] = new("postgres", ports=[{"internal": 5432, "external": 5432, "ip": "127.0.0.1"}])
    assert diag.policy_name == "container-no-published-datastore"
    assert "postgres port" in diag.message


def test_prod_rejects_ollama_even_on_loopback(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    loopback = [{"internal": 11434, "external": 11434, "ip": "127.0.0.1"}]
    before = prod_pack.analyze_resource(baseline.resource("ollama"))
    result = prod_pack.analyze_resource(baseline.resource("ollama", baseline.container("ollama", ports=loopback)))
    [diag] = added(result, before)
    stack = prod_pack.analyze_stack(baseline.stack_changed({"ollama": {"ports": loopback}}))
    assert added(stack, prod_pack.analyze_stack(baseline.stack())) == [], "reported once, by the container rule"
    assert diag.policy_name == "container-no-published-datastore"
    assert diag.enforcement_level == "mandatory"


def test_exemption_by_container_name(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    privileged = baseline.resource("open-webui", baseline.container("open-webui", privileged=True))
    configure_prod(analyzer)
    assert analyzer.analyze_resource(privileged).by_policy("container-no-privileged")
    configure_prod(analyzer, {"container-no-privileged": {"exemptContainers": ["open-webui"]}})
    assert analyzer.analyze_resource(privileged).by_policy("container-no-privileged") == []
