"""One pinning rule: pinning.py decides, and the pack rejects over the protocol what it calls moving.

The program's settings reject moving tags with the same module; until they import it, the
tag list they used to keep is listed here, so nothing it rejected gets through the pack.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from policies.rules.pinning import FLOATING_TAGS, floating_reason
from tests.policies.fixtures import Baseline
from tools.analyzer import PolicyPackAnalyzer
from tools.offline import ROOT

# stack/settings.py's own list before pinning.py existed.
SETTINGS_TAGS = {"latest", "main", "master", "nightly", "stable", "edge", "dev", "rolling", "lts"}
# Tags with no version number float whatever their word, and so does a major alone: `16`
# and `v3` move with every minor release (docker-library's postgres:16, traefik:v3).
VERSIONLESS = {"cuda", "rocm", "cli", "slim", "alpine", "v3", "16", "16-alpine", "3-cli", "v3-rocm", "latest-2"}
MOVING = sorted(FLOATING_TAGS | SETTINGS_TAGS | VERSIONLESS | {"main-latest", "latest-cuda", "stable-alpine", "LATEST"})
RELEASES = [
    "1.2.3",
    "16.4-alpine",
    "main-v1.74.0-stable",
    "v3.5.3",
    "0.32.15",
    "16.13",
    "0.32.15-rocm",
    "27.5.1-cli",
    "20250101",
    "RELEASE.2025-01-01T00-00-00Z",
    "sha-5074970c",
]


@pytest.mark.parametrize("tag", MOVING)
def test_moving_tags_are_floating(tag: str) -> None:
    assert floating_reason(f"ollama/ollama:{tag}") is not None


@pytest.mark.parametrize("tag", RELEASES)
def test_release_tags_are_pinned(tag: str) -> None:
    assert floating_reason(f"ollama/ollama:{tag}") is None


@pytest.mark.parametrize("name,key", [("ollama-image", "name"), ("ollama", "image")])
@pytest.mark.parametrize("tag", MOVING)
def test_the_pack_rejects_every_moving_tag(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline, tag: str, name: str, key: str
) -> None:
    resource = baseline.resource(name, baseline.props(name, **{key: f"ollama/ollama:{tag}"}))
    diags = prod_pack.analyze_resource(resource).by_policy("image-tag-pinned")
    assert [(d.enforcement_level, d.urn) for d in diags] == [("mandatory", baseline.urn(name))]
    assert f"'{tag}'" in diags[0].message


@pytest.mark.parametrize(
    "reference",
    ["ollama/ollama", "Ollama/Ollama:0.32.15", "postgres@sha256:abc", "ollama/ollama:0.32.15 "],
    ids=["no-tag", "upper-case", "short-digest", "trailing-space"],
)
def test_the_pack_rejects_what_pinning_cannot_parse_or_pin(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline, reference: str
) -> None:
    reason = floating_reason(reference)
    assert reason is not None
    resource = baseline.resource("ollama-image", baseline.props("ollama-image", name=reference))
    [diag] = prod_pack.analyze_resource(resource).by_policy("image-tag-pinned")
    assert diag.enforcement_level == "mandatory" and reason in diag.message


def test_the_pack_defaults_to_the_one_tag_list(analyzer: PolicyPackAnalyzer) -> None:
    schema = analyzer.get_analyzer_info().policy("image-tag-pinned").config_schema
    assert set(schema["floatingTags"]["default"]) == FLOATING_TAGS


def test_pinning_imports_without_the_policy_sdk() -> None:
    # The program's settings import it, and the program does not install pulumi_policy.
    code = "import sys, policies.rules.pinning; sys.exit('pulumi_policy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0
