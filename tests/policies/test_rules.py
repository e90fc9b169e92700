"""Every rule: one mutation of the real prod stack per violation, asserted over the Analyzer protocol."""

from __future__ import annotations

import re
from typing import Any

import pytest

from policies.rules.catalog import RESOURCE_RULES, STACK_RULES
from policies.rules.pinning import IMAGE_ID
from tests.policies.cases import CASES, Case
from tests.policies.fixtures import CONTAINER, Baseline, configure_prod
from tests.policies.test_inference_hosts import POLICIES as CLUSTER_POLICIES
from tests.policies.test_walkaround import MUTATIONS
from tools.analyzer import (
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN_STRING,
    AnalyzeResult,
    Diagnostic,
    PolicyPackAnalyzer,
    secret,
)


def _analyze(pack: PolicyPackAnalyzer, baseline: Baseline, case: Case, *, mutated: bool) -> AnalyzeResult:
    changes = case.changes if mutated else {}
    if case.stack:
        edits = {case.target: changes, **case.also} if mutated else {}
        return pack.analyze_stack(baseline.stack_changed(edits))
    protect = case.protect if mutated else None
    return pack.analyze_resource(
        baseline.resource(case.target, baseline.props(case.target, **changes), protect=protect)
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mutation_is_reported(analyzer: PolicyPackAnalyzer, baseline: Baseline, case: Case) -> None:
    configure_prod(analyzer, case.config)
    before = _analyze(analyzer, baseline, case, mutated=False)
    assert before.by_policy(case.policy) == [], "the unchanged prod stack already reports this: the case cannot fail"
    diags = _analyze(analyzer, baseline, case, mutated=True).by_policy(case.policy)
    assert [d for d in diags if case.fragment in d.message], f"{case.policy}: {[d.message for d in diags]}"
    urn = baseline.urn(case.reported or case.target) if case.on_target else ""
    assert urn in {d.urn for d in diags if case.fragment in d.message}
    for d in diags:
        assert d.enforcement_level == case.level
        assert "Fix:" in d.message
        assert "plain" not in d.message.replace("plaintext", ""), "a secret value leaked into the message"
        if not case.stack and baseline.registered(case.target).type == CONTAINER:
            assert d.urn == urn and f"'{case.target}'" in d.message
        assert not d.message.startswith(d.description), "the finding, not the policy's description, leads"


def test_every_rule_has_a_mutation_case() -> None:
    # The rules only other resource types need are exercised by issue 21's walk-around cases.
    catalog = [r.name for r in RESOURCE_RULES] + [r.name for r in STACK_RULES]
    assert len(set(catalog)) == len(catalog)
    assert {c.policy for c in CASES} | {c.policy for c in MUTATIONS} | CLUSTER_POLICIES == set(catalog)
    assert len({c.id for c in CASES}) == len(CASES)


# Secrets: the engine's signature marks a secret, as a whole list or per element.


@pytest.mark.parametrize(
    "envs",
    [
        secret(["LITELLM_MASTER_KEY=sk-1", "DATABASE_URL=postgresql://u:p@db/x"]),
        [
            "OLLAMA_BASE_URL=http://ollama:11434",
            secret("LITELLM_MASTER_KEY=sk-1"),
            secret("DATABASE_URL=postgresql://u:p@db/x"),
        ],
        [{SIG_KEY: SECRET_SIG, "value": UNKNOWN_STRING}],
        secret(UNKNOWN_STRING),
        [
            "ENABLE_API_KEY=true",
            "DATABASE_URL=postgresql://u@db/x",
            "POSTGRES_PASSWORD_FILE=/run/secrets/pg",
        ],
    ],
    ids=[
        "whole-list-secret",
        "element-secret",
        "unknown-secret",
        "unknown-list",
        "not-credentials",
    ],
)
def test_secret_envs_pass(prod_pack: PolicyPackAnalyzer, baseline: Baseline, envs: Any) -> None:
    result = prod_pack.analyze_resource(baseline.resource("litellm", baseline.container("litellm", envs=envs)))
    assert result.by_policy("container-no-plaintext-secrets") == []


def test_the_prod_secrets_arrive_wrapped(baseline: Baseline) -> None:
    # What the secret cases above stand in for: the program's own secrets, which it keeps out of
    # env (issue 22: docker inspect shows env) and uploads as files, wrapped as secrets.
    litellm = baseline.container("litellm")
    assert not any(isinstance(e, dict) and e.get(SIG_KEY) == SECRET_SIG for e in litellm["envs"])
    [config] = litellm["uploads"]
    assert config["content"].get(SIG_KEY) == SECRET_SIG


def test_only_the_plaintext_element_is_reported(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    envs = [
        secret("LITELLM_MASTER_KEY=sk-secret"),
        "UI_PASSWORD=plain-pw",
        "OPENAI_API_KEY=sk-plain",
    ]
    result = prod_pack.analyze_resource(baseline.resource("litellm", baseline.container("litellm", envs=envs)))
    diags = result.by_policy("container-no-plaintext-secrets")
    names = [re.search(r"env (\w+) is set", d.message) for d in diags]
    assert sorted(m.group(1) for m in names if m) == ["OPENAI_API_KEY", "UI_PASSWORD"]
    assert not any(v in d.message for d in diags for v in ("sk-secret", "plain-pw", "sk-plain"))


def test_allowed_plaintext_name_is_configurable(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    props = baseline.container("litellm", envs=["PUBLIC_KEY=ssh-ed25519 AAAA"])
    configure_prod(analyzer)
    assert analyzer.analyze_resource(baseline.resource("litellm", props)).by_policy("container-no-plaintext-secrets")
    configure_prod(analyzer, {"container-no-plaintext-secrets": {"allowedPlaintext": ["PUBLIC_KEY"]}})
    result = analyzer.analyze_resource(baseline.resource("litellm", props))
    assert result.by_policy("container-no-plaintext-secrets") == []


# Images as RemoteImage resources.


@pytest.mark.parametrize(
    "reference,ok",
    [
        ("ollama/ollama:0.12.3", True),
        ("ghcr.io/open-webui/open-webui:v0.6.32", True),
        ("ghcr.io/berriai/litellm:main-v1.74.0-stable", True),
        ("postgres@sha256:" + "a" * 64, True),
        ("traefik:v3.5.3@sha256:" + "b" * 64, True),
        ("ollama/ollama", False),
        ("ollama/ollama:latest", False),
        ("traefik:nightly", False),
        ("postgres:edge", False),
        ("localhost:5000/app", False),
    ],
)
def test_remote_image_pinning(prod_pack: PolicyPackAnalyzer, baseline: Baseline, reference: str, ok: bool) -> None:
    image = baseline.resource("ollama-image", baseline.props("ollama-image", name=reference))
    assert (prod_pack.analyze_resource(image).by_policy("image-tag-pinned") == []) is ok


def test_container_image_id_counts_as_pinned(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    # The program hands each container its RemoteImage's id, not a reference.
    props = baseline.container("ollama")
    assert IMAGE_ID.match(props["image"])
    assert prod_pack.analyze_resource(baseline.resource("ollama", props)).by_policy("image-tag-pinned") == []


def test_extra_floating_tag_from_config(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    # A versioned tag a registry is known to re-push can be declared floating by the operator.
    image = baseline.resource("open-webui-image", baseline.props("open-webui-image", name="ghcr.io/x/y:v1.0"))
    configure_prod(analyzer)
    assert analyzer.analyze_resource(image).by_policy("image-tag-pinned") == []
    configure_prod(analyzer, {"image-tag-pinned": {"floatingTags": ["latest", "v1.0"]}})
    assert [d.enforcement_level for d in analyzer.analyze_resource(image).by_policy("image-tag-pinned")] == [
        "mandatory"
    ]


# Stack: host capacity (AnalyzeStack) beyond the mutation cases.


def _capacity(result: AnalyzeResult) -> list[Diagnostic]:
    return result.by_policy("stack-host-capacity")


def test_prod_stack_fits_the_prod_host(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    # Networks, images, volumes and passwords are in the stack too, and do not count.
    resources = baseline.stack()
    assert {r.type for r in resources} > {CONTAINER}
    result = prod_pack.analyze_stack(resources)
    assert result.mandatory == [], [d.message for d in result.mandatory]


def test_cpu_overcommit_is_rejected_with_headroom(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    total = sum(float(c["cpus"]) for c in baseline.containers().values())
    configure_prod(analyzer, {"stack-host-capacity": {"headroom": 0.5}})
    diags = _capacity(analyzer.analyze_stack(baseline.stack()))
    [cpu] = [d for d in diags if "CPUs of limits" in d.message]
    assert f"sum to {total:g} CPUs" in cpu.message and "= 16" in cpu.message


def test_dev_host_rejects_prod_sizes(dev_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    diags = _capacity(dev_pack.analyze_stack(baseline.stack()))
    messages = " ".join(d.message for d in diags)
    assert "above the host's 16384 MB" in messages
    assert "above the host's 8 CPUs" in messages
    # perGpu: each instance asks for its one GPU by id.
    assert "container 'ollama' requests 1 GPU(s) but the host has 0" in messages


def test_an_unbounded_container_is_named_instead_of_a_total(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    containers = baseline.containers()
    containers["ollama"].update(memory=262144, memorySwap=262144)
    del containers["postgres"]["memory"]
    diags = _capacity(prod_pack.analyze_stack(baseline.stack(containers)))
    assert [d.urn for d in diags] == [baseline.urn("postgres")]
    assert "memory is unbounded" in diags[0].message
