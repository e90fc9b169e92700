"""Fixtures: one policy pack process per session, configured per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (
    ROOT,
    HERE,
):  # the repo (policies.*) and policy_fixtures, whatever the import mode
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from policy_fixtures import CONFIG_DIR

from policies.harness import PolicyPackAnalyzer

PACK_DIR = ROOT / "policies"


@pytest.fixture(scope="session")
def analyzer() -> Iterator[PolicyPackAnalyzer]:
    """The pack, started once like the CLI does (about 0.5 s)."""
    with PolicyPackAnalyzer(PACK_DIR, project="ai-stack", stack="prod", dry_run=True) as pack:
        yield pack


@pytest.fixture()
def prod(analyzer: PolicyPackAnalyzer) -> PolicyPackAnalyzer:
    """The pack configured with policies/config/prod.json."""
    analyzer.configure_file(CONFIG_DIR / "prod.json")
    return analyzer


@pytest.fixture()
def dev(analyzer: PolicyPackAnalyzer) -> PolicyPackAnalyzer:
    """The pack configured with policies/config/dev.json."""
    analyzer.configure_file(CONFIG_DIR / "dev.json")
    return analyzer
