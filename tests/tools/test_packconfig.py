"""The pack's per-stack config is generated from the stack's settings, and the committed files match."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools import packconfig
from tools.stackfile import ROOT, stack_settings


def test_committed_pack_configs_are_current() -> None:
    assert packconfig.main(["--check"]) == 0


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_capacity_and_exposure_come_from_the_settings(stack: str) -> None:
    s = stack_settings(stack)
    cfg = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())
    cap = cfg["stack-host-capacity"]
    assert (cap["hostCpus"], cap["hostMemoryMb"], cap["hostGpus"]) == (s.host.cpus, s.host.memory, s.host.gpus)
    assert cfg["container-no-published-datastore"]["loopbackAllowed"] == (["ollama"] if s.publishes_ports else [])
    assert cfg["volume-protected"] == ("mandatory" if s.protects_data else "advisory")


def test_a_changed_host_makes_the_committed_file_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policies" / "config").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "config" / "dev.json", tmp_path / "policies" / "config" / "dev.json")
    text = (ROOT / "Pulumi.dev.yaml").read_text().replace("memory: 16Gi", "memory: 24Gi")
    assert "24Gi" in text
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    s = stack_settings("dev", tmp_path)
    assert packconfig.pack_config(s)["stack-host-capacity"]["hostMemoryMb"] == 24 * 1024
    assert packconfig.main(["--check", "--stack", "dev", "--root", str(tmp_path)]) == 1
    assert "policies/config/dev.json is stale" in capsys.readouterr().err
    assert packconfig.main(["--stack", "dev", "--root", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "policies" / "config" / "dev.json").read_text())
    assert written["stack-host-capacity"]["hostMemoryMb"] == 24 * 1024
