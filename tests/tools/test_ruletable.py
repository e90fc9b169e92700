"""The README's rule table is the one tools.ruletable renders from the catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from policies.rules.catalog import RESOURCE_RULES, STACK_RULES
from tools import ruletable


def test_readme_holds_exactly_the_generated_table() -> None:
    readme = ruletable.README.read_text(encoding="utf-8")
    assert ruletable.readme_table(readme) == ruletable.render_all(), (
        "README.md's rule table is stale: run `python -m tools.ruletable --write`"
    )


def test_one_row_per_rule_of_the_catalog() -> None:
    rows = ruletable.render().splitlines()[2:]
    names = [row.split("`")[1] for row in rows]
    assert sorted(names) == sorted([r.name for r in RESOURCE_RULES] + [r.name for r in STACK_RULES])


def test_levels_changed_by_a_stack_config_are_noted() -> None:
    rows = {row.split("`")[1]: row.split(" | ")[1] for row in ruletable.render().splitlines()[2:]}
    assert rows["volume-protected"] == "mandatory (advisory in dev)"
    assert rows["container-resource-limits"] == "mandatory"  # dev.json and prod.json leave it as it is


def test_write_replaces_only_the_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{ruletable.BEGIN}\n| old |\n{ruletable.END}\nafter\n", encoding="utf-8")
    assert ruletable.write(readme)
    assert readme.read_text(encoding="utf-8") == (
        f"# x\n\nbefore\n{ruletable.BEGIN}\n{ruletable.render_all()}\n{ruletable.END}\nafter\n"
    )
    assert not ruletable.write(readme)


def test_module_prints_a_row_per_rule_with_its_declared_level() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.ruletable"],
        cwd=ruletable.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    printed = {row.split("`")[1]: row.split(" | ")[1] for row in done.stdout.splitlines() if row.startswith("| `")}
    # The oracle is the catalog's own declarations, not the renderer: each rule once, at its level.
    declared = {r.name: str(r.enforcement_level.value) for r in RESOURCE_RULES}
    declared |= {r.name: str(r.enforcement_level.value) for r in STACK_RULES}
    assert set(printed) == set(declared)
    assert all(printed[name].startswith(level) for name, level in declared.items()), printed


def test_every_kics_query_has_a_row_saying_how_much_is_covered() -> None:
    rows = ruletable.render_kics().splitlines()[2:]
    cells = {row.split(" | ")[0].lstrip("| "): row.split(" | ")[1:] for row in rows}
    assert len(cells) == 21, "KICS ships 21 docker-compose queries"
    assert cells["221e0658 Pids Limit Not Set"][0] == "none" and "pids_limit" in cells["221e0658 Pids Limit Not Set"][2]
    partial = {q for q, c in cells.items() if c[0] == "partial"}
    assert "bc2908f3 Privileged Ports Mapped In Container" in partial
    assert all(c[2].strip(" |") != "–" for q, c in cells.items() if q in partial), "a partial row says why"
    full = cells["1c1325ff Volume Has Sensitive Host Directory"]
    assert full[0] == "full" and "`container-no-sensitive-volume-binds`" in full[1]
