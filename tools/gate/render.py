"""The gate's three faces: a terminal table, Markdown for a PR comment or job summary, JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from tools.gate.run import Row, StackReport

COLUMNS = ("type", "name", "image", "cpus", "memory", "gpu", "ports", "routes")


def _cells(row: Row) -> list[str]:
    cells = [str(getattr(row, c)) for c in COLUMNS]
    if row.protect:
        cells[1] += " [protected]"
    return cells


def _first_line(text: str) -> str:
    return " ".join(text.split())


def text(reports: Sequence[StackReport]) -> str:
    out: list[str] = []
    for r in reports:
        out.append(f"== stack {r.stack} ==")
        if r.rows:  # a stack that failed before registering anything has no table
            table = [list(c.upper() for c in COLUMNS)] + [_cells(row) for row in r.rows]
            widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
            for line in table:
                out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if r.error:
            out.append(f"ERROR: {r.error}")
        for d in r.mandatory + r.advisory:
            out.append(
                f"{d.enforcement_level.upper():9} {d.policy_name}  {d.urn.rsplit('::', 1)[-1] or r.stack}: "
                f"{_first_line(d.message)}"
            )
        out.append(_verdict(r))
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
    return cell.replace("|", "\\|").replace("`", "'")


def markdown(reports: Sequence[StackReport]) -> str:
    out = ["## ai-stack offline policy gate", ""]
    for r in reports:
        icon = "✅" if r.passed else "❌"
        out += [f"### {icon} {_verdict(r)}", ""]
        if r.error:
            out += ["```", r.error, "```", ""]
        if r.rows:
            out.append("| " + " | ".join(COLUMNS) + " |")
            out.append("|" + "---|" * len(COLUMNS))
            out += ["| " + " | ".join(_md(c) for c in _cells(row)) + " |" for row in r.rows]
            out.append("")
        if r.diagnostics:
            out += ["| level | policy | resource | message |", "|---|---|---|---|"]
            for d in r.mandatory + r.advisory:
                out.append(
                    f"| {d.enforcement_level} | `{d.policy_name}` | {_md(d.urn.rsplit('::', 1)[-1])} | "
                    f"{_md(_first_line(d.message))} |"
                )
            out.append("")
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
