"""What `pulumi up` would do to go from the base's state to the head's program, and what it costs.

Resources are matched by URN. The base side is the state the provider would have stored
(`provider.read_back` of the base's inputs), the head side is the new inputs, and the
provider model (`tools.provider.diff`, with each resource's replaceOnChanges) classifies each
change as the real preview would. Each changed property is shown `old → new`, item by item
(`tools.diff.props`), secrets masked (`tools.diff.secrets`); changes a container will ignore
are warned about (`tools.diff.firstboot`). Resource options (protect, retainOnDelete, …) are not
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
from tools.diff import firstboot
from tools.diff.costs import container_costs, flags_for, notes
from tools.diff.props import Detail, details
from tools.diff.secrets import MIN_TOKEN, Redactor, Secret, mark
from tools.names import display_name
from tools.offline import Evaluation, Registered

Op = Literal["create", "update", "replace", "delete"]
SYMBOL: dict[str, str] = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
ORDER = ("replace", "delete", "update", "create")
OPTIONS = ("protect", "retain_on_delete", "delete_before_replace", "replace_on_changes", "custom_timeouts")


@dataclass(frozen=True)
class Item:
    name: str
    """The resource's one name (`tools.names.display_name`): its Docker name where it has one."""
    type: str
    op: Op
    properties: tuple[str, ...] = ()
    """Top-level inputs that differ."""
    forcing: tuple[str, ...] = ()
    """Those that force the replacement."""
    costs: tuple[str, ...] = ()
    """What the change means while it runs: downtime, waits, re-runs."""
    flags: tuple[str, ...] = ()
    """What must not happen unnoticed: protected data replaced or deleted, regenerated secrets."""
    docker_name: str | None = None
    urn: str = ""
    details: tuple[Detail, ...] = ()
    """Every changed property, `old → new`, item by item."""
    warnings: tuple[str, ...] = ()
    """Changes that will not take effect, and what to do instead."""
    reasons: tuple[str, ...] = ()
    """Why a change happens that the reader did not make here (an uploaded script runs a bumped image)."""
    host: str = "main"
    """The Docker host it lives on: `main`, or an inference host's key (its provider's name)."""

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def forced_by(self) -> tuple[str, ...]:
        """The changes that force the replacement, by path (`image`, `envs[WEBUI_URL]`)."""
        return tuple(d.path for d in self.details if d.prop in self.forcing)


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
    redactor: Redactor = field(default_factory=lambda: Redactor(()))

    @property
    def flags(self) -> list[tuple[str, str]]:
        out = [(i.name, f) for i in self.items for f in i.flags]
        return out + [(o.name, f) for o in self.options for f in o.flags]

    @property
    def warnings(self) -> list[tuple[str, str]]:
        return [(i.name, w) for i in self.items for w in i.warnings]

    def count(self, op: Op) -> int:
        return sum(1 for i in self.items if i.op == op)


def _embedded(value: Any, secrets: Mapping[str, str]) -> list[str]:
    """Names of the secrets (value -> name) whose value appears in `value`."""
    text = json.dumps(value, sort_keys=True)
    return [name for secret, name in secrets.items() if secret in text]


def _regenerated(old: Mapping[str, Registered], ops: Mapping[str, provider.Change]) -> dict[str, str]:
    """The current value of every RandomPassword being replaced -> its name."""
    return {
        str(old[urn].outputs["result"]): display_name(old[urn])
        for urn, change in ops.items()
        if change.op == "replace" and old[urn].type == provider.RANDOM_PASSWORD and old[urn].outputs.get("result")
    }


def _options(old: Registered, new: Registered) -> OptionChange | None:
    changes = {o: (getattr(old, o), getattr(new, o)) for o in OPTIONS if getattr(old, o) != getattr(new, o)}
    if not changes:
        return None
    flags = []
    name = display_name(new)
    if old.protect and not new.protect:
        flags.append(f"lifts protect from {name}")
    if old.retain_on_delete and not new.retain_on_delete:
        flags.append(f"drops retainOnDelete from {name}: deleting it would delete it on the host")
    return OptionChange(name, new.type, changes, tuple(flags))


def _item(r: Registered, op: Op, change: provider.Change | None, other: Registered | None) -> Item:
    props = change.properties if change else ()
    costs: tuple[str, ...] = ()
    if r.type == provider.CONTAINER:
        costs = container_costs(r, op, props)
    elif r.type == provider.IMAGE and op in ("create", "replace"):
        costs = (f"pulls {r.inputs.get('name')}",)
    return Item(
        name=display_name(r),
        type=r.type,
        op=op,
        properties=props,
        forcing=change.forcing if change else (),
        costs=costs + notes(r, op),
        flags=flags_for(r, op, other),
        docker_name=r.docker_name if r.type == provider.CONTAINER else None,
        urn=r.urn,
        host=r.name if r.type.startswith("pulumi:providers:") else r.host,
    )


def _view(r: Registered, refs: Mapping[str, str]) -> dict[str, Any]:
    """The state the provider keeps for `r`, secrets wrapped, a container's image id as its reference."""
    view: dict[str, Any] = mark(provider.read_back(r.type, r.inputs), r.wire_json)
    if r.type == provider.CONTAINER and isinstance(view.get("image"), str):
        view["image"] = refs.get(view["image"], view["image"])
    return view


def _upload_text(r: Registered, path: str) -> str:
    for u in r.inputs.get("uploads") or []:
        if u.get("file") == path and isinstance(u.get("content"), str):
            return str(u["content"])
    return ""


def _reasons(old: Registered, new: Registered, found: list[Detail], images: Mapping[str, str]) -> tuple[str, ...]:
    """An uploaded file changed because it runs an image this change bumps (the backup script)."""
    out = []
    for d in found:
        if d.prop != "uploads" or not d.path.startswith("uploads[") or "]." in d.path:
            continue
        path = d.path[len("uploads[") : -1]
        before, after = _upload_text(old, path), _upload_text(new, path)
        out += [
            f"its uploaded {path} runs {b} (was {a}), so it changes with that image"
            for a, b in images.items()
            if a in before and b in after
        ]
    return tuple(out)


def _env_names(found: list[Detail]) -> list[str]:
    return [d.path[len("envs[") : -1] for d in found if d.prop == "envs" and d.path.startswith("envs[")]


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
    redactor = Redactor.of(base, head)
    tokens = frozenset(t for t in regenerated if len(t) >= MIN_TOKEN)
    old_refs = base.image_refs() if base else {}
    new_refs = head.image_refs()
    images = {
        str(old[u].inputs.get("name")): str(new[u].inputs.get("name"))
        for u, c in ops.items()
        if c.op == "replace" and new[u].type == provider.IMAGE
    }
    kept = {
        old[u].docker_name
        for u in common
        if old[u].type == provider.VOLUME and ops[u].op != "replace" and old[u].docker_name
    }

    items = [_item(new[u], "create", None, None) for u in new if u not in old]
    items += [_item(old[u], "delete", None, None) for u in old if u not in new]
    for urn, change in ops.items():
        if change.op not in ("update", "replace"):
            continue
        o, n = old[urn], new[urn]
        item = _item(n, cast(Op, change.op), change, o)
        found = details(change.properties, _view(o, old_refs), _view(n, new_refs), redactor.text, tokens)
        flags = [f"gets a new value of the regenerated {name}" for name in uses.get(urn, [])]
        warns = []
        if n.type == provider.CONTAINER and n.docker_name:
            env = {k: v for k, v in firstboot.env_map(n.inputs.get("envs")).items() if not isinstance(v, Secret)}
            warns = [
                w.text()
                for w in firstboot.ineffective(n.docker_name, _env_names(found), env, volume_kept=kept.__contains__)
            ]
        items.append(
            replace(
                item,
                flags=item.flags + tuple(flags),
                details=tuple(found),
                warnings=tuple(redactor.text(w) for w in warns),
                reasons=tuple(redactor.text(r) for r in _reasons(o, n, found, images)),
            )
        )
    items.sort(key=lambda i: (ORDER.index(i.op), i.type != provider.CONTAINER, i.name))
    options = [oc for u in common if (oc := _options(old[u], new[u])) is not None]
    unchanged = sum(1 for c in ops.values() if c.op == "same")
    return Diff(stack, base_ref, items, options, unchanged, base is None, head, base, redactor)
