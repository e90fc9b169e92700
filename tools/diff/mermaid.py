"""A Mermaid flowchart of the stack after the change: networks, containers, routes, volumes.

Changed resources carry their op (`+`, `~`, `+-`, `-`) and a colour; deleted ones come from
the base; a legend says what each shape and colour means. Every resource is named as in the
gate and the diff's table (`tools.names`). GitHub renders ```mermaid blocks in job summaries
and PR comments.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tools import provider
from tools.diff.compare import SYMBOL, Diff
from tools.names import display_name
from tools.offline import Evaluation, Registered

STYLES = {
    "create": "fill:#d3f9d8,stroke:#2b8a3e",
    "update": "fill:#fff3bf,stroke:#e67700",
    "replace": "fill:#ffd8a8,stroke:#d9480f",
    "delete": "fill:#ffe3e3,stroke:#c92a2a,stroke-dasharray:4 3",
    "flagged": "stroke:#e03131,stroke-width:4px",
}


def _on(r: Registered, name: str) -> str:
    """A name on the resource's own host: bare on the main host, `gpu-2/…` on another (each
    engine has its own networks and volumes, whatever their names)."""
    return name if r.host == "main" else f"{r.host}/{name}"


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
    deleted = {i.urn for i in d.items if i.op == "delete"}
    if d.base_eval is not None:
        out += [(r, d.base_eval) for r in d.base_eval.resources if r.custom and r.urn in deleted]
    return out


LEGEND = (
    ("create", "+ created"),
    ("update", "~ updated in place"),
    ("replace", "+- replaced"),
    ("delete", "- deleted"),
    ("flagged", "red border: protected data or a secret at stake"),
)


def _legend() -> list[str]:
    """A legend subgraph: the shapes, then one node per colour."""
    lines = [
        '  subgraph legend["legend"]',
        "    direction LR",
        f"    lg_ctr[{_label('container')}]",
        f"    lg_net{{{{{_label('network')}}}}}",
        f"    lg_vol[({_label('volume')})]",
        f"    lg_route>{_label('route (Traefik rule)')}]",
    ]
    lines += [f"    lg_{cls}[{_label(text)}]" for cls, text in LEGEND]
    lines.append("  end")
    return lines


def diagram(d: Diff) -> str:
    ops = {i.urn: i.op for i in d.items}
    flagged = {i.urn for i in d.items if i.flags} | {
        r.urn for r, _ in _resources(d) if display_name(r) in {o.name for o in d.options if o.flags}
    }
    lines = ["flowchart LR"]
    classes: list[tuple[str, str]] = []
    edges: list[str] = []
    networks: dict[str, str] = {}

    def mark(node: str, urn: str) -> None:
        if urn in ops:
            classes.append((node, ops[urn]))
        if urn in flagged:
            classes.append((node, "flagged"))

    def tag(urn: str) -> str:
        return f"{SYMBOL[ops[urn]]} " if urn in ops else ""

    def network(name: str) -> str:
        if name not in networks:
            networks[name] = _id("net", name)
            lines.append(f"  {networks[name]}{{{{{_label('network ' + name)}}}}}")
        return networks[name]

    resources = _resources(d)
    for r, _ in resources:
        if r.type == provider.NETWORK:
            node = network(_on(r, display_name(r)))
            lines[-1] = f"  {node}{{{{{_label(tag(r.urn) + 'network ' + _on(r, display_name(r)))}}}}}"
            mark(node, r.urn)
        elif r.type == provider.VOLUME:
            node = _id("vol", _on(r, display_name(r)))
            lines.append(f"  {node}[({_label(tag(r.urn) + _on(r, display_name(r)))})]")
            mark(node, r.urn)
    traefik = None
    for r, ev in resources:
        if r.type != provider.CONTAINER:
            continue
        name = _on(r, display_name(r))
        node = _id("ctr", name)
        if r.inputs.get("name") == "traefik" and r.host == "main":
            traefik = node
        image = ev.image_refs().get(str(r.inputs.get("image")), "")
        lines.append(f"  {node}[{_label(tag(r.urn) + name, image)}]")
        mark(node, r.urn)
        edges += _container_edges(r, node, network)
    for n, edge in enumerate(e for e in edges if e.startswith("ROUTE ")):
        _, target, rule = edge.split(" ", 2)
        route = f"route_{n}"
        lines.append(f"  {route}>{_label(rule)}]")
        edges.append(f"  {traefik or 'internet'} --> {route} --> {target}")
        if traefik is None and n == 0:
            lines.append(f"  internet(({_label('clients')}))")
    lines += [e for e in edges if not e.startswith("ROUTE ")]
    lines += _legend()
    classes += [(f"lg_{cls}", cls) for cls, _ in LEGEND]
    for cls, style in STYLES.items():
        lines.append(f"  classDef {cls} {style}")
    lines += [f"  class {node} {cls}" for node, cls in classes]
    return "\n".join(lines)


def _container_edges(r: Registered, node: str, network: Callable[[str], str]) -> list[str]:
    i = r.inputs
    out = [f"  {node} --- {network(_on(r, str(n.get('name'))))}" for n in i.get("networksAdvanced") or []]
    for v in i.get("volumes") or []:
        if v.get("volumeName"):
            out.append(f"  {node} --> {_id('vol', _on(r, str(v['volumeName'])))}")
    out += [f"ROUTE {node} {_rule(rule)}" for rule in r.route_rules]
    return out
