"""The pack's rule catalog: every resource and stack rule, in the order the pack registers them."""

from __future__ import annotations

from pulumi_policy import Policy

from . import exposure, hardening, images, isolation, lifecycle, limits, mounts, network, secrets, stack, volumes
from .base import Rule, to_policy
from .stack import StackRule, to_stack_policy

RESOURCE_RULES: list[Rule] = [
    *limits.RULES,
    *isolation.RULES,
    *mounts.RULES,
    *lifecycle.RULES,
    *hardening.RULES,
    *network.RULES,
    *images.RULES,
    *secrets.RULES,
    *volumes.RULES,
]
STACK_RULES: list[StackRule] = [*stack.STACK_RULES, *exposure.STACK_RULES]
PACK_NAME = "ai-stack-guardrails"


def all_policies() -> list[Policy]:
    """Every policy of the pack, resource policies first."""
    resource: list[Policy] = [to_policy(r) for r in RESOURCE_RULES]
    return resource + [to_stack_policy(r) for r in STACK_RULES]
