"""`make up`'s prerequisite check names exactly what is missing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tools.prereqs import problems


def runner(returncode: int, info: dict[str, object] | None = None, stderr: str = ""):  # type: ignore[no-untyped-def]
    def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(cmd), returncode, json.dumps(info or {}), stderr)

    return run


def everything(name: str) -> str | None:
    return f"/usr/bin/{name}"


def test_all_present() -> None:
    assert problems("dev", run=runner(0), which=everything, env={"PULUMI_CONFIG_PASSPHRASE": "x"}) == []


def test_missing_cli_docker_and_passphrase() -> None:
    found = problems("dev", run=runner(0), which=lambda n: None, env={})
    assert any("Pulumi CLI is not on PATH" in p for p in found)
    assert any("docker CLI is not on PATH" in p for p in found)
    assert any("PULUMI_CONFIG_PASSPHRASE" in p for p in found)


def test_engine_not_answering_names_the_docker_host() -> None:
    found = problems(
        "dev",
        run=runner(1, stderr="Cannot connect to the Docker daemon"),
        which=everything,
        env={"PULUMI_CONFIG_PASSPHRASE": "x", "DOCKER_HOST": "ssh://gpu-box"},
    )
    assert found == [
        "no Docker Engine answers at ssh://gpu-box: start it, or set DOCKER_HOST "
        "(docker info said: Cannot connect to the Docker daemon)"
    ]


def test_gpu_stack_needs_the_nvidia_toolkit(tmp_path: Path) -> None:
    env = {"PULUMI_CONFIG_PASSPHRASE": "x"}
    no_cdi = (tmp_path / "etc-cdi", tmp_path / "run-cdi")
    found = problems("prod", run=runner(0, {"Runtimes": {"runc": {}}}), which=everything, env=env, cdi_dirs=no_cdi)
    assert len(found) == 1 and "NVIDIA Container Toolkit" in found[0] and "Pulumi.prod.yaml" in found[0]
    ok = problems("prod", run=runner(0, {"Runtimes": {"nvidia": {}}}), which=everything, env=env, cdi_dirs=no_cdi)
    assert ok == []
    # The laptop stack has no GPU, so no toolkit is needed.
    assert problems("dev", run=runner(0, {"Runtimes": {"runc": {}}}), which=everything, env=env, cdi_dirs=no_cdi) == []


def test_a_cdi_spec_stands_in_for_the_nvidia_runtime(tmp_path: Path) -> None:
    env = {"PULUMI_CONFIG_PASSPHRASE": "x"}
    (tmp_path / "run-cdi").mkdir()
    (tmp_path / "run-cdi" / "nvidia.yaml").write_text("cdiVersion: 0.5.0\n")
    dirs = (tmp_path / "etc-cdi", tmp_path / "run-cdi")
    assert problems("prod", run=runner(0, {"Runtimes": {"runc": {}}}), which=everything, env=env, cdi_dirs=dirs) == []


def test_unknown_stack() -> None:
    found = problems("staging", run=runner(0), which=everything, env={"PULUMI_CONFIG_PASSPHRASE": "x"})
    assert found == ["Pulumi.staging.yaml does not exist: stacks here are dev and prod"]
