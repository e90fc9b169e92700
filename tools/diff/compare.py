"""What `pulumi up` would do to go from the base's state to the head's program, and what it costs.

Resources are matched by URN. The base side is the state the provider would have stored
(`provider.read_back` of the base's inputs), the head side is the new inputs, and the
provider model (`tools.provider.diff`, with each resource's replaceOnChanges) classifies each
change as the real preview would. Resource options (protect, retainOnDelete, …) are not
provider properties: changing one alone is a "same" step whose state is rewritten
(pulumi pkg/backend/snapshot.go, mustWrite: "If the protection attribute of this resource has
changed"), so they are reported as notes, not as changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from tools import provider
from tools.offline import Evaluation, Registered

Op = Literal["create", "update", "replace", "delete"]
SYMBOL: dict[str, str] = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
ORDER = ("replace", "delete", "update", "create")
OPTIONS = ("protect", "retain_on_delete", "delete_before_replace", "replace_on_changes", "custom_timeouts")


@dataclass(frozen=True)
class Item:
    name: str
    """The Pulumi resource name."""
    type: str
    op: Op
    properties: tuple[str, ...] = ()
    """Top-level inputs that differ."""
    forcing: tuple[str, ...] = ()
    """Those that force the replacement."""
    costs: tuple[str, ...] = ()
    """What the change means while it runs: downtime, waits, re-runs."""
    flags: tuple[str, ...] = ()
    """What must not happen unnoticed: protected resources, regenerated secrets, dropped volumes."""
    docker_name: str | None = None

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class OptionChange:
    name: str
    type: str
    changes: dict[str, tuple[Any, Any]]
    flags: tuple[str, ...] = ()


@dataclass
class Diff:
    stack: str
    base: str
    items: list[Item]
    options: list[OptionChange] = field(default_factory=list)
    unchanged: int = 0
    base_missing: bool = False
    head: Evaluation | None = None
    base_eval: Evaluation | None = None

    @property
    def flags(self) -> list[tuple[str, str]]:
        out = [(i.name, f) for i in self.items for f in i.flags]
        return out + [(o.name, f) for o in self.options for f in o.flags]

    def count(self, op: Op) -> int:
        return sum(1 for i in self.items if i.op == op)


def _embedded(value: Any, secrets: Mapping[str, str]) -> list[str]:
    """Names of the secrets (value -> name) whose value appears in `value`."""
    text = json.dumps(value, sort_keys=True)
    return [name for secret, name in secrets.items() if secret in text]


def _regenerated(old: Mapping[str, Registered], ops: Mapping[str, provider.Change]) -> dict[str, str]:
    """The current value of every RandomPassword being replaced -> its name."""
    return {
        str(old[urn].outputs["result"]): old[urn].name
        for urn, change in ops.items()
        if change.op == "replace" and old[urn].type == provider.RANDOM_PASSWORD and old[urn].outputs.get("result")
    }


def _seconds(value: Any) -> str:
    return f"{int(value)}s" if value not in (None, "") else "?"


def container_costs(r: Registered, op: Op, properties: tuple[str, ...]) -> tuple[str, ...]:
    i = r.inputs
    health = i.get("healthcheck") or {}
    wait = (
        f"up to {_seconds(i.get('waitTimeout'))} health wait (checks every {health.get('interval', '?')}, "
        f"start period {health.get('startPeriod', '?')})"
        if i.get("wait")
        else "no health wait"
    )
    if i.get("rm"):
        wait = wait.replace(" health wait (", " until it reports done (")
    models = next((e.split("=", 1)[1] for e in i.get("envs") or [] if e.startswith("MODELS=")), None)
    if op == "update":
        docker_update = [p for p in properties if p in provider.IN_PLACE[provider.CONTAINER]]
        state_only = [p for p in properties if p not in docker_update]
        out = [f"no restart: `docker update` of {', '.join(docker_update)}"] if docker_update else []
        return tuple(out + ([f"state only: {', '.join(state_only)}"] if state_only else []))
    if op != "replace":
        return (f"starts, then {wait}",) if op == "create" else ("stopped and removed",)
    if i.get("rm"):  # a run-once job: nothing is down, it simply runs again
        job = f"re-runs the model pull: {models}" if models is not None else "the run-once job runs again"
        return (f"{job}, {wait}",)
    out = []
    if r.delete_before_replace:
        out.append(
            f"delete-before-replace: down from its stop (≤{_seconds(i.get('destroyGraceSeconds'))} grace) "
            f"until healthy again, {wait}"
        )
    else:
        out.append(f"create-before-delete, then {wait}")
    return tuple(out)


def flags_for(r: Registered, op: Op, other: Registered | None) -> tuple[str, ...]:
    """Red flags: protected resources, regenerated secrets, volumes leaving the state."""
    out = []
    protected = r.protect or (other is not None and other.protect)
    if protected:
        refuse = " (`pulumi up` refuses until protect is lifted)" if op in ("replace", "delete") else ""
        out.append(f"{op}s protected resource {r.name}{refuse}")
    if r.type == provider.RANDOM_PASSWORD and op in ("replace", "delete"):
        out.append(f"regenerates the secret {r.name}: every container using it gets a new value")
    if r.type == provider.VOLUME and op == "replace":
        out.append(f"volume {r.docker_name or r.name} is replaced by a new, empty one")
    if r.type == provider.VOLUME and op == "delete" and r.retain_on_delete:
        out.append(f"volume {r.docker_name or r.name} leaves the state: kept on the host, no longer managed")
    elif r.type == provider.VOLUME and op == "delete":
        out.append(f"deletes volume {r.docker_name or r.name} and its data")
    return tuple(out)


def _options(old: Registered, new: Registered) -> OptionChange | None:
    changes = {o: (getattr(old, o), getattr(new, o)) for o in OPTIONS if getattr(old, o) != getattr(new, o)}
    if not changes:
        return None
    flags = []
    if old.protect and not new.protect:
        flags.append(f"lifts protect from {new.name}")
    if old.retain_on_delete and not new.retain_on_delete:
        flags.append(f"drops retainOnDelete from {new.name}: deleting it would delete it on the host")
    return OptionChange(new.name, new.type, changes, tuple(flags))


def _item(r: Registered, op: Op, change: provider.Change | None, other: Registered | None) -> Item:
    props = change.properties if change else ()
    costs: tuple[str, ...] = ()
    if r.type == provider.CONTAINER:
        costs = container_costs(r, op, props)
    elif r.type == provider.IMAGE and op in ("create", "replace"):
        costs = (f"pulls {r.inputs.get('name')}",)
    return Item(
        name=r.name,
        type=r.type,
        op=op,
        properties=props,
        forcing=change.forcing if change else (),
        costs=costs,
        flags=flags_for(r, op, other),
        docker_name=r.docker_name if r.type == provider.CONTAINER else None,
    )


def compare(stack: str, base_ref: str, base: Evaluation | None, head: Evaluation) -> Diff:
    old = {r.urn: r for r in base.resources if r.custom} if base else {}
    new = {r.urn: r for r in head.resources if r.custom}
    common = [u for u in new if u in old]
    uses: dict[str, list[str]] = {}
    """URN -> the regenerated secrets its new inputs embed."""

    def classify(secrets: Mapping[str, str]) -> dict[str, provider.Change]:
        out = {}
        for urn in common:
            o, n = old[urn], new[urn]
            stale = {k: found for k, v in n.inputs.items() if secrets and (found := _embedded(v, secrets))}
            uses[urn] = sorted({name for names in stale.values() for name in names})
            state = provider.read_back(o.type, o.inputs)
            out[urn] = provider.diff(
                n.type, state, n.inputs, n.replace_on_changes, old_inputs=o.inputs, unknown=list(stale)
            )
        return out

    # A replaced secret gets a new value at `up`: whatever embeds it is unknown at preview.
    ops = classify({})
    regenerated = _regenerated(old, ops)
    if regenerated:
        ops = classify(regenerated)
    items = [_item(new[u], "create", None, None) for u in new if u not in old]
    items += [_item(old[u], "delete", None, None) for u in old if u not in new]
    for urn, change in ops.items():
        if change.op in ("update", "replace"):
            item = _item(new[urn], cast(Op, change.op), change, old[urn])
            flags = [f"gets a new value of the regenerated {name}" for name in uses.get(urn, [])]
            items.append(replace(item, flags=item.flags + tuple(flags)))
    items.sort(key=lambda i: (ORDER.index(i.op), i.type != provider.CONTAINER, i.name))
    options = [oc for u in common if (oc := _options(old[u], new[u])) is not None]
    unchanged = sum(1 for c in ops.values() if c.op == "same")
    return Diff(stack, base_ref, items, options, unchanged, base is None, head, base)
