"""GitHub workflows validate against the schema and wire the policy pack into every stack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _check_jsonschema() -> str | None:
    local = Path(sys.executable).with_name("check-jsonschema")
    return str(local) if local.exists() else shutil.which("check-jsonschema")


def test_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"pr.yml", "deploy.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_matches_github_schema(workflow: Path) -> None:
    tool = _check_jsonschema()
    if tool is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("check-jsonschema is not installed (requirements-dev.txt); CI must validate workflows")
        pytest.skip("check-jsonschema not installed")
    proc = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_preview_runs_the_pack_per_stack_and_skips_forks() -> None:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "pr.yml").read_text())
    preview = data["jobs"]["preview"]
    assert preview["runs-on"] == ["self-hosted", "docker-host"]
    assert "head.repo.full_name == github.repository" in preview["if"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    [action] = [s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert action["with"]["policyPacks"] == "policies"
    assert action["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    assert any(
        "policies/venv/bin/pip install -r policies/requirements.txt" in s.get("run", "") for s in preview["steps"]
    )
    for job in ("test", "gate"):
        assert "secrets." not in yaml.safe_dump(data["jobs"][job])
    assert any("make check STACK=${{ matrix.stack }}" in s.get("run", "") for s in data["jobs"]["gate"]["steps"])


def test_deploy_is_gated_by_environments_with_the_pack() -> None:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    assert data[True]["push"]["branches"] == ["main"]  # PyYAML reads the key `on` as True
    for stack in ("dev", "prod"):
        job = data["jobs"][stack]
        assert job["environment"] == stack
        [action] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
        assert action["with"]["command"] == "up"
        assert action["with"]["policyPackConfigs"] == f"policies/config/{stack}.json"
    assert data["jobs"]["prod"]["needs"] == "dev"


def test_the_gate_job_writes_the_offline_diff_against_the_base_even_on_failure() -> None:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "pr.yml").read_text())
    steps = data["jobs"]["gate"]["steps"]
    names = [s.get("name", "") for s in steps]
    gate = next(i for i, n in enumerate(names) if n.startswith("Offline gate"))
    [diff] = [s for s in steps if "make diff" in s.get("run", "")]
    assert steps.index(diff) > gate and diff["if"] == "always()"
    assert diff["env"]["BASE_REF"] == "${{ github.base_ref }}"  # via env: never spliced into the script
    assert "${{" not in diff["run"].replace("${{ matrix.stack }}", "")
    assert 'git fetch --no-tags --depth=1 origin "+refs/heads/${BASE_REF}' in diff["run"]
    assert (
        'make diff STACK=${{ matrix.stack }} BASE="origin/${BASE_REF}" MARKDOWN="$GITHUB_STEP_SUMMARY"' in diff["run"]
    )
