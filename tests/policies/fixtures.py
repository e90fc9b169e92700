"""The policy tests' baseline: the prod stack as the program really registers it, mutated per case.

The baseline is `tools.offline.evaluate("prod")` (the session's `prod` fixture, evaluated once),
sent to the pack the way the offline gate sends it: each resource's wire inputs with secrets
still wrapped, under its real URN and parent. Tests mutate fresh copies.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.analyzer import AnalyzeResult, Diagnostic, PolicyPackAnalyzer, Resource, load_policy_config
from tools.offline import Evaluation, Registered

CONTAINER = "docker:index/container:Container"
CONFIG_DIR = Path(__file__).resolve().parents[2] / "policies" / "config"


def changed(props: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``props`` with ``changes`` applied (a ``None`` value removes the key)."""
    result = copy.deepcopy(dict(props))
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = copy.deepcopy(value)
    return result


@dataclass(frozen=True)
class Baseline:
    """The evaluated prod stack; every accessor returns fresh copies to mutate."""

    evaluation: Evaluation

    def _custom(self) -> list[Registered]:
        return [r for r in self.evaluation.resources if r.custom]

    def registered(self, name: str) -> Registered:
        """A resource by docker name (containers, volumes) or Pulumi name (images, others)."""
        found = [r for r in self._custom() if name in (r.name, r.docker_name)]
        if len(found) != 1:
            raise KeyError(f"{name}: {len(found)} resources in the prod evaluation")
        return found[0]

    def containers(self) -> dict[str, dict[str, Any]]:
        """Every container's wire inputs, keyed by docker name."""
        return {name: copy.deepcopy(r.wire_json) for name, r in self.evaluation.containers().items()}

    def props(self, name: str, /, **changes: Any) -> dict[str, Any]:
        """The wire inputs of resource ``name`` with ``changes`` applied (``None`` removes a key)."""
        return changed(self.registered(name).wire_json, changes)

    def container(self, name: str, /, **changes: Any) -> dict[str, Any]:
        """The wire inputs of container ``name`` with ``changes`` applied (``None`` removes a key)."""
        assert self.registered(name).type == CONTAINER, name
        return self.props(name, **changes)

    def urn(self, name: str) -> str:
        return self.registered(name).urn

    def resource(self, name: str, props: Mapping[str, Any] | None = None, *, protect: bool | None = None) -> Resource:
        """Resource ``name`` as `Analyze` receives it, with ``props`` in place of its inputs if given."""
        r = self.registered(name)
        return _resource(r, r.wire_json if props is None else props, r.protect if protect is None else protect)

    def resources(self) -> list[Resource]:
        """Every resource as `Analyze` receives it, unchanged."""
        return [_resource(r, r.wire_json, r.protect) for r in self._custom()]

    def stack(self, containers: Mapping[str, Mapping[str, Any]] | None = None) -> list[Resource]:
        """Every resource as `AnalyzeStack` receives it, like the gate sends it.

        Containers carry their inputs: ``containers`` (by docker name, e.g. a mutated
        ``containers()``) when given, and a container missing from it is left out. Other
        resources carry their outputs under their inputs.
        """
        containers = self.containers() if containers is None else containers
        out = []
        for r in self._custom():
            if r.type != CONTAINER:
                out.append(_resource(r, {**r.outputs, **r.wire_json}, r.protect))
            elif (r.docker_name or r.name) in containers:
                out.append(_resource(r, containers[r.docker_name or r.name], r.protect))
        return out

    def stack_changed(self, edits: Mapping[str, Mapping[str, Any]]) -> list[Resource]:
        """`stack()` with ``edits`` ({name: changes}) applied to containers and other resources alike."""
        containers = self.containers()
        out = []
        for res in self.stack({n: changed(p, edits.get(n, {})) for n, p in containers.items()}):
            r = self.registered_urn(res.urn or "")
            name = next((n for n in (r.docker_name, r.name) if n in edits), None)
            if r.type != CONTAINER and name is not None:
                res = dataclasses.replace(res, properties=changed(res.properties, edits[name]))
            out.append(res)
        return out

    def registered_urn(self, urn: str) -> Registered:
        """A resource by URN."""
        [found] = [r for r in self._custom() if r.urn == urn]
        return found


def _resource(r: Registered, props: Mapping[str, Any], protect: bool) -> Resource:
    return Resource(
        type=r.type,
        name=r.name,
        properties=copy.deepcopy(dict(props)),
        urn=r.urn,
        protect=protect,
        parent=r.parent or None,
        dependencies=tuple(r.dependencies),
    )


def prod_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """policies/config/prod.json with ``overrides`` layered on top, policy by policy, knob by knob."""
    config = load_policy_config(CONFIG_DIR / "prod.json")
    for name, value in (overrides or {}).items():
        base = config.get(name)
        layered = {"enforcementLevel": base} if isinstance(base, str) else dict(base or {})
        layered.update({"enforcementLevel": value} if isinstance(value, str) else value)
        config[name] = layered
    return config


def configure_prod(pack: PolicyPackAnalyzer, overrides: Mapping[str, Any] | None = None) -> None:
    """Configure ``pack`` with prod.json plus ``overrides`` (not instead of prod.json)."""
    pack.configure(prod_config(overrides))


def _identity(d: Diagnostic) -> tuple[str, str, str]:
    return (d.policy_name, d.urn, d.message)


def added(result: AnalyzeResult, before: AnalyzeResult | Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics of ``result`` that ``before`` (the unmutated baseline's) did not have."""
    seen = {_identity(d) for d in (before.diagnostics if isinstance(before, AnalyzeResult) else before)}
    return [d for d in result.diagnostics if _identity(d) not in seen]
