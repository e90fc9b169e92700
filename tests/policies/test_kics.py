"""KICS's own docker-compose test cases, translated (tests/policies/kics.py), through the pack over
the protocol: every positive fixture is reported by the rules answering its query, every negative
one is clean, except the fixtures listed in EXCLUDED with the reason.

The fixtures are a subset of Checkmarx/kics assets/queries/dockerCompose (data/kics_fixtures.json
names the commit): the queries behind issue 16's holes, plus two whose translation is exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.policies.fixtures import Baseline
from tests.policies.kics import translate
from tools.analyzer import Diagnostic, PolicyPackAnalyzer

FIXTURES = json.loads((Path(__file__).parent / "data" / "kics_fixtures.json").read_text(encoding="utf-8"))

POLICIES: dict[str, tuple[str, ...]] = {
    "volume_has_sensitive_host_directory": ("container-no-sensitive-mounts", "container-no-sensitive-volume-binds"),
    "docker_socket_mounted_in_container": (
        "container-no-sensitive-mounts",
        "container-no-sensitive-volume-binds",
        "docker-socket-isolated",
    ),
    "shared_volumes_between_containers": ("volumes-not-shared",),
    "privileged_ports_mapped_in_container": ("container-no-privileged-ports",),
    "default_seccomp_profile_disabled": ("container-security-profiles-enabled",),
    "privileged_containers_enabled": ("container-no-privileged",),
    "cgroup_not_default": ("container-default-cgroup",),
}

EXCLUDED: dict[tuple[str, str], str] = {
    ("volume_has_sensitive_host_directory", "positive1.yaml"): (
        "`- /var/lib/backup/data` is an anonymous volume mounted at that container path (Compose short "
        "syntax: a lone path is the target); no host directory is mounted. KICS matches the string."
    ),
    ("default_seccomp_profile_disabled", "positive1.yaml"): (
        "`label:seccomp:unconfined` is the SELinux label option `seccomp:unconfined` to Docker (moby "
        "daemon/daemon_unix.go parseSecurityOpt splits at the first ':'); seccomp stays on."
    ),
}

FIXTURE_IDS = [(q, f) for q in sorted(POLICIES) for f in sorted(FIXTURES["queries"][q]["fixtures"])]


def _diagnostics(pack: PolicyPackAnalyzer, resources: list[Any], policies: tuple[str, ...]) -> list[Diagnostic]:
    found = [d for r in resources for d in pack.analyze_resource(r).diagnostics]
    found += pack.analyze_stack(resources).diagnostics
    return [d for d in found if d.policy_name in policies]


@pytest.fixture(scope="module")
def plain_container(baseline: Baseline) -> dict[str, Any]:
    return baseline.container("litellm")


@pytest.mark.parametrize("query,fixture", FIXTURE_IDS, ids=[f"{q}/{f}" for q, f in FIXTURE_IDS])
def test_kics_fixture(prod_pack: PolicyPackAnalyzer, plain_container: dict[str, Any], query: str, fixture: str) -> None:
    resources = translate(FIXTURES["queries"][query]["fixtures"][fixture], plain_container)
    assert resources, "the translation produced nothing to analyze"
    diags = _diagnostics(prod_pack, resources, POLICIES[query])
    if (query, fixture) in EXCLUDED:
        # KICS is wrong here (the reason says why): the pack must agree with Docker, not KICS.
        assert diags == [], (EXCLUDED[(query, fixture)], [d.message for d in diags])
    elif fixture.startswith("positive"):
        assert diags, f"{query}/{fixture}: not reported by {POLICIES[query]}"
    else:
        assert diags == [], [d.message for d in diags]


def test_exclusions_name_real_fixtures_and_stay_excluded(
    prod_pack: PolicyPackAnalyzer, plain_container: dict[str, Any]
) -> None:
    # An exclusion the pack starts reporting is no longer an exclusion: drop it from EXCLUDED.
    for (query, fixture), reason in EXCLUDED.items():
        assert reason and fixture.startswith("positive")
        resources = translate(FIXTURES["queries"][query]["fixtures"][fixture], plain_container)
        assert _diagnostics(prod_pack, resources, POLICIES[query]) == [], (query, fixture)


def test_every_translated_query_is_answered_by_its_rules() -> None:
    from policies.rules.catalog import RESOURCE_RULES, STACK_RULES

    answered = {k.id: r.name for r in RESOURCE_RULES for k in r.kics} | {
        k.id: r.name for r in STACK_RULES for k in r.kics
    }
    for query, policies in POLICIES.items():
        kics_id = FIXTURES["queries"][query]["id"].split("-", 1)[0]
        assert answered.get(kics_id) in policies, query
