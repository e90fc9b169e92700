"""Fixtures: one policy pack process per session, configured per test, and the prod baseline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.policies.fixtures import CONFIG_DIR, Baseline
from tools.analyzer import PolicyPackAnalyzer
from tools.offline import Evaluation

ROOT = Path(__file__).resolve().parents[2]

PACK_DIR = ROOT / "policies"


@pytest.fixture(scope="session")
def pack_process() -> Iterator[PolicyPackAnalyzer]:
    """The pack, started once like the CLI does (about 0.5 s)."""
    with PolicyPackAnalyzer(PACK_DIR, project="ai-stack", stack="prod", dry_run=True) as pack:
        yield pack


@pytest.fixture()
def analyzer(pack_process: PolicyPackAnalyzer) -> PolicyPackAnalyzer:
    """The session's pack, reset to what the CLI sends with no policy config (every policy at its
    own level), so no test inherits another's levels: a test that set `{"all": "advisory"}` would
    otherwise silently downgrade every mandatory rule for the tests after it."""
    pack_process.configure({})
    return pack_process


@pytest.fixture()
def prod_pack(analyzer: PolicyPackAnalyzer) -> PolicyPackAnalyzer:
    """The pack configured with policies/config/prod.json."""
    analyzer.configure_file(CONFIG_DIR / "prod.json")
    return analyzer


@pytest.fixture()
def dev_pack(analyzer: PolicyPackAnalyzer) -> PolicyPackAnalyzer:
    """The pack configured with policies/config/dev.json."""
    analyzer.configure_file(CONFIG_DIR / "dev.json")
    return analyzer


@pytest.fixture(scope="session")
def baseline(prod: Evaluation) -> Baseline:
    """The prod stack as the program registers it (the session's one evaluation of prod)."""
    return Baseline(prod)
