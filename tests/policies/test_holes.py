"""Issue 16's holes, the clean side: near misses of every new mutation case stay clean over the protocol.

The mutation cases (cases.HOLE_CASES, the volume and shared-directory cases) show each hole is
now reported; these show where each rule stops, so a rule that reported everything would fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules.catalog import RESOURCE_RULES, STACK_RULES
from tests.policies.fixtures import Baseline, configure_prod
from tools.analyzer import PolicyPackAnalyzer

NNP = "no-new-privileges:true"
BIND = {"type": "none", "o": "bind"}


@pytest.mark.parametrize(
    "opts",
    [
        # Docker splits at the first ":" : the label option "seccomp:unconfined", seccomp stays on
        # (moby daemon/daemon_unix.go parseSecurityOpt). KICS reports it; see the KICS test.
        [NNP, "label:seccomp:unconfined"],
        [NNP, "label=type:container_t"],
        [NNP, "label=level:s0:c100,c200"],
        [NNP, "seccomp=/etc/docker/seccomp-strict.json"],
        [NNP, "apparmor=docker-default"],
        [NNP, "seccomp=unconfined", "seccomp=/etc/docker/seccomp-strict.json"],  # the last one wins
        [NNP, "writable-cgroups=false"],
        # The daemon compares keys and "unconfined" case-sensitively and refuses these at create.
        [NNP, "Seccomp=unconfined"],
        [NNP, "seccomp=Unconfined"],
    ],
)
def test_confinement_kept(prod_pack: PolicyPackAnalyzer, baseline: Baseline, opts: list[str]) -> None:
    result = prod_pack.analyze_resource(baseline.resource("litellm", baseline.container("litellm", securityOpts=opts)))
    assert result.by_policy("container-security-profiles-enabled") == []


@pytest.mark.parametrize(
    "opts",
    [["no-new-privileges"], ["no-new-privileges=true"], ["no-new-privileges=1"], ["no-new-privileges=false", NNP]],
)
def test_no_new_privileges_forms(prod_pack: PolicyPackAnalyzer, baseline: Baseline, opts: list[str]) -> None:
    result = prod_pack.analyze_resource(baseline.resource("litellm", baseline.container("litellm", securityOpts=opts)))
    assert result.by_policy("container-no-new-privileges") == []


@pytest.mark.parametrize(
    "source,reported",
    [
        ("/etc/app", True),
        ("/Etc/app", False),  # Linux paths are case-sensitive: not /etc
        ("/ETC", False),
        ("/etcetera", False),  # a sibling, not inside /etc
        ("//etc//app/", True),
        ("/srv/ai/../../etc", True),
        ("/opt/ai/etc", False),
        ("/", True),
        ("/Var/Run/docker.sock", True),  # any path ending in docker.sock is treated as a socket
    ],
)
def test_host_paths_are_compared_case_sensitively(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline, source: str, reported: bool
) -> None:
    mounts = [{"type": "bind", "source": source, "target": "/x", "readOnly": True}]
    result = prod_pack.analyze_resource(baseline.resource("postgres", baseline.container("postgres", mounts=mounts)))
    assert bool(result.by_policy("container-no-sensitive-mounts")) is reported


@pytest.mark.parametrize(
    "driver,opts",
    [
        (
            "local",
            {"type": "none", "o": "bind", "device": "/opt/ai/pgdata"},
        ),  # a bind, outside system paths (/srv is one)
        ("local", {"type": "none", "o": "bind", "device": "${DATA}/pg"}),  # not a literal absolute path
        ("local", {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/var/exports/pg"}),  # an NFS export
        ("local", {"type": "tmpfs", "o": "size=100m", "device": "tmpfs"}),
        ("local", {"device": "/var/lib/x"}),  # no bind flag: a device, not a host directory
        ("local-persist", {"mountpoint": "/opt/ai/models"}),
    ],
)
def test_volume_driver_options_that_stay_clean(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline, driver: str, opts: dict[str, str]
) -> None:
    props = baseline.props("postgres-data", driver=driver, driverOpts=opts)
    assert (
        prod_pack.analyze_resource(baseline.resource("postgres-data", props)).by_policy("container-no-sensitive-mounts")
        == []
    )
    stack = baseline.stack_changed({"postgres-data": {"driver": driver, "driverOpts": opts}})
    result = prod_pack.analyze_stack(stack)
    assert result.by_policy("container-no-sensitive-volume-binds") == []
    assert result.by_policy("volumes-not-shared") == []


def test_an_exempt_container_may_mount_a_bind_volume(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    stack = baseline.stack_changed({"postgres-data": {"driverOpts": {**BIND, "device": "/var/lib/pgdata"}}})
    configure_prod(analyzer)
    assert analyzer.analyze_stack(stack).by_policy("container-no-sensitive-volume-binds")
    configure_prod(analyzer, {"container-no-sensitive-volume-binds": {"exemptContainers": ["postgres"]}})
    assert analyzer.analyze_stack(stack).by_policy("container-no-sensitive-volume-binds") == []
    configure_prod(analyzer, {"container-no-sensitive-volume-binds": {"allowedHostPaths": ["/var/lib/pgdata"]}})
    assert analyzer.analyze_stack(stack).by_policy("container-no-sensitive-volume-binds") == []


@pytest.mark.parametrize(
    "first,second",
    [
        ("/srv/ai/a", "/srv/ai/ab"),  # siblings sharing a prefix, not a directory
        ("/srv/ai/a", "/srv/ai/b"),
        ("/srv/AI/a", "/srv/ai/a"),  # case-sensitive
    ],
)
def test_distinct_host_directories_are_not_shared(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline, first: str, second: str
) -> None:
    stack = baseline.stack_changed(
        {
            "litellm": {"volumes": [{"hostPath": first, "containerPath": "/a"}]},
            "open-webui": {"mounts": [{"type": "bind", "source": second, "target": "/b"}]},
        }
    )
    assert prod_pack.analyze_stack(stack).by_policy("volumes-not-shared") == []


def test_a_reviewed_shared_host_directory(analyzer: PolicyPackAnalyzer, baseline: Baseline) -> None:
    edits: dict[str, dict[str, Any]] = {
        "litellm": {"volumes": [{"hostPath": "/srv/ai/shared", "containerPath": "/a"}]},
        "open-webui": {"volumes": [{"hostPath": "/srv/ai/shared/in", "containerPath": "/b", "readOnly": True}]},
    }
    configure_prod(analyzer)
    assert analyzer.analyze_stack(baseline.stack_changed(edits)).by_policy("volumes-not-shared")
    configure_prod(analyzer, {"volumes-not-shared": {"allowedSharedHostPaths": ["/srv/ai/shared"]}})
    assert analyzer.analyze_stack(baseline.stack_changed(edits)).by_policy("volumes-not-shared") == []


@pytest.mark.parametrize(
    "changes",
    [
        {"ports": [{"internal": 80, "external": 8080, "ip": "127.0.0.1"}], "capabilities": {"drops": ["ALL"]}},
        {
            "ports": [{"internal": 80, "external": 8080, "ip": "127.0.0.1"}],
            "capabilities": {"drops": ["NET_BIND_SERVICE"]},
        },
        {"ports": [{"internal": 1024, "external": 8080, "ip": "127.0.0.1"}]},
        {"ports": [{"internal": 8080, "ip": "127.0.0.1"}]},  # random host port: never privileged
    ],
)
def test_unprivileged_or_capability_dropped(
    prod_pack: PolicyPackAnalyzer, baseline: Baseline, changes: dict[str, Any]
) -> None:
    result = prod_pack.analyze_resource(baseline.resource("open-webui", baseline.container("open-webui", **changes)))
    assert result.by_policy("container-no-privileged-ports") == []


def test_adding_net_bind_service_back_counts_as_keeping_it(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    changes = {
        "ports": [{"internal": 80, "external": 8080, "ip": "127.0.0.1"}],
        "capabilities": {"drops": ["ALL"], "adds": ["cap_net_bind_service"]},
    }
    result = prod_pack.analyze_resource(baseline.resource("open-webui", baseline.container("open-webui", **changes)))
    assert [d.message.split(" (")[0] for d in result.by_policy("container-no-privileged-ports")] == [
        "container 'open-webui' listens on privileged container port 80"
    ]


def test_messages_lead_with_the_finding(prod_pack: PolicyPackAnalyzer, baseline: Baseline) -> None:
    # Two containers breaking the same rules: the messages differ, the description stays in its field.
    containers = baseline.containers()
    for name in ("litellm", "open-webui"):
        containers[name].update(privileged=True, securityOpts=["seccomp=unconfined"], logOpts={})
    result = prod_pack.analyze_stack(baseline.stack(containers))
    diags = [d for name in containers for d in prod_pack.analyze_resource(_res(baseline, name, containers)).diagnostics]
    diags += result.diagnostics
    descriptions = {r.name: r.description for r in RESOURCE_RULES} | {r.name: r.description for r in STACK_RULES}
    assert {d.policy_name for d in diags} >= {"container-no-privileged", "container-security-profiles-enabled"}
    for d in diags:
        assert d.description == descriptions[d.policy_name]
        assert not d.message.startswith(d.description) and "\n" not in d.message, d.message
    privileged = sorted(d.message for d in diags if d.policy_name == "container-no-privileged")
    assert privileged[0].startswith("container 'litellm' runs privileged")
    assert privileged[1].startswith("container 'open-webui' runs privileged")


def _res(baseline: Baseline, name: str, containers: dict[str, dict[str, Any]]) -> Any:
    return baseline.resource(name, containers[name])
