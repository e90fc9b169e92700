"""The gate's three faces: a terminal summary, Markdown for a PR comment or job summary, JSON.

Verdict first (one line with counts), then the violations grouped per policy, then the
inventory (a collapsed `<details>` in Markdown).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from tools.analyzer import Diagnostic
from tools.gate.run import Row, StackReport

COLUMNS = ("type", "name", "protect", "image", "cpus", "memory", "gpu", "ports", "routes")


IMAGE_CELL = 45
"""The text table's image column: a longer reference shows its last path segment and tag
(`nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-…` as `…/dcgm-exporter:4.2.3-…`); Markdown and JSON
keep it whole."""


def _image_cell(ref: str) -> str:
    if len(ref) <= IMAGE_CELL or "/" not in ref:
        return ref
    return "…/" + ref.rsplit("/", 1)[1]


def _cells(row: Row) -> list[str]:
    return [
        "yes"
        if c == "protect" and row.protect
        else ""
        if c == "protect"
        else _image_cell(str(row.image))
        if c == "image"
        else str(getattr(row, c))
        for c in COLUMNS
    ]


def _first_line(text: str) -> str:
    return " ".join(text.split())


WIDTH = 110
"""Wrap prose at this width: a violation never makes a 250-character line in a log or a summary."""


@dataclass(frozen=True)
class Group:
    """One policy's violations in a stack: said once, with every resource it affects."""

    level: str
    policy: str
    what: str
    resources: tuple[str, ...]
    details: tuple[tuple[str, str], ...]
    """(resource, what is wrong with it); ("each", …) when that differs only by the resource's name."""
    fix: str


def _resource(d: Diagnostic, stack: str) -> str:
    return d.urn.rsplit("::", 1)[-1] or f"stack {stack}"


def groups(diagnostics: Sequence[Diagnostic], stack: str) -> list[Group]:
    """Group by level and policy; the rule's description and a shared fix appear once."""
    keyed: dict[tuple[str, str], list[Diagnostic]] = {}
    for d in diagnostics:
        keyed.setdefault((d.enforcement_level, d.policy_name), []).append(d)
    out = []
    for (level, policy), found in keyed.items():
        what = _first_line(found[0].description)
        names, rests, fixes = [], [], []
        for d in found:
            rest = _first_line(d.message).removeprefix(what).strip()
            rest, _, fix = rest.partition(" Fix: ")
            names.append(_resource(d, stack))
            rests.append(rest)
            fixes.append(fix)
        templated = {r.replace(n, "…") if n else r for n, r in zip(names, rests, strict=True)}
        fix = fixes[0] if len(set(fixes)) == 1 else ""
        details: tuple[tuple[str, str], ...] = ()
        if not fix or len(templated) > 1:  # each says something of its own
            details = tuple((n, f"{r} Fix: {f}" if not fix else r) for n, r, f in zip(names, rests, fixes, strict=True))
        elif rests[0]:  # the same words for each: once, naming no one
            details = ((names[0] if len(names) == 1 else "each", next(iter(templated))),)
        out.append(Group(level, policy, what, tuple(sorted(names)), details, fix))
    out.sort(key=lambda g: (g.level != "mandatory", g.policy))
    return out


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False)


def _group_text(g: Group) -> list[str]:
    out = _wrap(f"{g.level.upper()} {g.policy}: {g.what}", "")
    out += _wrap(f"affected ({len(g.resources)}): {', '.join(g.resources)}", "  ")
    out += [line for name, detail in g.details for line in _wrap(f"{name}: {detail}", "  ")]
    return out + (_wrap(f"fix: {g.fix}", "  ") if g.fix else [])


def code(text: str) -> str:
    """A Markdown code span that keeps every backtick of `text` (e.g. Host(`a.example.com`))."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _group_markdown(g: Group) -> list[str]:
    icon = "❌" if g.level == "mandatory" else "⚠️"
    out = _wrap(f"- {icon} **{g.level}** `{g.policy}`: {g.what}", "")
    out += _wrap(f"- affected ({len(g.resources)}): {', '.join(g.resources)}", "  ")
    out += [line for name, detail in g.details for line in _wrap(f"- {name}: {detail}", "  ")]
    return out + (_wrap(f"- fix: {g.fix}", "  ") if g.fix else [])


def _table(r: StackReport) -> list[str]:
    table = [[c.upper() for c in COLUMNS]] + [_cells(row) for row in r.rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table]


def inventory_line(r: StackReport) -> str:
    """What the stack holds, in one line: resources, containers, and the GPUs they get."""
    containers = [row for row in r.rows if row.type == "Container"]
    gpus = ", ".join(f"{row.name} {row.gpu}" for row in containers if row.gpu) or "no GPU"
    return f"{len(r.rows)} resources, {len(containers)} containers ({gpus})"


def text(reports: Sequence[StackReport]) -> str:
    """Per stack: the verdict, then the violations by policy, then the inventory."""
    out: list[str] = []
    for r in reports:
        out.append(f"== stack {r.stack} ==")
        out.append(_verdict(r))
        if r.error:
            out.append(f"ERROR: {r.error}")
        out += [line for note in r.notes for line in _wrap(f"note: {note}", "")]
        for g in groups(r.mandatory + r.advisory, r.stack):
            out += _group_text(g)
        if r.rows:  # a stack that failed before registering anything has no table
            out.append(f"inventory: {inventory_line(r)}")
            out += _table(r)
        out.append("")
    return "\n".join(out)


KNOWN_ERRORS = ("SettingsError: ", "StackFileError: ")
"""Errors that already say what is wrong and where: their type name is noise in the verdict."""


def first_problem(error: str) -> str:
    """One line for the verdict: the error's heading with its first listed problem, never a bare colon."""
    head, *rest = [line.strip() for line in error.splitlines() if line.strip()]
    for prefix in KNOWN_ERRORS:
        head = head.removeprefix(prefix)
    items = [line.removeprefix("- ") for line in rest]
    if items:
        more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
        head = f"{head.rstrip(':')}: {items[0]}{more}"
    return head.rstrip(":")


def _verdict(r: StackReport) -> str:
    if r.error:
        return f"stack {r.stack}: FAILED: {first_problem(r.error)}"
    state = "PASSED" if r.passed else "FAILED"
    return f"stack {r.stack}: {state}: {len(r.mandatory)} mandatory, {len(r.advisory)} advisory violations"


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def _md_cells(row: Row) -> list[str]:
    cells = [_md(c) for c in _cells(row)]
    if row.routes:  # rules are Traefik syntax with backticks: code spans keep them
        cells[COLUMNS.index("routes")] = ", ".join(_md(code(rule)) for rule in row.routes.split(", "))
    return cells


def overall(reports: Sequence[StackReport]) -> str:
    """One line for every stack together: the verdict and the counts."""
    failed = [r.stack for r in reports if not r.passed]
    mandatory = sum(len(r.mandatory) for r in reports)
    advisory = sum(len(r.advisory) for r in reports)
    stacks = f"{len(reports)} stack{'s' if len(reports) != 1 else ''}"
    verdict = f"❌ FAILED ({len(failed)} of {stacks})" if failed else f"✅ PASSED ({stacks})"
    errors = sum(1 for r in reports if r.error)
    broken = f", {errors} not evaluated" if errors else ""
    return f"{verdict}: {mandatory} mandatory, {advisory} advisory violations{broken}"


def markdown(reports: Sequence[StackReport]) -> str:
    """The verdict first (with the stacks that failed), then per stack its verdict, notes and
    violations by policy, and the inventory in a collapsed `<details>`."""
    out = [f"## ai-stack offline policy gate: {overall(reports)}", ""]
    failed = [r for r in reports if not r.passed]
    if failed:  # what needs fixing first, before any table
        out += [f"**{len(failed)} of {len(reports)} stacks failed:** " + ", ".join(f"`{r.stack}`" for r in failed), ""]
    for r in reports:
        icon = "✅" if r.passed else "❌"
        out += [f"### {icon} {_verdict(r)}", ""]
        if r.error:
            out += ["```", r.error, "```", ""]
        out += [f"- {note}" for note in r.notes] + ([""] if r.notes else [])
        found = groups(r.mandatory + r.advisory, r.stack)
        for g in found:
            out += _group_markdown(g)
        if found:
            out.append("")
        if r.rows:
            out += [f"<details><summary>Inventory of {r.stack}: {_md(inventory_line(r))}</summary>", ""]
            out.append("| " + " | ".join(COLUMNS) + " |")
            out.append("|" + "---|" * len(COLUMNS))
            out += ["| " + " | ".join(_md_cells(row)) + " |" for row in r.rows]
            out += ["", "</details>", ""]
    return "\n".join(out)


def as_json(reports: Sequence[StackReport]) -> str:
    return json.dumps(
        [
            {
                "stack": r.stack,
                "passed": r.passed,
                "error": r.error,
                "resources": [asdict(row) for row in r.rows],
                "violations": [asdict(d) for d in r.diagnostics],
            }
            for r in reports
        ],
        indent=2,
    )
