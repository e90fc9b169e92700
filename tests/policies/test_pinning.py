"""One pinning rule: pinning.py decides, and the pack rejects over the protocol what it calls moving.

The oracle is written out by hand, not taken from pinning.py: real tags from
docker-library/official-images (commit 37079fb, library/postgres, library/docker,
library/redis, library/traefik), where each "Tags:" line names one build by its full version
and then by the aliases that move to the next build (a major alone, a distribution or variant
word, `latest`), plus the moving words the issue names (`cuda`, `rocm`, `cli`, `v3`).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from policies.rules.pinning import floating_reason
from tests.policies.fixtures import Baseline
from tools.analyzer import PolicyPackAnalyzer
from tools.offline import ROOT

# Aliases that move: no version at all, or a major alone.
MOVING = [
    # library/postgres: "Tags: 18.6, 18, latest, 18.6-trixie, 18-trixie, trixie" and the beta lines
    "18",
    "latest",
    "18-trixie",
    "trixie",
    "18-bookworm",
    "bookworm",
    "19beta3",
    "19beta3-alpine",
    # library/docker: "29.7.2-cli, 29.7-cli, 29-cli, cli", "... 29-dind, dind", "dind-rootless"
    "29-cli",
    "cli",
    "29-dind",
    "dind",
    "dind-rootless",
    "29",
    # library/redis: "8.10.1-alpine, 8.10-alpine, 8-alpine, ..., alpine, alpine3.23"
    "8-alpine",
    "alpine",
    "alpine3.23",
    # library/traefik: "v3-nanoserver-ltsc2022, 3-nanoserver-ltsc2022, nanoserver-ltsc2022", codename
    "v3-nanoserver-ltsc2022",
    "nanoserver-ltsc2022",
    "langres-windowsservercore-ltsc2025",
    "v3",
    # The words, and the moving names every registry uses.
    "cuda",
    "rocm",
    "main",
    "nightly",
    "stable",
    "edge",
    "dev",
    "slim",
    "LATEST",
    "main-latest",
    "stable-alpine",
]
# The builds themselves: a full version (with its variant), a date, or a commit.
RELEASES = [
    "18.6",
    "18.6-trixie",
    "18.6-bookworm",
    "29.7.2-cli",
    "29.7.2-dind-alpine3.24",
    "8.10.1-alpine3.23",
    "v3.7.11-nanoserver-ltsc2022",
    "3.7.11-windowsservercore-ltsc2025",
    "0.32.15-rocm",
    "main-v1.74.0-stable",
    "v0.11.1",
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


@pytest.mark.parametrize("tag", RELEASES)
def test_the_pack_accepts_every_release(prod_pack: PolicyPackAnalyzer, baseline: Baseline, tag: str) -> None:
    resource = baseline.resource("ollama-image", baseline.props("ollama-image", name=f"ollama/ollama:{tag}"))
    assert prod_pack.analyze_resource(resource).by_policy("image-tag-pinned") == []


@pytest.mark.parametrize(
    "reference,why",
    [
        ("ollama/ollama", "has no tag"),
        ("Ollama/Ollama:0.32.15", "repository names are lower case"),
        ("postgres@sha256:abc", "is not valid"),
        ("ollama/ollama:0.32.15 ", "has surrounding spaces"),
    ],
    ids=["no-tag", "upper-case", "short-digest", "trailing-space"],
)
def test_the_pack_rejects_what_docker_cannot_pull_pinned(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline, reference: str, why: str
) -> None:
    resource = baseline.resource("ollama-image", baseline.props("ollama-image", name=reference))
    [diag] = prod_pack.analyze_resource(resource).by_policy("image-tag-pinned")
    assert diag.enforcement_level == "mandatory" and why in diag.message


def test_the_pack_defaults_name_the_moving_words(analyzer: PolicyPackAnalyzer) -> None:
    # The knob lists the words that move even with a number in them (`latest-2`, `main-1`).
    schema = analyzer.get_analyzer_info().policy("image-tag-pinned").config_schema
    assert {"latest", "main", "master", "nightly", "stable", "edge", "dev"} <= set(schema["floatingTags"]["default"])


def test_pinning_imports_without_the_policy_sdk() -> None:
    # The program's settings import it, and the program does not install pulumi_policy.
    code = "import sys, policies.rules.pinning; sys.exit('pulumi_policy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0
