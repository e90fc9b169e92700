"""Pure rule helpers and the secret-capture hook, without the gRPC round trip."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
)

from policies.rules import secretness
from policies.rules.base import Context, to_policy
from policies.rules.catalog import RESOURCE_RULES
from policies.rules.limits import cpu_limit
from policies.rules.props import image_repository, image_tag
from policies.rules.secrets import RULES as SECRET_RULES
from tests.policies.fixtures import CONFIG_DIR, CONTAINER, Baseline, prod_config
from tools.analyzer import load_policy_config, secret


@pytest.mark.parametrize(
    "ref,repo,tag",
    [
        ("postgres:16", "postgres", "16"),
        ("docker.io/library/postgres:16", "postgres", "16"),
        ("registry.local:5000/team/app", "team/app", None),
        (
            "ghcr.io/open-webui/open-webui:v0.6.32@sha256:" + "a" * 64,
            "open-webui/open-webui",
            "v0.6.32",
        ),
        # Not valid references (upper case, a short digest): still named, for messages and exemptions.
        ("Ollama/Ollama:0.1", "ollama/ollama", "0.1"),
        ("postgres:16@sha256:abc", "postgres", "16"),
    ],
)
def test_image_reference_parsing(ref: str, repo: str, tag: str | None) -> None:
    assert image_repository(ref) == repo
    assert image_tag(ref) == tag


def test_cpu_limit_from_quota() -> None:
    assert cpu_limit({"cpuQuota": 150000}) == 1.5
    assert cpu_limit({"cpus": "0.5"}) == 0.5
    assert cpu_limit({"cpus": "0"}) is None


def test_rule_run_is_pure_and_honours_exemptions(baseline: Baseline) -> None:
    limits = next(r for r in RESOURCE_RULES if r.name == "container-resource-limits")
    ctx = Context(name="litellm", resource_name="litellm", urn="u", resource_type=CONTAINER)
    assert limits.run(baseline.container("litellm"), {}, ctx) == []
    props = baseline.container("litellm", memory=None)
    assert limits.run(props, {}, ctx)
    assert limits.run(props, {"exemptContainers": ["litellm"]}, ctx) == []


def _args(props: dict[str, Any]) -> ResourceValidationArgs:
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return ResourceValidationArgs(CONTAINER, props, "urn:x", "litellm", opts, None, {})


def _validate(raw: dict[str, Any]) -> list[str]:
    """Run the secret policy as the SDK does; the messages it reports."""
    policy = to_policy(SECRET_RULES[0])
    reports: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reports.append(message)

    policy.validate(_args(raw), report)
    return reports


def test_secret_rule_fails_closed_without_the_capture_hook(baseline: Baseline) -> None:
    reports = _validate(baseline.container("litellm"))
    assert len(reports) == 1 and "cannot tell secrets from plaintext" in reports[0]


def test_secret_rule_reads_the_captured_raw_request(baseline: Baseline) -> None:
    raw = baseline.container("litellm", envs=[secret("A_TOKEN=x"), "B_TOKEN=y"])
    with secretness.capturing(raw):
        reports = _validate(raw)
    assert len(reports) == 1 and "env B_TOKEN" in reports[0]
    assert secretness.raw_properties() is None


def test_prod_overrides_layer_on_prod_json() -> None:
    prod = load_policy_config(CONFIG_DIR / "prod.json")
    config = prod_config({"volume-protected": {"exemptVolumes": ["scratch"]}, "stack-host-capacity": {"headroom": 0.5}})
    assert config["volume-protected"] == {"enforcementLevel": "mandatory", "exemptVolumes": ["scratch"]}
    assert config["stack-host-capacity"] == {**prod["stack-host-capacity"], "headroom": 0.5}
    assert {k: v for k, v in config.items() if k not in {"volume-protected", "stack-host-capacity"}} == {
        k: v for k, v in prod.items() if k not in {"volume-protected", "stack-host-capacity"}
    }
