"""The pack over the real Analyzer gRPC protocol: metadata, config, and the mandatory rejections."""

from __future__ import annotations

import re

import pytest

from tests.policies.fixtures import (
    CONFIG_DIR,
    CONTAINER,
    REMOTE_IMAGE,
    VOLUME,
    baseline,
    container,
    stack_resources,
)
from tools.analyzer import (
    UNKNOWN_NUMBER,
    UNKNOWN_STRING,
    PolicyConfigError,
    PolicyPackAnalyzer,
    load_policy_config,
    reconcile_config,
)

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")


def test_analyzer_info_describes_every_policy(analyzer: PolicyPackAnalyzer) -> None:
    info = analyzer.get_analyzer_info()
    assert info.name == "ai-stack-guardrails"
    assert info.supports_config
    assert len(info.policies) >= 20
    for p in info.policies:
        assert KEBAB.match(p.name), p.name
        assert p.description.endswith(".") and p.description.count(". ") == 0, p.name
        assert p.enforcement_level in {"mandatory", "advisory"}, p.name
        assert p.severity in {"low", "medium", "high", "critical"}, p.name
        assert p.config_schema, f"{p.name} has no config schema"
        for knob, schema in p.config_schema.items():
            assert "type" in schema and schema.get("description"), f"{p.name}.{knob}"
    types = {p.name: p.policy_type for p in info.policies}
    assert types["stack-host-capacity"] == "stack"
    assert types["container-resource-limits"] == "resource"
    assert analyzer.get_plugin_info()


def test_configure_stack_is_accepted(analyzer: PolicyPackAnalyzer) -> None:
    analyzer.configure_stack({"team": "platform"})


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
def test_bad_config_is_rejected_before_it_reaches_the_pack(analyzer: PolicyPackAnalyzer, config: dict) -> None:
    with pytest.raises(PolicyConfigError):
        analyzer.configure(config)


def test_all_key_sets_every_level(analyzer: PolicyPackAnalyzer) -> None:
    effective = analyzer.configure({"all": "advisory"})
    assert {level for level, _ in effective.values()} == {"advisory"}
    result = analyzer.analyze(CONTAINER, "bad", {"name": "bad", "image": "x:latest", "privileged": True})
    assert result.diagnostics and not result.mandatory


@pytest.mark.parametrize("name", sorted(baseline()))
def test_compliant_baseline_container_has_no_diagnostics(prod: PolicyPackAnalyzer, name: str) -> None:
    result = prod.analyze(CONTAINER, name, container(name))
    assert result.diagnostics == (), [d.message for d in result.diagnostics]


def test_compliant_baseline_stack_fits_the_prod_host(prod: PolicyPackAnalyzer) -> None:
    result = prod.analyze_stack(stack_resources(baseline()))
    assert [d for d in result.diagnostics if d.policy_name == "stack-host-capacity"] == []


# The four rejections the pack exists for, asserted on the wire.


def test_unlimited_container_is_rejected(prod: PolicyPackAnalyzer) -> None:
    props = container("litellm", memory=None, memorySwap=None, memoryReservation=None, cpus=None)
    result = prod.analyze(CONTAINER, "litellm", props)
    diags = result.by_policy("container-resource-limits")
    assert [d.enforcement_level for d in diags] == ["mandatory", "mandatory"]
    assert diags[0].urn == prod.urn(CONTAINER, "litellm")
    assert diags[0].severity == "high"
    assert "container 'litellm' has no memory limit" in diags[0].message
    assert "container 'litellm' has no CPU limit" in diags[1].message


def test_privileged_container_is_rejected(prod: PolicyPackAnalyzer) -> None:
    result = prod.analyze(CONTAINER, "open-webui", container(privileged=True))
    [diag] = result.mandatory
    assert diag.policy_name == "container-no-privileged"
    assert diag.severity == "critical"
    assert "container 'open-webui' runs privileged" in diag.message


@pytest.mark.parametrize("resource_type,key", [(REMOTE_IMAGE, "name"), (CONTAINER, "image")])
def test_latest_image_is_rejected(prod: PolicyPackAnalyzer, resource_type: str, key: str) -> None:
    props = container("ollama") if resource_type == CONTAINER else {"name": "x"}
    props[key] = "ollama/ollama:latest"
    result = prod.analyze(resource_type, "ollama", props)
    [diag] = result.mandatory
    assert diag.policy_name == "image-tag-pinned"
    assert "floating tag 'latest'" in diag.message


def test_plaintext_secret_is_rejected_without_echoing_it(
    prod: PolicyPackAnalyzer,
) -> None:
    props = container("postgres", envs=["POSTGRES_USER=litellm", "POSTGRES_PASSWORD=hunter2-plain"])
    result = prod.analyze(CONTAINER, "postgres", props)
    [diag] = result.mandatory
    assert diag.policy_name == "container-no-plaintext-secrets"
    assert "env POSTGRES_PASSWORD is set in plaintext" in diag.message
    assert "hunter2-plain" not in diag.message


def test_unknown_limit_at_preview_is_a_violation_not_a_skip(
    prod: PolicyPackAnalyzer,
) -> None:
    props = container("ollama", memory=UNKNOWN_NUMBER, cpus=UNKNOWN_STRING)
    result = prod.analyze(CONTAINER, "ollama", props)
    diags = result.by_policy("container-resource-limits")
    assert [d.enforcement_level for d in diags] == ["mandatory", "mandatory"]
    assert all("limits must be literal" in d.message for d in diags)
    assert not any("can't run policy" in d.message for d in result.diagnostics)


def test_unknown_values_elsewhere_do_not_degrade_to_advisory_skips(
    prod: PolicyPackAnalyzer,
) -> None:
    props = container(
        "open-webui",
        image=UNKNOWN_STRING,
        networkMode=UNKNOWN_STRING,
        restart=UNKNOWN_STRING,
    )
    props["envs"].append(UNKNOWN_STRING)
    result = prod.analyze(CONTAINER, "open-webui", props)
    assert result.diagnostics == (), [d.message for d in result.diagnostics]


def test_volume_protection_follows_the_stack_config(
    analyzer: PolicyPackAnalyzer,
) -> None:
    analyzer.configure_file(CONFIG_DIR / "prod.json")
    assert analyzer.analyze(VOLUME, "postgres-data", {"name": "postgres-data"}, protect=True).diagnostics == ()
    [diag] = analyzer.analyze(VOLUME, "postgres-data", {"name": "postgres-data"}).diagnostics
    assert (diag.policy_name, diag.enforcement_level) == (
        "volume-protected",
        "mandatory",
    )
    assert "volume 'postgres-data' is not protected" in diag.message
    analyzer.configure_file(CONFIG_DIR / "dev.json")
    [diag] = analyzer.analyze(VOLUME, "postgres-data", {"name": "postgres-data"}).diagnostics
    assert diag.enforcement_level == "advisory"


def test_dev_allows_ollama_on_loopback_only(dev: PolicyPackAnalyzer) -> None:
    loopback = [{"internal": 11434, "external": 11434, "ip": "127.0.0.1", "protocol": "tcp"}]
    assert (
        dev.analyze(
            CONTAINER,
            "ollama",
            container("ollama", ports=loopback, deviceRequests=None),
        ).diagnostics
        == ()
    )
    everywhere = [{"internal": 11434, "external": 11434}]
    result = dev.analyze(CONTAINER, "ollama", container("ollama", ports=everywhere, deviceRequests=None))
    assert result.policies() == {
        "container-no-published-datastore",
        "container-ports-bound-to-interface",
    }
    pg = [{"internal": 5432, "external": 5432, "ip": "127.0.0.1"}]
    [diag] = dev.analyze(CONTAINER, "postgres", container("postgres", ports=pg)).diagnostics
    assert diag.policy_name == "container-no-published-datastore"
    assert "postgres port" in diag.message


def test_prod_rejects_ollama_even_on_loopback(prod: PolicyPackAnalyzer) -> None:
    loopback = [{"internal": 11434, "external": 11434, "ip": "127.0.0.1"}]
    [diag] = prod.analyze(CONTAINER, "ollama", container("ollama", ports=loopback)).diagnostics
    assert diag.policy_name == "container-no-published-datastore"
    assert diag.enforcement_level == "mandatory"


def test_exemption_by_container_name(analyzer: PolicyPackAnalyzer) -> None:
    analyzer.configure({"container-no-privileged": {"exemptContainers": ["open-webui"]}})
    assert analyzer.analyze(CONTAINER, "open-webui", container(privileged=True)).diagnostics == ()
