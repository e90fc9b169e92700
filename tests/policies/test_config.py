"""The analyzer client reconciles --policy-pack-config exactly as the Pulumi CLI does.

Oracle: pulumi/pulumi pkg/resource/analyzer/config_test.go at 1b5949891b (v3.259.0+14), whose
tables are restated here by hand (TestParsePolicyPackConfigSuccess/Fail,
TestReconcilePolicyPackConfigSuccess and ...WithInitialConfig), plus the pack itself over the
protocol: an entry that gives knobs but no level keeps the policy's own (mandatory) level.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.rules.catalog import RESOURCE_RULES, STACK_RULES
from tests.policies.fixtures import CONFIG_DIR, Baseline
from tools.analyzer import (
    AnalyzerInfo,
    PolicyConfigError,
    PolicyInfo,
    PolicyPackAnalyzer,
    load_policy_config,
    parse_policy_config,
    reconcile_config,
)


def _info(*policies: tuple[str, str], initial: dict[str, tuple[str, dict[str, Any]]] | None = None) -> AnalyzerInfo:
    schema = {"foo": {"type": "string", "default": "bar"}}
    return AnalyzerInfo(
        name="pack",
        version="1",
        description="",
        supports_config=True,
        policies=tuple(PolicyInfo(n, "", level, "", "resource", schema) for n, level in policies),
        initial_config=initial or {},
    )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("{}", {}),
        ('{"foo":{"enforcementLevel":"advisory"}}', {"foo": ("advisory", {})}),
        ('{"foo":{"enforcementLevel":"mandatory"}}', {"foo": ("mandatory", {})}),
        ('{"foo":{"enforcementLevel":"advisory","bar":"blah"}}', {"foo": ("advisory", {"bar": "blah"})}),
        ('{"foo":{}}', {}),
        ('{"foo":{"bar":"blah"}}', {"foo": ("", {"bar": "blah"})}),
        ('{"foo":"advisory"}', {"foo": ("advisory", {})}),
        ('{"foo":"mandatory"}', {"foo": ("mandatory", {})}),
        (
            '{"all":"mandatory","policy1":{"foo":"one"},"policy2":{"foo":"two"}}',
            {"all": ("mandatory", {}), "policy1": ("", {"foo": "one"}), "policy2": ("", {"foo": "two"})},
        ),
        (
            '{"environments":["org/secrets"],"cost":{"enforcementLevel":"mandatory","maxCost":1000}}',
            {"cost": ("mandatory", {"maxCost": 1000})},
        ),
    ],
)
def test_parse_like_the_cli(text: str, expected: dict[str, Any]) -> None:
    assert parse_policy_config(json.loads(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"foo":[]}',
        '{"foo":null}',
        '{"foo":0}',
        '{"foo":true}',
        '{"foo":""}',
        '{"foo":"bar"}',
        '{"foo":{"enforcementLevel":[]}}',
        '{"foo":{"enforcementLevel":null}}',
        '{"foo":{"enforcementLevel":0}}',
        '{"foo":{"enforcementLevel":{}}}',
        '{"foo":{"enforcementLevel":""}}',
        '{"foo":{"enforcementLevel":"bar"}}',
        '{"environments":"not-an-array"}',
        '{"environments":[123]}',
    ],
)
def test_parse_refuses_what_the_cli_refuses(text: str) -> None:
    with pytest.raises(PolicyConfigError):
        parse_policy_config(json.loads(text))


@pytest.mark.parametrize(
    "policies,config,expected",
    [
        # "Default enforcement level used" / "Specified enforcement level used"
        ((("policy", "mandatory"),), {}, {"policy": "mandatory"}),
        ((("policy", "mandatory"),), {"policy": "advisory"}, {"policy": "advisory"}),
        # The case this issue is about: knobs only, the policy's own level stays.
        ((("policy", "mandatory"),), {"policy": {"foo": "x"}}, {"policy": "mandatory"}),
        ((("policy", "disabled"),), {"all": "mandatory"}, {"all": "mandatory", "policy": "mandatory"}),
        (
            (("policy-one", "advisory"), ("policy-two", "mandatory")),
            {"all": "disabled"},
            {"all": "disabled", "policy-one": "disabled", "policy-two": "disabled"},
        ),
        (
            (("policy", "disabled"),),
            {"all": "mandatory", "policy": "advisory"},
            {"all": "mandatory", "policy": "advisory"},
        ),
        (
            (("policy", "mandatory"),),
            {"all": "advisory", "policy": {"foo": "x"}},
            {"all": "advisory", "policy": "advisory"},
        ),
    ],
)
def test_reconcile_levels_like_the_cli(
    policies: tuple[tuple[str, str], ...], config: dict[str, Any], expected: dict[str, str]
) -> None:
    effective = reconcile_config(_info(*policies), config, strict=False)
    assert {name: level for name, (level, _) in effective.items()} == expected


def test_reconcile_knobs_over_schema_defaults() -> None:
    effective = reconcile_config(_info(("policy", "advisory")), {"policy": {"foo": "overridden"}})
    assert effective == {"policy": ("advisory", {"foo": "overridden"})}
    assert reconcile_config(_info(("policy", "advisory")), {}) == {"policy": ("advisory", {"foo": "bar"})}


def test_initial_config_levels_as_the_cli_converts_them() -> None:
    # "Initial config replaced by config", "Initial config 'all' used, then replaced for one policy".
    info = _info(("policy", "advisory"), initial={"policy": ("mandatory", {})})
    assert reconcile_config(info, {"policy": "advisory"})["policy"][0] == "advisory"
    info = _info(("one", "advisory"), ("two", "advisory"), initial={"all": ("mandatory", {})})
    effective = reconcile_config(info, {"two": "advisory"}, strict=False)
    assert {n: lvl for n, (lvl, _) in effective.items()} == {"all": "mandatory", "one": "mandatory", "two": "advisory"}


def test_an_entry_with_no_valid_level_fails_like_configure() -> None:
    # analyzer_plugin.go `Configure`: every entry sent needs a valid level; an unknown policy given
    # only knobs has none (the CLI errors with `invalid enforcement level ""`).
    with pytest.raises(PolicyConfigError, match="invalid enforcement level"):
        reconcile_config(_info(("policy", "mandatory")), {"typo": {"foo": "x"}}, strict=False)
    with pytest.raises(PolicyConfigError, match="unknown policy 'typo'"):
        reconcile_config(_info(("policy", "mandatory")), {"typo": "advisory"})


def test_a_knobs_only_entry_keeps_mandatory_over_the_protocol(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    analyzer.configure({"container-no-privileged": {"exemptContainers": ["litellm"]}})
    result = analyzer.analyze_resource(
        baseline.resource("open-webui", baseline.container("open-webui", privileged=True))
    )
    assert [d.enforcement_level for d in result.by_policy("container-no-privileged")] == ["mandatory"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_configs_lower_only_the_documented_levels(analyzer: PolicyPackAnalyzer, stack: str) -> None:
    # Every rule keeps its catalog level except where README's rule table says otherwise.
    lowered = {"dev": {"traefik-routes-tls-only", "volume-protected"}, "prod": set()}[stack]
    effective = reconcile_config(analyzer.get_analyzer_info(), load_policy_config(CONFIG_DIR / f"{stack}.json"))
    catalog = [(r.name, r.enforcement_level.value) for r in RESOURCE_RULES]
    catalog += [(r.name, r.enforcement_level.value) for r in STACK_RULES]
    for name, own in catalog:
        assert effective[name][0] == ("advisory" if name in lowered else own), name
