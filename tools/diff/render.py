"""The diff's three faces: a table like `pulumi preview`'s, a PR-summary section, JSON."""

from __future__ import annotations

import json
from typing import Any

from tools.diff.compare import SYMBOL, Diff, Item, Op
from tools.diff.mermaid import diagram

RED = "🔴"


def _props(item: Item, code: bool = False) -> str:
    def one(p: str) -> str:
        name = f"`{p}`" if code else p
        return f"{name} (forces replace)" if p in item.forcing else name

    return ", ".join(one(p) for p in item.properties)


def summary(d: Diff) -> str:
    ops: tuple[Op, ...] = ("create", "update", "replace", "delete")
    counts = ", ".join(f"{d.count(op)} to {op}" for op in ops)
    return f"{counts}, {d.unchanged} unchanged"


def _heading(d: Diff) -> str:
    base = f"{d.base} (no Pulumi.{d.stack}.yaml there: everything is new)" if d.base_missing else d.base
    return f"stack {d.stack}: offline diff against {base}"


def text(d: Diff) -> str:
    out = [f"== {_heading(d)} =="]
    if not d.items:
        out.append("no changes")
    rows = [(SYMBOL[i.op], i.short_type, i.name, i.op, _props(i)) for i in d.items]
    widths = [max([len(r[c]) for r in rows] + [0]) for c in range(4)]
    for item, row in zip(d.items, rows, strict=True):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=False)) + "  " + row[4])
        out += [f"{'':{widths[0]}}    {cost}" for cost in item.costs]
        out += [f"{'':{widths[0]}}    !! {flag}" for flag in item.flags]
    for oc in d.options:
        changed = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in oc.changes.items())
        out.append(f"   options of {oc.name}: {changed} (no provider change)")
        out += [f"    !! {flag}" for flag in oc.flags]
    out.append(f"Resources: {summary(d)}")
    return "\n".join(out).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(d: Diff) -> str:
    flags = d.flags
    icon = RED if flags else ("✅" if not d.items else "🔁")
    out = [f"### {icon} {_heading(d)}", "", f"**{summary(d)}**", ""]
    if flags:
        out += [f"{RED} **{_cell(name)}: {_cell(flag)}**  " for name, flag in flags] + [""]
    if d.items:
        out += ["| | resource | type | op | properties | what it costs |", "|---|---|---|---|---|---|"]
        for i in d.items:
            name = f"{RED} **{_cell(i.name)}**" if i.flags else _cell(i.name)
            costs = "<br>".join(_cell(c) for c in i.costs)
            out.append(f"| `{SYMBOL[i.op]}` | {name} | {i.short_type} | {i.op} | {_props(i, code=True)} | {costs} |")
        out.append("")
    if d.options:
        out += [
            f"<details><summary>{len(d.options)} resource option changes (recorded, no provider change)</summary>",
            "",
        ]
        for oc in d.options:
            changed = ", ".join(f"`{k}`: {a!r} → {b!r}" for k, (a, b) in oc.changes.items())
            out.append(f"- {_cell(oc.name)}: {_cell(changed)}")
        out += ["", "</details>", ""]
    if d.head is not None:
        out += ["```mermaid", diagram(d), "```", ""]
    return "\n".join(out)


def as_json(d: Diff) -> dict[str, Any]:
    """`changes` holds name/type/op/properties only; the rest is under `notes`, keyed the same."""
    return {
        "stack": d.stack,
        "base": d.base,
        "baseHasStack": not d.base_missing,
        "changes": [{"name": i.name, "type": i.type, "op": i.op, "properties": list(i.properties)} for i in d.items],
        "notes": [
            {"name": i.name, "type": i.type, "forcing": list(i.forcing), "costs": list(i.costs), "flags": list(i.flags)}
            for i in d.items
            if i.forcing or i.costs or i.flags
        ],
        "options": [
            {
                "name": o.name,
                "type": o.type,
                "changes": {k: list(v) for k, v in o.changes.items()},
                "flags": list(o.flags),
            }
            for o in d.options
        ],
        "unchanged": d.unchanged,
    }


def dumps(d: Diff) -> str:
    return json.dumps(as_json(d), indent=2, default=str)
