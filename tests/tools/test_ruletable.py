"""The README's rule table is the one tools.ruletable renders from the catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from policies.rules.catalog import RESOURCE_RULES, STACK_RULES
from tools import ruletable


def test_readme_holds_exactly_the_generated_table() -> None:
    readme = ruletable.README.read_text(encoding="utf-8")
    assert ruletable.readme_table(readme) == ruletable.render(), (
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
        f"# x\n\nbefore\n{ruletable.BEGIN}\n{ruletable.render()}\n{ruletable.END}\nafter\n"
    )
    assert not ruletable.write(readme)


def test_module_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.ruletable"],
        cwd=ruletable.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == ruletable.render() + "\n"
