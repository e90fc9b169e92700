"""Stack policies: the whole stack's resources in, (message, URN) pairs out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .base import Kics
from .props import owned, with_defaults


@dataclass(frozen=True)
class StackResource:
    """The part of a stack resource the stack rules read: plain props, names, URN and host."""

    resource_type: str
    name: str
    urn: str
    props: dict[str, Any]
    host: str = ""
    """The Docker host: "" for the main one (a default provider), else its explicit provider's
    name, which the stack names after the inference host (`gpu-2`)."""


def host_of(provider_name: str | None) -> str:
    """ "" for no provider or one of Pulumi's default providers (`default`, `default_5_1_0`: pulumi
    pkg/resource/deploy/providers/provider.go DefaultName), else the provider's name."""
    if not provider_name or provider_name.startswith("default"):
        return ""
    return provider_name


@dataclass(frozen=True)
class StackRule:
    """A stack policy: metadata, config knobs and a pure check returning (message, urn) pairs."""

    name: str
    description: str
    enforcement_level: EnforcementLevel
    severity: Severity
    config: dict[str, dict[str, Any]]
    check: Any  # Callable[[list[StackResource], dict[str, Any]], list[tuple[str, str | None]]]
    kics: tuple[Kics, ...] = ()
    cis: tuple[str, ...] = ()

    def run(self, resources: list[StackResource], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        """Apply schema defaults and run the check."""
        result: list[tuple[str, str | None]] = self.check(resources, with_defaults(self.config, config))
        return result


def to_stack_policy(rule: StackRule) -> StackValidationPolicy:
    """A StackValidationPolicy running ``rule`` over the stack's resources."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            StackResource(
                r.resource_type, r.name, r.urn, owned(r.props), host_of(r.provider.name if r.provider else None)
            )
            for r in args.resources
        ]
        for message, urn in rule.run(resources, args.get_config()):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=rule.enforcement_level,
        severity=rule.severity,
        config_schema=PolicyConfigSchema(properties=rule.config),
    )
