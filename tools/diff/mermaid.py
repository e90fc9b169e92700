"""A Mermaid flowchart of the stack after the change: networks, containers, routes, volumes.

Changed resources carry their op (`+`, `~`, `+-`, `-`) and a colour; deleted ones come from
the base. GitHub renders ```mermaid blocks in job summaries and PR comments.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tools import provider
from tools.diff.compare import SYMBOL, Diff
from tools.offline import Evaluation, Registered

STYLES = {
    "create": "fill:#d3f9d8,stroke:#2b8a3e",
    "update": "fill:#fff3bf,stroke:#e67700",
    "replace": "fill:#ffd8a8,stroke:#d9480f",
    "delete": "fill:#ffe3e3,stroke:#c92a2a,stroke-dasharray:4 3",
    "flagged": "stroke:#e03131,stroke-width:4px",
}


def _id(kind: str, name: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _label(*lines: str) -> str:
    """A quoted node label; quotes and backticks as Mermaid entity codes."""
    text = "<br/>".join(lines)
    return '"' + text.replace('"', "#quot;").replace("`", "#96;") + '"'


def _rule(value: str) -> str:
    """A router rule without its backticks: Host(`a.example.com`) -> Host(a.example.com)."""
    return value.replace("`", "")


def _resources(d: Diff) -> list[tuple[Registered, Evaluation]]:
    assert d.head is not None
    out = [(r, d.head) for r in d.head.resources if r.custom]
    deleted = {i.name for i in d.items if i.op == "delete"}
    if d.base_eval is not None:
        out += [(r, d.base_eval) for r in d.base_eval.resources if r.custom and r.name in deleted]
    return out


def diagram(d: Diff) -> str:
    ops = {i.name: i.op for i in d.items}
    flagged = {i.name for i in d.items if i.flags} | {o.name for o in d.options if o.flags}
    lines = ["flowchart LR"]
    classes: list[tuple[str, str]] = []
    edges: list[str] = []
    networks: dict[str, str] = {}

    def mark(node: str, name: str) -> None:
        if name in ops:
            classes.append((node, ops[name]))
        if name in flagged:
            classes.append((node, "flagged"))

    def tag(name: str) -> str:
        return f"{SYMBOL[ops[name]]} " if name in ops else ""

    def network(name: str) -> str:
        if name not in networks:
            networks[name] = _id("net", name)
            lines.append(f"  {networks[name]}{{{{{_label('network ' + name)}}}}}")
        return networks[name]

    resources = _resources(d)
    for r, _ in resources:
        if r.type == provider.NETWORK:
            node = network(str(r.inputs.get("name", r.name)))
            lines[-1] = f"  {node}{{{{{_label(tag(r.name) + 'network ' + str(r.inputs.get('name')))}}}}}"
            mark(node, r.name)
        elif r.type == provider.VOLUME:
            node = _id("vol", r.docker_name or r.name)
            lines.append(f"  {node}[({_label(tag(r.name) + (r.docker_name or r.name))})]")
            mark(node, r.name)
    traefik = None
    for r, ev in resources:
        if r.type != provider.CONTAINER:
            continue
        name = r.docker_name or r.name
        node = _id("ctr", name)
        if r.inputs.get("name") == "traefik":
            traefik = node
        image = ev.image_refs().get(str(r.inputs.get("image")), "")
        lines.append(f"  {node}[{_label(tag(r.name) + name, image)}]")
        mark(node, r.name)
        edges += _container_edges(r, node, network)
    for n, edge in enumerate(e for e in edges if e.startswith("ROUTE ")):
        _, target, rule = edge.split(" ", 2)
        route = f"route_{n}"
        lines.append(f"  {route}>{_label(rule)}]")
        edges.append(f"  {traefik or 'internet'} --> {route} --> {target}")
        if traefik is None and n == 0:
            lines.append(f"  internet(({_label('clients')}))")
    lines += [e for e in edges if not e.startswith("ROUTE ")]
    for cls, style in STYLES.items():
        lines.append(f"  classDef {cls} {style}")
    lines += [f"  class {node} {cls}" for node, cls in classes]
    return "\n".join(lines)


def _container_edges(r: Registered, node: str, network: Callable[[str], str]) -> list[str]:
    i = r.inputs
    out = [f"  {node} --- {network(str(n.get('name')))}" for n in i.get("networksAdvanced") or []]
    for v in i.get("volumes") or []:
        if v.get("volumeName"):
            out.append(f"  {node} --> {_id('vol', str(v['volumeName']))}")
    out += [f"ROUTE {node} {_rule(rule)}" for rule in r.route_rules]
    return out
