"""Issue 21's harness: one change to the real prod stack, judged over the Analyzer protocol.

A `Change` edits resources of the evaluated prod stack (by docker or Pulumi name) and may add
new ones (types the program never registers: a swarm Service, a Plugin, a macvlan Network...).
`added_diagnostics` sends every changed or added resource to `Analyze` and the whole stack to
`AnalyzeStack`, as the offline gate does, and returns what the change added to what the
unchanged stack reports under the same config.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.policies.fixtures import Baseline, configure_prod
from tools.analyzer import Diagnostic, PolicyPackAnalyzer, Resource, make_urn

CONTAINER = "docker:index/container:Container"
SERVICE = "docker:index/service:Service"
PLUGIN = "docker:index/plugin:Plugin"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
SECRET = "docker:index/secret:Secret"
SERVICE_CONFIG = "docker:index/serviceConfig:ServiceConfig"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
REGISTRY_IMAGE = "docker:index/registryImage:RegistryImage"
IMAGE = "docker:index/image:Image"
TAG = "docker:index/tag:Tag"
BUILDX = "docker:index/buildxBuilder:BuildxBuilder"
PROVIDER = "pulumi:providers:docker"


@dataclass(frozen=True)
class New:
    """A resource the change adds: its type, Pulumi name and input properties."""

    type: str
    name: str
    props: dict[str, Any]

    def resource(self) -> Resource:
        return Resource(self.type, self.name, self.props, urn=make_urn(self.type, self.name, "ai-stack", "prod"))


@dataclass(frozen=True)
class Change:
    """One change to the prod stack; for a mutation, the violation it must draw."""

    id: str
    edits: dict[str, dict[str, Any]] = field(default_factory=dict)
    """{resource name: {property: value}} (a None value removes the property; a callable gets the
    property's current value and returns the new one)."""
    add: tuple[New, ...] = ()
    policy: str = ""
    fragment: str = ""
    reported: str = ""
    """The resource the violation names (default: the first edited or added one)."""
    config: dict[str, Any] = field(default_factory=dict)
    """Policy config layered on prod.json."""

    def target(self) -> str:
        return self.reported or (next(iter(self.edits)) if self.edits else self.add[0].name)


_before: dict[str, dict[str, list[Diagnostic]]] = {}


def _key(d: Diagnostic) -> tuple[str, str, str]:
    return (d.policy_name, d.urn, d.message)


def _baseline_diagnostics(pack: PolicyPackAnalyzer, baseline: Baseline, config: Mapping[str, Any]) -> dict[str, Any]:
    """The unchanged stack's diagnostics by resource name (and "" for AnalyzeStack), per config."""
    key = json.dumps(config, sort_keys=True)
    if key not in _before:
        per: dict[str, list[Diagnostic]] = {}
        for r in baseline.resources():
            per[baseline.registered_urn(r.urn or "").docker_name or r.name] = list(pack.analyze_resource(r).diagnostics)
        per[""] = list(pack.analyze_stack(baseline.stack()).diagnostics)
        _before[key] = per
    return _before[key]


def resolved(baseline: Baseline, change: Change) -> dict[str, dict[str, Any]]:
    """``change.edits`` with every callable replaced by what it returns for the current value."""
    out: dict[str, dict[str, Any]] = {}
    for name, edits in change.edits.items():
        current = baseline.props(name)
        out[name] = {k: v(copy.deepcopy(current.get(k))) if callable(v) else v for k, v in edits.items()}
    return out


def added_diagnostics(pack: PolicyPackAnalyzer, baseline: Baseline, change: Change) -> list[Diagnostic]:
    """What ``change`` adds to the unchanged prod stack's diagnostics, over the protocol."""
    configure_prod(pack, change.config)
    before = _baseline_diagnostics(pack, baseline, change.config)
    edits_of = resolved(baseline, change)
    stack = baseline.stack_changed(edits_of) + [n.resource() for n in change.add]
    seen = {_key(d) for diags in before.values() for d in diags}
    after: list[Diagnostic] = []
    for name, edits in edits_of.items():
        after += pack.analyze_resource(baseline.resource(name, baseline.props(name, **edits))).diagnostics
    for new in change.add:
        after += pack.analyze_resource(new.resource()).diagnostics
    after += pack.analyze_stack(stack).diagnostics
    return [d for d in after if _key(d) not in seen]


def urn_of(baseline: Baseline, change: Change) -> str:
    """The URN the change's violation must name."""
    name = change.target()
    added = next((n for n in change.add if n.name == name), None)
    return added.resource().urn or "" if added else baseline.urn(name)
