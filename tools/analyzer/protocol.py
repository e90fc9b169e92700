"""The Analyzer protocol as plain data: results, policies and resources, and their protobuf forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from tools.wire import SECRET_SIG, SIG_KEY, UNKNOWN_NUMBER, UNKNOWN_STRING

__all__ = [
    "SECRET_SIG",
    "SIG_KEY",
    "UNKNOWN_NUMBER",
    "UNKNOWN_STRING",
    "AnalyzeResult",
    "AnalyzerInfo",
    "Diagnostic",
    "PolicyInfo",
    "Provider",
    "Resource",
    "analyzer_info_of",
    "diagnostics_of",
    "make_urn",
    "secret",
    "to_struct",
]

LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
    "remediate": analyzer_pb2.REMEDIATE,
}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
POLICY_TYPES = {
    analyzer_pb2.POLICY_TYPE_UNKNOWN: "unknown",
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}


def secret(value: Any) -> dict[str, Any]:
    """Wrap ``value`` the way the engine marks a secret on the wire."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def make_urn(
    resource_type: str,
    name: str,
    project: str,
    stack: str,
    parent_type: str | None = None,
) -> str:
    """A resource URN: ``urn:pulumi:<stack>::<project>::[<parent-type>$]<type>::<name>``."""
    qualified = f"{parent_type}${resource_type}" if parent_type else resource_type
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as reported by ``GetAnalyzerInfo``."""

    name: str
    description: str
    enforcement_level: str
    severity: str
    policy_type: str
    config_schema: dict[str, Any]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalyzerInfo:
    """The pack's ``GetAnalyzerInfo`` answer."""

    name: str
    version: str
    description: str
    supports_config: bool
    policies: tuple[PolicyInfo, ...]
    initial_config: dict[str, tuple[str, dict[str, Any]]]
    """The pack's initial config, levels converted as the CLI converts them (an unset level is
    protobuf's 0, ADVISORY: pkg/resource/plugin/analyzer_plugin.go `convertPolicyConfig`)."""

    def policy(self, name: str) -> PolicyInfo:
        """The policy called ``name`` (``KeyError`` if the pack has none)."""
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class Diagnostic:
    """One policy violation (``AnalyzeDiagnostic``)."""

    policy_name: str
    policy_pack_name: str
    policy_pack_version: str
    enforcement_level: str
    severity: str
    message: str
    description: str
    urn: str


@dataclass(frozen=True)
class AnalyzeResult:
    """Diagnostics and not-applicable notes returned by ``Analyze`` or ``AnalyzeStack``."""

    diagnostics: tuple[Diagnostic, ...]
    not_applicable: tuple[tuple[str, str], ...] = ()

    @property
    def mandatory(self) -> list[Diagnostic]:
        """Violations that fail a preview or update."""
        return [d for d in self.diagnostics if d.enforcement_level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        """Violations that are only printed."""
        return [d for d in self.diagnostics if d.enforcement_level == "advisory"]

    def by_policy(self, name: str) -> list[Diagnostic]:
        """Diagnostics of the policy called ``name``."""
        return [d for d in self.diagnostics if d.policy_name == name]

    def policies(self) -> set[str]:
        """Names of the policies that reported something."""
        return {d.policy_name for d in self.diagnostics}


@dataclass(frozen=True)
class Provider:
    """A resource's provider as the engine sends it beside the resource (`AnalyzerProviderResource`:
    pulumi pkg/resource/deploy/step_generator.go fills it from the provider's state, default ones too)."""

    type: str
    name: str
    urn: str
    properties: Mapping[str, Any] | struct_pb2.Struct = field(default_factory=dict)

    def message(self) -> analyzer_pb2.AnalyzerProviderResource:
        return analyzer_pb2.AnalyzerProviderResource(
            type=self.type, name=self.name, urn=self.urn, properties=to_struct(self.properties)
        )


@dataclass
class Resource:
    """A resource as the engine describes it to the analyzer."""

    type: str
    name: str
    properties: Mapping[str, Any] | struct_pb2.Struct
    """Plain values (secrets as `secret(...)`), or the wire message itself."""
    urn: str | None = None
    protect: bool = False
    parent: str | None = None
    dependencies: Sequence[str] = field(default_factory=tuple)
    provider: Provider | None = None


def to_struct(props: Mapping[str, Any] | struct_pb2.Struct) -> struct_pb2.Struct:
    if isinstance(props, struct_pb2.Struct):
        return props  # copied into the request by protobuf
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def diagnostics_of(response: analyzer_pb2.AnalyzeResponse) -> AnalyzeResult:
    diags = tuple(
        Diagnostic(
            policy_name=d.policyName,
            policy_pack_name=d.policyPackName,
            policy_pack_version=d.policyPackVersion,
            enforcement_level=LEVEL_NAMES.get(d.enforcementLevel, str(d.enforcementLevel)),
            severity=SEVERITY_NAMES.get(d.severity, str(d.severity)),
            message=d.message,
            description=d.description,
            urn=d.urn,
        )
        for d in response.diagnostics
    )
    na = tuple((n.policy_name, n.reason) for n in response.not_applicable)
    return AnalyzeResult(diags, na)


def analyzer_info_of(raw: analyzer_pb2.AnalyzerInfo) -> AnalyzerInfo:
    """The pack's ``GetAnalyzerInfo`` answer as plain data."""
    policies = tuple(
        PolicyInfo(
            name=p.name,
            description=p.description,
            enforcement_level=LEVEL_NAMES.get(p.enforcementLevel, str(p.enforcementLevel)),
            severity=SEVERITY_NAMES.get(p.severity, str(p.severity)),
            policy_type=POLICY_TYPES.get(p.policy_type, str(p.policy_type)),
            config_schema=json_format.MessageToDict(p.configSchema.properties),
            required=tuple(p.configSchema.required),
        )
        for p in raw.policies
    )
    initial = {
        k: (LEVEL_NAMES[v.enforcementLevel], json_format.MessageToDict(v.properties))
        for k, v in raw.initialConfig.items()
    }
    return AnalyzerInfo(
        name=raw.name,
        version=raw.version,
        description=raw.description,
        supports_config=raw.supportsConfig,
        policies=policies,
        initial_config=initial,
    )
