"""The pack's rule catalog: every resource and stack rule, in the order the pack registers them."""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    datastores,
    devices,
    exporters,
    exposure,
    hardening,
    hostdirs,
    images,
    isolation,
    kinds,
    lan,
    lifecycle,
    limits,
    mounts,
    network,
    routes,
    secrets,
    stack,
    volumes,
)
from .base import Kics, Rule, to_policy
from .stackbase import StackRule, to_stack_policy

RESOURCE_RULES: list[Rule] = [
    *limits.RULES,
    *isolation.RULES,
    *mounts.RULES,
    *devices.RULES,
    *lifecycle.RULES,
    *hardening.RULES,
    *network.RULES,
    *datastores.RULES,
    *images.RULES,
    *secrets.RULES,
    *volumes.RULES,
    *kinds.RULES,
]
STACK_RULES: list[StackRule] = [
    *stack.STACK_RULES,
    *hostdirs.STACK_RULES,
    *exposure.STACK_RULES,
    *datastores.STACK_RULES,
    *routes.STACK_RULES,
    *lan.STACK_RULES,
    *exporters.STACK_RULES,
]
PACK_NAME = "ai-stack-guardrails"
# KICS docker-compose queries (Checkmarx/kics assets/queries/dockerCompose) no rule answers, and why.
UNANSWERED_KICS: tuple[Kics, ...] = (
    Kics(
        "221e0658",
        "Pids Limit Not Set",
        none=(
            "pulumi-docker 5.2.0 cannot set it: its Container has no pidsLimit input (terraform-provider-docker "
            "v4.5.0's docker_container has no pids_limit; CIS 5.29 likewise)"
        ),
    ),
)


def all_policies() -> list[Policy]:
    """Every policy of the pack, resource policies first."""
    resource: list[Policy] = [to_policy(r) for r in RESOURCE_RULES]
    return resource + [to_stack_policy(r) for r in STACK_RULES]
