"""Every rule: one mutation of a compliant baseline per violation, asserted over the Analyzer protocol."""

from __future__ import annotations

import re
from typing import Any

import pytest

from policies.rules.catalog import RESOURCE_RULES, STACK_RULES
from tests.policies.fixtures import (
    CONTAINER,
    REMOTE_IMAGE,
    baseline,
    container,
    stack_resources,
)
from tools.analyzer import (
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN_STRING,
    PolicyPackAnalyzer,
    Resource,
    secret,
)

SOCKET = "/var/run/docker.sock"

# (case id, container, changes, policy, level, message fragment)
CASES: list[tuple[str, str, dict[str, Any], str, str, str]] = [
    (
        "no-memory",
        "litellm",
        {"memory": None},
        "container-resource-limits",
        "mandatory",
        "no memory limit",
    ),
    (
        "zero-memory",
        "litellm",
        {"memory": 0},
        "container-resource-limits",
        "mandatory",
        "no memory limit",
    ),
    (
        "no-cpu",
        "litellm",
        {"cpus": None},
        "container-resource-limits",
        "mandatory",
        "no CPU limit",
    ),
    (
        "over-max",
        "litellm",
        {"memory": 999999, "memorySwap": 999999},
        "container-resource-limits",
        "mandatory",
        "exceeds the maximum 65536 MB",
    ),
    (
        "privileged",
        "postgres",
        {"privileged": True},
        "container-no-privileged",
        "mandatory",
        "runs privileged",
    ),
    (
        "host-network",
        "litellm",
        {"networkMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`networkMode: host`",
    ),
    (
        "host-pid",
        "litellm",
        {"pidMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`pidMode: host`",
    ),
    (
        "host-ipc",
        "litellm",
        {"ipcMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`ipcMode: host`",
    ),
    (
        "host-userns",
        "litellm",
        {"usernsMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`usernsMode: host`",
    ),
    (
        "host-cgroupns",
        "litellm",
        {"cgroupnsMode": "host"},
        "container-no-host-namespaces",
        "mandatory",
        "`cgroupnsMode: host`",
    ),
    (
        "seccomp-off",
        "litellm",
        {"securityOpts": ["no-new-privileges:true", "seccomp=unconfined"]},
        "container-security-profiles-enabled",
        "mandatory",
        "seccomp=unconfined",
    ),
    (
        "selinux-off",
        "litellm",
        {"securityOpts": ["no-new-privileges:true", "label:disable"]},
        "container-security-profiles-enabled",
        "mandatory",
        "label:disable",
    ),
    (
        "socket-in-app",
        "open-webui",
        {"volumes": [{"hostPath": SOCKET, "containerPath": SOCKET, "readOnly": True}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "mounts the Docker socket",
    ),
    (
        "socket-rw-router",
        "traefik",
        {"volumes": [{"hostPath": SOCKET, "containerPath": SOCKET}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "writable",
    ),
    (
        "socket-via-mounts",
        "litellm",
        {"mounts": [{"type": "bind", "source": "/run/docker.sock", "target": "/s"}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "Docker socket",
    ),
    (
        "etc-mount",
        "postgres",
        {"volumes": [{"hostPath": "/etc", "containerPath": "/host-etc", "readOnly": True}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "sensitive host path /etc",
    ),
    (
        "root-mount",
        "postgres",
        {"mounts": [{"type": "bind", "source": "/", "target": "/host"}]},
        "container-no-sensitive-mounts",
        "mandatory",
        "sensitive host path /",
    ),
    (
        "shared-propagation",
        "postgres",
        {
            "mounts": [
                {
                    "type": "bind",
                    "source": "/srv/x",
                    "target": "/x",
                    "bindOptions": {"propagation": "rshared"},
                }
            ]
        },
        "container-mount-propagation-private",
        "mandatory",
        "`rshared` propagation",
    ),
    (
        "no-healthcheck",
        "litellm",
        {"healthcheck": None},
        "container-healthcheck-required",
        "mandatory",
        "no healthcheck",
    ),
    (
        "healthcheck-none",
        "litellm",
        {"healthcheck": {"tests": ["NONE"]}},
        "container-healthcheck-required",
        "mandatory",
        "no healthcheck",
    ),
    (
        "restart-no",
        "litellm",
        {"restart": "no"},
        "container-restart-policy",
        "mandatory",
        "no restart policy",
    ),
    (
        "restart-absent",
        "litellm",
        {"restart": None},
        "container-restart-policy",
        "mandatory",
        "no restart policy",
    ),
    (
        "on-failure-unbounded",
        "litellm",
        {"restart": "on-failure"},
        "container-restart-policy",
        "mandatory",
        "between 1 and 5",
    ),
    (
        "pull-must-run",
        "ollama-pull",
        {"mustRun": True},
        "container-restart-policy",
        "mandatory",
        "no restart policy",
    ),
    (
        "gpu-on-webui",
        "open-webui",
        {"deviceRequests": [{"driver": "nvidia", "count": 1}]},
        "container-gpu-allow-list",
        "mandatory",
        "requests a GPU",
    ),
    (
        "gpus-string",
        "litellm",
        {"gpus": "all"},
        "container-gpu-allow-list",
        "mandatory",
        "requests a GPU",
    ),
    (
        "postgres-published",
        "postgres",
        {"ports": [{"internal": 5432, "external": 5432, "ip": "127.0.0.1"}]},
        "container-no-published-datastore",
        "mandatory",
        "publishes its postgres port",
    ),
    (
        "ollama-random-port",
        "ollama",
        {"ports": [{"internal": 11434, "ip": "10.0.0.5"}]},
        "container-no-published-datastore",
        "mandatory",
        "publishes its ollama port",
    ),
    (
        "all-interfaces",
        "open-webui",
        {"ports": [{"internal": 8080, "external": 8080}]},
        "container-ports-bound-to-interface",
        "mandatory",
        "0.0.0.0:8080->8080 on all host interfaces",
    ),
    (
        "ipv6-any",
        "open-webui",
        {"ports": [{"internal": 8080, "external": 8080, "ip": "::"}]},
        "container-ports-bound-to-interface",
        "mandatory",
        "on all host interfaces",
    ),
    (
        "router-extra-port",
        "traefik",
        {"ports": [{"internal": 8080, "external": 8080, "ip": "0.0.0.0"}]},
        "container-ports-bound-to-interface",
        "mandatory",
        "8080",
    ),
    (
        "publish-all",
        "open-webui",
        {"publishAllPorts": True},
        "container-ports-bound-to-interface",
        "mandatory",
        "publishAllPorts",
    ),
    (
        "no-tls-entrypoint",
        "open-webui",
        {
            "labels": [
                {
                    "label": "traefik.http.routers.open-webui.entrypoints",
                    "value": "web,websecure",
                },
                {
                    "label": "traefik.http.routers.open-webui.tls.certresolver",
                    "value": "le",
                },
            ]
        },
        "traefik-routes-tls-only",
        "mandatory",
        "router 'open-webui' listens on web",
    ),
    (
        "no-entrypoints",
        "litellm",
        {
            "labels": [
                {"label": "traefik.http.routers.api.rule", "value": "Host(`x`)"},
                {"label": "traefik.http.routers.api.tls.certresolver", "value": "le"},
            ]
        },
        "traefik-routes-tls-only",
        "mandatory",
        "all entrypoints (none set)",
    ),
    (
        "no-certresolver",
        "litellm",
        {
            "labels": [
                {"label": "traefik.http.routers.api.entrypoints", "value": "websecure"},
                {"label": "traefik.http.routers.api.tls", "value": "true"},
            ]
        },
        "traefik-routes-tls-only",
        "mandatory",
        "without a certificate resolver",
    ),
    (
        "no-tls",
        "litellm",
        {"labels": [{"label": "traefik.http.routers.api.entrypoints", "value": "websecure"}]},
        "traefik-routes-tls-only",
        "mandatory",
        "has no TLS",
    ),
    (
        "image-no-tag",
        "postgres",
        {"image": "postgres"},
        "image-tag-pinned",
        "mandatory",
        "has no tag",
    ),
    (
        "image-main",
        "open-webui",
        {"image": "ghcr.io/open-webui/open-webui:main"},
        "image-tag-pinned",
        "mandatory",
        "floating tag 'main'",
    ),
    (
        "image-main-stable",
        "litellm",
        {"image": "ghcr.io/berriai/litellm:main-stable"},
        "image-tag-pinned",
        "mandatory",
        "floating tag 'main-stable'",
    ),
    (
        "image-registry-port",
        "postgres",
        {"image": "registry.local:5000/postgres"},
        "image-tag-pinned",
        "mandatory",
        "has no tag",
    ),
    (
        "plaintext-key",
        "litellm",
        {"envs": ["LITELLM_MASTER_KEY=sk-plain-123"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env LITELLM_MASTER_KEY is set in plaintext",
    ),
    (
        "plaintext-token",
        "open-webui",
        {"envs": ["HF_TOKEN=hf_plain"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env HF_TOKEN",
    ),
    (
        "plaintext-db-url",
        "litellm",
        {"envs": ["DATABASE_URL=postgresql://litellm:pw-plain@postgres:5432/db"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env DATABASE_URL holds a URL with an embedded password",
    ),
    (
        "plaintext-any-url",
        "open-webui",
        {"envs": ["REDIS_URI=redis://default:pw-plain@redis:6379"]},
        "container-no-plaintext-secrets",
        "mandatory",
        "env REDIS_URI holds a URL",
    ),
    (
        "no-nnp",
        "litellm",
        {"securityOpts": None},
        "container-no-new-privileges",
        "advisory",
        "no-new-privileges",
    ),
    (
        "caps-kept",
        "litellm",
        {"capabilities": None},
        "container-capabilities-dropped",
        "advisory",
        "keeps Docker's default capabilities",
    ),
    (
        "caps-some-dropped",
        "litellm",
        {"capabilities": {"drops": ["NET_RAW"]}},
        "container-capabilities-dropped",
        "advisory",
        "does not drop ALL capabilities",
    ),
    (
        "caps-added",
        "litellm",
        {"capabilities": {"drops": ["ALL"], "adds": ["SYS_ADMIN"]}},
        "container-capabilities-dropped",
        "advisory",
        "adds capabilities ['SYS_ADMIN']",
    ),
    (
        "rootfs-writable",
        "traefik",
        {"readOnly": None},
        "container-read-only-rootfs",
        "advisory",
        "writable root",
    ),
    (
        "no-log-rotation",
        "litellm",
        {"logOpts": None},
        "container-log-rotation",
        "advisory",
        "without rotation",
    ),
    (
        "local-no-rotation",
        "litellm",
        {"logDriver": "local", "logOpts": {"max-size": "10m"}},
        "container-log-rotation",
        "advisory",
        "local without rotation",
    ),
    (
        "reservation-over-limit",
        "litellm",
        {"memoryReservation": 4096},
        "container-memory-settings",
        "advisory",
        "memoryReservation 4096 MB is above the limit 2048 MB",
    ),
    (
        "swap-unlimited",
        "litellm",
        {"memorySwap": -1},
        "container-memory-settings",
        "advisory",
        "memorySwap -1",
    ),
    (
        "host-device",
        "litellm",
        {"devices": [{"hostPath": "/dev/kfd"}]},
        "container-no-host-devices",
        "advisory",
        "/dev/kfd",
    ),
    (
        "cgroup-parent",
        "litellm",
        {"cgroupParent": "/custom"},
        "container-default-cgroup",
        "advisory",
        "/custom",
    ),
    (
        "privileged-port",
        "open-webui",
        {"ports": [{"internal": 8080, "external": 80, "ip": "127.0.0.1"}]},
        "container-no-privileged-host-ports",
        "advisory",
        "privileged host port 80",
    ),
]


@pytest.mark.parametrize("case,name,changes,policy,level,fragment", CASES, ids=[c[0] for c in CASES])
def test_mutation_is_reported(
    prod: PolicyPackAnalyzer,
    case: str,
    name: str,
    changes: dict[str, Any],
    policy: str,
    level: str,
    fragment: str,
) -> None:
    prod.configure({"container-resource-limits": {"maxMemoryMb": 65536}})
    result = prod.analyze(CONTAINER, name, container(name, **changes))
    diags = result.by_policy(policy)
    assert diags, f"{policy} did not fire; got {[d.message for d in result.diagnostics]}"
    assert any(fragment in d.message for d in diags), [d.message for d in diags]
    for d in diags:
        assert d.enforcement_level == level
        assert d.urn == prod.urn(CONTAINER, name)
        assert f"'{name}'" in d.message and "Fix:" in d.message
        assert "plain" not in d.message.replace("plaintext", ""), "a secret value leaked into the message"


def test_every_rule_has_a_mutation_case() -> None:
    covered = {c[3] for c in CASES} | {"volume-protected"}
    assert {r.name for r in RESOURCE_RULES} <= covered


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
def test_secret_envs_pass(prod: PolicyPackAnalyzer, envs: Any) -> None:
    result = prod.analyze(CONTAINER, "litellm", container("litellm", envs=envs))
    assert result.by_policy("container-no-plaintext-secrets") == []


def test_only_the_plaintext_element_is_reported(prod: PolicyPackAnalyzer) -> None:
    envs = [
        secret("LITELLM_MASTER_KEY=sk-secret"),
        "UI_PASSWORD=plain-pw",
        "OPENAI_API_KEY=sk-plain",
    ]
    diags = prod.analyze(CONTAINER, "litellm", container("litellm", envs=envs)).by_policy(
        "container-no-plaintext-secrets"
    )
    assert sorted(re.search(r"env (\w+) is set", d.message).group(1) for d in diags) == [  # type: ignore[union-attr]
        "OPENAI_API_KEY",
        "UI_PASSWORD",
    ]
    assert not any(v in d.message for d in diags for v in ("sk-secret", "plain-pw", "sk-plain"))


def test_allowed_plaintext_name_is_configurable(analyzer: PolicyPackAnalyzer) -> None:
    analyzer.configure({"container-no-plaintext-secrets": {"allowedPlaintext": ["PUBLIC_KEY"]}})
    result = analyzer.analyze(CONTAINER, "litellm", container("litellm", envs=["PUBLIC_KEY=ssh-ed25519 AAAA"]))
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
def test_remote_image_pinning(prod: PolicyPackAnalyzer, reference: str, ok: bool) -> None:
    result = prod.analyze(REMOTE_IMAGE, "img", {"name": reference})
    assert (result.by_policy("image-tag-pinned") == []) is ok


def test_container_image_id_counts_as_pinned(prod: PolicyPackAnalyzer) -> None:
    result = prod.analyze(CONTAINER, "ollama", container("ollama", image="sha256:" + "c" * 64))
    assert result.diagnostics == ()


def test_extra_floating_tag_from_config(analyzer: PolicyPackAnalyzer) -> None:
    analyzer.configure({"image-tag-pinned": {"floatingTags": ["latest", "cuda"]}})
    result = analyzer.analyze(REMOTE_IMAGE, "img", {"name": "ghcr.io/open-webui/open-webui:cuda"})
    assert [d.enforcement_level for d in result.by_policy("image-tag-pinned")] == ["mandatory"]


# Stack: host capacity (AnalyzeStack).


def _capacity(result: Any) -> list[Any]:
    return result.by_policy("stack-host-capacity")


def test_memory_overcommit_is_rejected(prod: PolicyPackAnalyzer) -> None:
    containers = baseline()
    containers["ollama"].update(memory=131072, memorySwap=131072)
    [diag] = _capacity(prod.analyze_stack(stack_resources(containers)))
    assert diag.enforcement_level == "mandatory"
    assert "above the host's 131072 MB x headroom 1 = 131072 MB" in diag.message
    assert diag.urn == ""


def test_cpu_overcommit_is_rejected_with_headroom(analyzer: PolicyPackAnalyzer) -> None:
    analyzer.configure(
        {
            "stack-host-capacity": {
                "hostCpus": 32,
                "hostMemoryMb": 131072,
                "hostGpus": 2,
                "headroom": 0.5,
            }
        }
    )
    diags = _capacity(analyzer.analyze_stack(stack_resources(baseline())))
    [cpu] = [d for d in diags if "CPUs of limits" in d.message]
    assert "24 CPUs" in cpu.message and "= 16" in cpu.message


def test_dev_host_rejects_prod_sizes(dev: PolicyPackAnalyzer) -> None:
    diags = _capacity(dev.analyze_stack(stack_resources(baseline())))
    messages = " ".join(d.message for d in diags)
    assert "above the host's 16384 MB" in messages
    assert "above the host's 8 CPUs" in messages
    assert "container 'ollama' requests GPUs but the host has 0" in messages


def test_unlimited_container_makes_the_stack_unbounded(
    prod: PolicyPackAnalyzer,
) -> None:
    containers = baseline()
    del containers["postgres"]["memory"]
    diags = _capacity(prod.analyze_stack(stack_resources(containers)))
    assert [d.urn for d in diags] == [prod.urn(CONTAINER, "postgres")]
    assert "memory is unbounded" in diags[0].message


def test_other_resources_do_not_count(prod: PolicyPackAnalyzer) -> None:
    resources = [
        *stack_resources(baseline()),
        Resource("docker:index/network:Network", "ai-stack", {"name": "x"}),
    ]
    assert _capacity(prod.analyze_stack(resources)) == []


def test_shared_volume_is_advisory(prod: PolicyPackAnalyzer) -> None:
    containers = baseline()
    containers["ollama-pull"]["volumes"] = [{"volumeName": "ollama-models", "containerPath": "/root/.ollama"}]
    [diag] = prod.analyze_stack(stack_resources(containers)).by_policy("volumes-not-shared")
    assert diag.enforcement_level == "advisory"
    assert "ollama, ollama-pull" in diag.message


def test_stack_rules_are_registered() -> None:
    assert {r.name for r in STACK_RULES} == {
        "stack-host-capacity",
        "volumes-not-shared",
    }
