"""The diff's three faces: a table like `pulumi preview --diff`'s, a PR-summary section, JSON.

Every face is scrubbed by the diff's `Redactor` last, so no secret value reaches any output.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tools.diff.compare import SYMBOL, Diff, Item, Op
from tools.diff.mermaid import diagram
from tools.diff.props import Detail

RED = "🔴"
WARN = "⚠️"
FORCES = "(forces replace)"
MAX_FORCED = 4
"""How many forcing changes the header line names before it says how many more."""


def detail_line(d: Detail, forcing: bool) -> str:
    """`~ envs[WEBUI_URL]: a → b`, `+ labels[x]: v`, `- uploads[/f]: 3 lines`, with a note."""
    if d.kind == "+":
        body = f"+ {d.path}: {d.new}"
    elif d.kind == "-":
        body = f"- {d.path}: {d.old}"
    else:
        body = f"~ {d.path}: {d.old} → {d.new}"
    tail = [f"({d.note})"] if d.note else []
    return " ".join([body, *tail, *([FORCES] if forcing else [])])


def lines_of(item: Item) -> list[str]:
    return [detail_line(d, d.prop in item.forcing) for d in item.details]


def headline(item: Item) -> str:
    """What changed, in the table's last column: what forces a replacement, or which properties."""
    if item.op == "replace" and item.forcing:
        forced = list(item.forced_by) or list(item.forcing)
        more = f" and {len(forced) - MAX_FORCED} more" if len(forced) > MAX_FORCED else ""
        return "forced by " + ", ".join(forced[:MAX_FORCED]) + more
    return ", ".join(item.properties)


def summary(d: Diff) -> str:
    ops: tuple[Op, ...] = ("create", "update", "replace", "delete")
    counts = ", ".join(f"{d.count(op)} to {op}" for op in ops)
    extra = f", {len(d.warnings)} will not take effect" if d.warnings else ""
    return f"{counts}, {d.unchanged} unchanged{extra}"


def _heading(d: Diff) -> str:
    base = f"{d.base} (no Pulumi.{d.stack}.yaml there: everything is new)" if d.base_missing else d.base
    return f"stack {d.stack}: offline diff against {base}"


def text(d: Diff) -> str:
    out = [f"== {_heading(d)} =="]
    if not d.items:
        out.append("no changes")
    # The host column when the change spans several Docker hosts (JSON always names it).
    hosts = any(i.host != "main" for i in d.items)
    rows = [(SYMBOL[i.op], i.short_type, *([i.host] if hosts else []), i.name, i.op, headline(i)) for i in d.items]
    n = len(rows[0]) - 1 if rows else 0
    widths = [max([len(r[c]) for r in rows] + [0]) for c in range(n)]
    pad = " " * (widths[0] + 4) if rows else ""
    for item, row in zip(d.items, rows, strict=True):
        cells = "  ".join(cell.ljust(w) for cell, w in zip(row[:n], widths, strict=False))
        out.append(f"{cells}  {row[n]}".rstrip())
        out += [pad + line for line in lines_of(item)]
        out += [f"{pad}why: {reason}" for reason in item.reasons]
        out += [f"{pad}warning: {warning}" for warning in item.warnings]
        out += [pad + cost for cost in item.costs]
        out += [f"{pad}!! {flag}" for flag in item.flags]
    for oc in d.options:
        changed = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in oc.changes.items())
        out.append(f"   options of {oc.name}: {changed} (no provider change)")
        out += [f"    !! {flag}" for flag in oc.flags]
    out.append(f"Resources: {summary(d)}")
    return d.redactor.text("\n".join(out).rstrip() + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    """A code span that keeps backticks and pipes readable inside a table cell."""
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return _cell(f"{fence}{pad}{text}{pad}{fence}")


def _fenced(lines: list[str], lang: str) -> list[str]:
    longest = max((len(r) for line in lines for r in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", *lines, fence]


def _item_section(i: Item) -> list[str]:
    on = "" if i.host == "main" else f" on {i.host}"
    head = f"#### `{SYMBOL[i.op]}` {i.name}{on} ({i.short_type}): {i.op}"
    if i.op == "replace" and i.forcing:
        head += ", " + headline(i)
    out = [_cell(head), ""]
    out += [f"{RED} **{_cell(flag)}**  " for flag in i.flags]
    out += [f"{WARN} {_cell(w)}  " for w in i.warnings]
    out += [f"ℹ️ {_cell(r)}  " for r in i.reasons]
    if i.details:
        out += ["", *_fenced(lines_of(i), "diff")]
    return [*out, ""]


def markdown(d: Diff) -> str:
    flags = d.flags
    icon = RED if flags else (WARN if d.warnings else "✅" if not d.items else "🔁")
    out = [f"### {icon} {_heading(d)}", "", f"**{summary(d)}**", ""]
    if flags:
        out += [f"{RED} **{_cell(name)}: {_cell(flag)}**  " for name, flag in flags] + [""]
    if d.warnings:
        out += [f"{WARN} **{_cell(name)}: {_cell(w)}**  " for name, w in d.warnings] + [""]
    if d.items:
        hosts = any(i.host != "main" for i in d.items)
        head = "| | host | resource | type | op | change | what it costs |" if hosts else ""
        out += [
            head or "| | resource | type | op | change | what it costs |",
            "|---|---|---|---|---|---|---|" if hosts else "|---|---|---|---|---|---|",
        ]
        for i in d.items:
            name = f"{RED} **{_cell(i.name)}**" if i.flags else _cell(i.name)
            costs = "<br>".join(_cell(c) for c in i.costs)
            change = _code(headline(i)) if headline(i) else ""
            where = f" {_cell(i.host)} |" if hosts else ""
            out.append(f"| `{SYMBOL[i.op]}` |{where} {name} | {i.short_type} | {i.op} | {change} | {costs} |")
        out.append("")
        for i in d.items:
            if i.details or i.warnings or i.reasons:
                out += _item_section(i)
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
    return d.redactor.text("\n".join(out))


def _detail_json(d: Detail, item: Item) -> dict[str, Any]:
    return {
        "path": d.path,
        "kind": {"~": "changed", "+": "added", "-": "removed"}[d.kind],
        "old": d.old,
        "new": d.new,
        "note": d.note,
        "forcesReplace": d.prop in item.forcing,
    }


def as_json(d: Diff) -> dict[str, Any]:
    """One entry per change, with its property-level details; secrets are `[secret]`."""
    doc = {
        "stack": d.stack,
        "base": d.base,
        "baseHasStack": not d.base_missing,
        "summary": summary(d),
        "changes": [
            {
                "name": i.name,
                "host": i.host,
                "type": i.type,
                "op": i.op,
                "urn": i.urn,
                "properties": list(i.properties),
                "forcedBy": list(i.forced_by) if i.op == "replace" else [],
                "details": [_detail_json(x, i) for x in i.details],
                "warnings": list(i.warnings),
                "reasons": list(i.reasons),
                "costs": list(i.costs),
                "flags": list(i.flags),
            }
            for i in d.items
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
    scrubbed: dict[str, Any] = d.redactor.json(json.loads(json.dumps(doc, default=str)))
    return scrubbed


def dumps(d: Diff) -> str:
    return json.dumps(as_json(d), indent=2)
