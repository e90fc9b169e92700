"""Issue 21 over the Analyzer protocol: every walk-around is refused (mandatory, on the right
resource), every near miss stays clean, and every pulumi-docker type is judged or refused."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from policies.rules.kinds import KNOWN
from tests.policies.fixtures import Baseline
from tests.policies.walk import Change, added_diagnostics, urn_of
from tests.policies.walk_c1_c4 import C1, C1_OK, C2, C2_OK, C3, C3_OK, C4, C4_OK
from tests.policies.walk_c5_c6 import C5, C5_OK, C6, C6_OK
from tests.policies.walk_c7_c11 import C7, C7_OK, C8, C8_OK, C9, C9_OK, C10_OK, C11
from tools.analyzer import UNKNOWN_STRING, PolicyPackAnalyzer

MUTATIONS: list[Change] = [*C1, *C2, *C3, *C4, *C5, *C6, *C7, *C8, *C9, *C11]
NEAR_MISSES: list[Change] = [*C1_OK, *C2_OK, *C3_OK, *C4_OK, *C5_OK, *C6_OK, *C7_OK, *C8_OK, *C9_OK, *C10_OK]


@pytest.mark.parametrize("change", MUTATIONS, ids=[c.id for c in MUTATIONS])
def test_walk_around_is_refused(analyzer: PolicyPackAnalyzer, baseline: Baseline, change: Change) -> None:
    diags = [d for d in added_diagnostics(analyzer, baseline, change) if d.policy_name == change.policy]
    hits = [d for d in diags if change.fragment in d.message]
    assert hits, f"{change.policy} did not say {change.fragment!r}: {[d.message for d in diags]}"
    assert {d.enforcement_level for d in hits} == {"mandatory"}
    assert urn_of(baseline, change) in {d.urn for d in hits}
    for d in hits:
        assert "Fix:" in d.message and not d.message.startswith(d.description)
        assert "hunter2" not in d.message and "sk-plain" not in d.message, "a secret value leaked into the message"


@pytest.mark.parametrize("change", NEAR_MISSES, ids=[c.id for c in NEAR_MISSES])
def test_near_miss_stays_clean(analyzer: PolicyPackAnalyzer, baseline: Baseline, change: Change) -> None:
    added = added_diagnostics(analyzer, baseline, change)
    mandatory = [f"{d.policy_name}: {d.message}" for d in added if d.enforcement_level == "mandatory"]
    assert mandatory == []
    if change.policy:
        assert [d.message for d in added if d.policy_name == change.policy] == []


UNKNOWN_AT_PREVIEW = Change(
    "unknowns",
    {
        "litellm": {
            "volumes": [{"fromContainer": UNKNOWN_STRING}, {"volumeName": UNKNOWN_STRING, "containerPath": "/v"}],
            "pidMode": UNKNOWN_STRING,
            "deviceCgroupRules": [UNKNOWN_STRING],
            "securityOpts": ["no-new-privileges:true", UNKNOWN_STRING],
            "healthcheck": {"tests": ["CMD", UNKNOWN_STRING]},
            "labels": lambda labels: [
                {**item, "value": UNKNOWN_STRING} if item["label"].endswith("entrypoints") else item for item in labels
            ],
            "mounts": [{"type": "volume", "target": "/m", "volumeOptions": {"driverOptions": {"o": UNKNOWN_STRING}}}],
        },
        "postgres": {"networkMode": UNKNOWN_STRING},
        "open-webui": {"ports": [{"internal": 8080, "external": 8080, "ip": UNKNOWN_STRING}]},
        "traefik": {"command": lambda cmd: [*cmd, UNKNOWN_STRING]},
    },
)


def test_values_computed_at_preview_wait_for_update(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    # The engine sends them at `up`; at preview they must not look like violations.
    added = added_diagnostics(analyzer, baseline, UNKNOWN_AT_PREVIEW)
    assert [f"{d.policy_name}: {d.message}" for d in added] == []


def test_every_class_has_walk_arounds_and_near_misses() -> None:
    classes = {int(m.group(1)) for c in MUTATIONS if (m := re.match(r"c(\d+)-", c.id))}
    near = {int(m.group(1)) for c in NEAR_MISSES if (m := re.match(r"c(\d+)-ok-", c.id))}
    assert classes == set(range(1, 12)) - {10}, "class 10 is about false positives: near misses only"
    assert near == set(range(1, 11)), "class 11 is about levels: see test_config.py"
    ids = [c.id for c in MUTATIONS + NEAR_MISSES]
    assert len(ids) == len(set(ids))


def _installed_types() -> set[str]:
    """Every resource type the installed pulumi_docker registers (its `resource_modules` and
    `resource_packages`), read from the package's source without importing it."""
    spec = importlib.util.find_spec("pulumi_docker")
    assert spec is not None and spec.origin, "pulumi_docker is not installed"
    text = Path(spec.origin).read_text(encoding="utf-8")
    blocks = re.findall(r'resource_(modules|packages)="""(.*?)"""', text, re.DOTALL)
    types: set[str] = set()
    for kind, block in blocks:
        for entry in json.loads(block):
            types |= set(entry["classes"]) if kind == "modules" else {entry["token"]}
    return types


def test_the_pack_knows_exactly_the_installed_types() -> None:
    installed = _installed_types()
    assert "docker:index/container:Container" in installed and "pulumi:providers:docker" in installed
    assert set(KNOWN) == installed


@pytest.mark.parametrize("kind", sorted(_installed_types()))
def test_no_installed_type_is_refused_as_unknown(analyzer: PolicyPackAnalyzer, baseline: Baseline, kind: str) -> None:
    from tests.policies.walk import New

    change = Change(f"type-{kind}", add=(New(kind, "probe", {"name": "probe"}),))
    added = added_diagnostics(analyzer, baseline, change)
    assert [d.message for d in added if d.policy_name == "docker-resource-types-known"] == []
