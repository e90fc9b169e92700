"""The README's rule table, rendered from the pack's catalog: `python -m tools.ruletable` prints it.

README.md holds it between `<!-- rules:begin -->` and `<!-- rules:end -->`, and a test keeps the
two equal; `--write` puts fresh tables there. Mandatory rules come first, each group in catalog
order. A level that a shipped stack config changes is noted, e.g. "mandatory (advisory in dev)".
A second table answers, for every KICS docker-compose query, which rules cover it, in full or in
part, and what is left out and why (from each rule's `Kics` metadata and the catalog's
`UNANSWERED_KICS`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from policies.rules.base import Kics
from policies.rules.catalog import RESOURCE_RULES, STACK_RULES, UNANSWERED_KICS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CONFIG_DIR = ROOT / "policies" / "config"
BEGIN = "<!-- rules:begin -->"
END = "<!-- rules:end -->"
HEADER = ("rule", "level", "severity", "KICS docker-compose query", "CIS Docker §5", "description")
KICS_HEADER = ("KICS docker-compose query", "coverage", "rules", "left out, and why")


@dataclass(frozen=True)
class Row:
    name: str
    stack: bool
    level: str
    severity: str
    kics: tuple[Kics, ...]
    cis: tuple[str, ...]
    description: str


def catalog_rows() -> list[Row]:
    """Every rule of the catalog, resource rules first, as the pack registers them."""
    rows = [
        Row(r.name, False, r.enforcement_level.value, r.severity.value, r.kics, r.cis, r.description)
        for r in RESOURCE_RULES
    ]
    rows += [
        Row(r.name, True, r.enforcement_level.value, r.severity.value, r.kics, r.cis, r.description)
        for r in STACK_RULES
    ]
    return rows


def stack_levels(config_dir: Path = CONFIG_DIR) -> dict[str, dict[str, str]]:
    """{policy: {stack: level}} for every level a shipped policy config sets."""
    levels: dict[str, dict[str, str]] = {}
    for path in sorted(config_dir.glob("*.json")):
        for policy, value in json.loads(path.read_text(encoding="utf-8") or "{}").items():
            level = value if isinstance(value, str) else value.get("enforcementLevel")
            if level:
                levels.setdefault(policy, {})[path.stem] = level
    return levels


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(rows: Sequence[Row] | None = None, levels: dict[str, dict[str, str]] | None = None) -> str:
    """The Markdown table, without a trailing newline."""
    rows = catalog_rows() if rows is None else rows
    levels = stack_levels() if levels is None else levels
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in sorted(rows, key=lambda r: r.level != "mandatory"):
        level = row.level
        others = sorted((stack, lvl) for stack, lvl in levels.get(row.name, {}).items() if lvl != row.level)
        if others:
            level += " (" + ", ".join(f"{lvl} in {stack}" for stack, lvl in others) + ")"
        name = f"`{row.name}`" + (" (stack policy)" if row.stack else "")
        cells = [
            name,
            level,
            row.severity,
            "; ".join(f"{k} (partial)" if k.partial else str(k) for k in row.kics) or "–",
            ", ".join(row.cis) or "–",
            row.description,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def render_kics(rows: Sequence[Row] | None = None, unanswered: Sequence[Kics] = UNANSWERED_KICS) -> str:
    """One row per KICS query: full when one rule covers all of it, else partial (or none) with why."""
    rows = catalog_rows() if rows is None else rows
    by_query: dict[str, list[tuple[str, Kics]]] = {}
    for row in rows:
        for k in row.kics:
            by_query.setdefault(str(k), []).append((row.name, k))
    for k in unanswered:
        by_query.setdefault(str(k), []).append(("", k))
    lines = ["| " + " | ".join(KICS_HEADER) + " |", "|" + "---|" * len(KICS_HEADER)]
    for query, entries in sorted(by_query.items(), key=lambda item: item[0].split(" ", 1)[1].lower()):
        coverage = "full" if any(k.coverage == "full" for _, k in entries) else entries[0][1].coverage
        rules = ", ".join(f"`{name}`" for name, _ in entries if name) or "–"
        why = "–" if coverage == "full" else "; ".join(k.partial or k.none for _, k in entries)
        lines.append("| " + " | ".join(_cell(c) for c in (query, coverage, rules, why)) + " |")
    return "\n".join(lines)


def render_all() -> str:
    """What the README holds between the markers: the rule table, then the KICS coverage table."""
    return f"{render()}\n\n{render_kics()}"


def readme_table(text: str) -> str:
    """The text between the markers in ``text``, without the newlines around it."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise ValueError(f"README must hold {BEGIN} and {END} once each")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def write(path: Path = README) -> bool:
    """Put a fresh table between the markers of ``path``; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = f"{head}{BEGIN}\n{render_all()}\n{END}{tail}"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.ruletable", description="Print the README rule table from the catalog."
    )
    parser.add_argument("--write", action="store_true", help="update the table in README.md instead of printing it")
    args = parser.parse_args(argv)
    if args.write:
        print("README.md updated" if write() else "README.md already up to date")
    else:
        print(render_all())
    return 0


if __name__ == "__main__":
    sys.exit(main())
