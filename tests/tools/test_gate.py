"""The offline gate end to end: the real program under mocks, the real pack over its protocol."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pulumi_docker
import pytest

from tools.gate import render
from tools.gate.__main__ import main
from tools.gate.run import StackReport, run_gate
from tools.offline import ROOT


def test_shipped_stacks_pass_every_mandatory_rule(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    md = tmp_path / "summary.md"
    assert main(["--stack", "dev", "--stack", "prod", "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "stack dev: PASSED: 0 mandatory" in out and "stack prod: PASSED: 0 mandatory" in out
    # The preview-like table: image, limits, GPU, ports and routes per container.
    # One row per Ollama instance, each with its own GPU (prod: perGpu on two).
    for name, gpu in (("ollama", "nvidia:0"), ("ollama-1", "nvidia:1")):
        assert any(
            line.split()[:6] == ["Container", name, "ollama/ollama:0.32.15", "8.0", "32768Mi", gpu]
            for line in out.splitlines()
        ), out
    assert "127.0.0.1:11434→11434" in out
    assert "Host(`chat.example.com`)" in out and "*:443→8443" in out and "[::]:443→8444" in out
    text = md.read_text()
    assert text.startswith("## ai-stack offline policy gate")
    assert "### ✅ stack prod: PASSED" in text and "| Container | traefik |  | traefik:v3.7.13 |" in text


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "prod", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["stack"] == "prod" and report["passed"] is True
    names = {r["name"] for r in report["resources"] if r["type"] == "Container"}
    assert {r["host"] for r in report["resources"]} == {"main"}
    assert names == {
        "ollama",
        "ollama-pull",
        "ollama-1",
        "ollama-1-pull",
        "open-webui",
        "litellm",
        "litellm-key",
        "postgres",
        "traefik",
        "docker-socket-proxy",
        "backup",
        "prometheus",
        "alertmanager",
        "blackbox-exporter",
        "node-exporter",
        "gpu-exporter",
        "ollama-exporter",
        "litellm-metrics-key",
    }
    assert all(v["enforcement_level"] != "mandatory" for v in report["violations"])


def unlimit_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    """The program, with LiteLLM's container declared without its memory limits."""
    real = pulumi_docker.Container

    def without_limits(resource_name: str, **kwargs: Any) -> Any:
        if resource_name == "litellm":
            kwargs.pop("memory")
            kwargs.pop("memory_swap")
        return real(resource_name, **kwargs)

    monkeypatch.setattr(pulumi_docker, "Container", without_limits)


def test_an_unlimited_container_fails_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    unlimit_litellm(monkeypatch)
    (report,) = run_gate(["dev"])
    assert not report.passed
    # Rejected on its own, and counted as unbounded against the host's capacity.
    assert {(d.policy_name, d.urn.rsplit("::", 1)[1]) for d in report.mandatory} == {
        ("container-resource-limits", "litellm"),
        ("stack-host-capacity", "litellm"),
    }
    assert "UNLIMITED" in render.text([report])
    assert "FAILED: 2 mandatory" in render.text([report])


def pack_copy(tmp_path: Path) -> Path:
    """The shipped pack, copied into `tmp_path` to be changed."""
    pack = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    return pack


def pack_with(tmp_path: Path, stack: str, config: dict[str, Any]) -> Path:
    pack = pack_copy(tmp_path)
    (pack / "config" / f"{stack}.json").write_text(json.dumps(config))
    return pack


def test_server_policy_config_rejects_the_laptop_ollama_port(tmp_path: Path) -> None:
    prod = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())
    prod["stack-host-capacity"].update(hostCpus=8, hostMemoryMb=16384, hostGpus=0)
    (report,) = run_gate(["dev"], pack_dir=pack_with(tmp_path, "dev", prod))
    assert ("container-no-published-datastore", "ollama") in {
        (d.policy_name, d.urn.rsplit("::", 1)[1]) for d in report.mandatory
    }


def test_a_smaller_host_fails_the_capacity_check(tmp_path: Path) -> None:
    dev = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    dev["stack-host-capacity"]["hostMemoryMb"] = 8192
    (report,) = run_gate(["dev"], pack_dir=pack_with(tmp_path, "dev", dev))
    assert [d.policy_name for d in report.mandatory] == ["stack-host-capacity"]
    assert "8192" in report.mandatory[0].message


def test_a_broken_stack_file_fails_with_its_error(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  ai-stack:host: {cpus: 8}\n  ai-stack:models: [a]\n")
    (report,) = run_gate(["dev"], root=tmp_path)
    assert isinstance(report, StackReport) and not report.passed
    assert report.error is not None and "ai-stack:host.memory: required" in report.error


def test_module_entry_point_exit_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.gate", "--stack", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "Pulumi.nope.yaml: no such stack file" in done.stdout


def _pack_processes() -> set[int]:
    done = subprocess.run(["pgrep", "-f", f"pulumi.policy .* {ROOT / 'policies'}$"], capture_output=True, text=True)
    return {int(pid) for pid in done.stdout.split()}


def test_no_pack_process_outlives_the_gate() -> None:
    before = _pack_processes()
    # A stack that fails at once is the case where the pack is still booting at the end.
    subprocess.run([sys.executable, "-m", "tools.gate", "--stack", "nope"], cwd=ROOT, capture_output=True, timeout=60)
    run_gate(["nope"])
    # A leaked pack would appear a moment later, once its boot thread spawns it.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        leaked = _pack_processes() - before
        assert leaked == set(), f"policy pack processes left running: {leaked}"
        time.sleep(0.2)


def test_a_failed_stack_shows_its_first_problem_and_no_empty_table(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  ai-stack:host: {cpus: 8}\n  ai-stack:models: [a]\n  ai-stak:ollama: {cpus: 1}\n"
    )
    reports = run_gate(["dev"], root=tmp_path)
    out = render.text(reports)
    assert "TYPE" not in out, out
    verdict = next(line for line in out.splitlines() if line.startswith("stack dev:"))
    assert verdict.startswith("stack dev: FAILED: Pulumi.dev.yaml (stack 'dev') has invalid settings: ai-sta")
    assert verdict.endswith("(and 2 more)") and not verdict.rstrip(")").endswith(":"), verdict
    md = render.markdown(reports)
    assert "| type |" not in md and "### ❌ stack dev: FAILED: Pulumi.dev.yaml" in md


@pytest.mark.parametrize(
    ("error", "line"),
    [
        ("StackFileError: Pulumi.qa.yaml: no such stack file in /x", "Pulumi.qa.yaml: no such stack file in /x"),
        (
            "SettingsError: Pulumi.qa.yaml (stack 'qa') has invalid settings:\n  - ai-stack:a: b",
            "Pulumi.qa.yaml (stack 'qa') has invalid settings: ai-stack:a: b",
        ),
        ("RuntimeError: boom:", "RuntimeError: boom"),
    ],
)
def test_the_verdict_never_ends_in_a_colon(error: str, line: str) -> None:
    assert render.first_problem(error) == line


def _bare_python() -> str | None:
    """A python3 outside .venv that lacks the tooling's dependencies, if this machine has one."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", "import pulumi"], capture_output=True, env={}, check=False)
            if probe.returncode != 0:
                return candidate
    return None


@pytest.mark.parametrize("module", ["tools.gate", "tools.packconfig"])
def test_outside_the_venv_one_line_says_how_to_run_it(module: str) -> None:
    python = _bare_python()
    # Without one, simulate it: the venv's interpreter without its site-packages (-S).
    cmd = [python, "-m", module, "--help"] if python else [sys.executable, "-S", "-m", module, "--help"]
    done = subprocess.run(cmd, cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert "run `make check` (which sets up .venv) or `.venv/bin/python -m " + module + "`" in line


@pytest.fixture(scope="module")
def both() -> list[StackReport]:
    return run_gate(["dev", "prod"])


def test_each_advisory_is_said_once_with_every_resource_it_affects(both: list[StackReport]) -> None:
    dev = both[0]
    by_policy: dict[str, set[str]] = {}
    for d in dev.advisory:
        by_policy.setdefault(d.policy_name, set()).add(d.urn.rsplit("::", 1)[1])
    assert any(len(names) > 1 for names in by_policy.values())  # the grouping has something to do
    out = render.text([dev])
    for policy, names in by_policy.items():
        assert out.count(f"ADVISORY {policy}:") == 1
        [affected] = [line for line in out.splitlines() if line.startswith(f"  affected ({len(names)}): ")]
        assert set(affected.split(": ", 1)[1].split(", ")) == names
        assert render.markdown([dev]).count(f"`{policy}`") == 1


def test_no_line_of_the_gate_is_long(both: list[StackReport]) -> None:
    for face in (render.text(both), render.markdown(both)):
        longest = max(face.splitlines(), key=len)
        assert len(longest) < 200, longest


def test_route_rules_keep_their_backticks_in_code_spans(both: list[StackReport]) -> None:
    md = render.markdown([both[1]])
    assert "| `` Host(`chat.example.com`) `` |" in md
    assert "Host('" not in md


@pytest.mark.parametrize(
    ("text", "span"),
    [("a", "`a`"), ("Host(`x`)", "`` Host(`x`) ``"), ("``a``", "``` ``a`` ```"), ("a|b", "`a|b`")],
)
def test_code_spans_hold_any_backticks(text: str, span: str) -> None:
    assert render.code(text) == span


# --- the summary's layout: verdict first, violations by policy, the inventory collapsed --------


def test_the_summary_says_the_verdict_first_then_violations_then_the_inventory(both: list[StackReport]) -> None:
    advisory = sum(len(r.advisory) for r in both)
    md = render.markdown(both)
    first = md.splitlines()[0]
    assert (
        first == f"## ai-stack offline policy gate: ✅ PASSED (2 stacks): 0 mandatory, {advisory} advisory violations"
    )
    dev = md.split("### ✅ stack prod")[0]
    verdict = dev.index("### ✅ stack dev: PASSED")
    violations = dev.index("- ⚠️ **advisory**")
    details = dev.index("<details><summary>Inventory of dev: ")
    table = dev.index("| type | name |")
    assert verdict < violations < details < table < dev.index("</details>")
    for r in both:  # every stack's table is collapsed
        assert md.count(f"<details><summary>Inventory of {r.stack}: {len(r.rows)} resources") == 1
    text = render.text(both)
    for block in text.split("== stack ")[1:]:
        lines = block.splitlines()
        assert lines[1].startswith(f"stack {lines[0].split()[0]}: PASSED")  # the verdict right under the heading
        assert lines.index(next(x for x in lines if x.startswith("inventory: "))) < lines.index(
            next(x for x in lines if x.startswith("TYPE"))
        )


def test_a_failing_stack_shows_its_verdict_then_its_mandatory_violations(monkeypatch: pytest.MonkeyPatch) -> None:
    unlimit_litellm(monkeypatch)
    reports = run_gate(["dev"])
    md = render.markdown(reports)
    advisory = len(reports[0].advisory)
    assert md.splitlines()[0] == (
        f"## ai-stack offline policy gate: ❌ FAILED (1 of 1 stack): 2 mandatory, {advisory} advisory violations"
    )
    assert md.index("### ❌ stack dev: FAILED: 2 mandatory") < md.index(
        "- ❌ **mandatory** `container-resource-limits`"
    )
    assert md.index("- ❌ **mandatory** `stack-host-capacity`") < md.index("<details>")


def test_a_broken_stack_file_puts_its_problem_at_the_top(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  ai-stack:host: {cpus: 8}\n  ai-stack:models: [a]\n")
    md = render.markdown(run_gate(["dev"], root=tmp_path))
    lines = [line for line in md.splitlines() if line]
    counts = "0 mandatory, 0 advisory violations, 1 not evaluated"
    assert lines[0] == f"## ai-stack offline policy gate: ❌ FAILED (1 of 1 stack): {counts}"
    assert lines[1] == "**1 of 1 stacks failed:** `dev`"
    assert lines[2].startswith("### ❌ stack dev: FAILED: Pulumi.dev.yaml (stack 'dev') has invalid settings: ")
    assert "ai-stack:host.memory" in lines[2] and "<details>" not in md


@pytest.mark.parametrize(
    ("inputs", "shown"),
    [
        ({"deviceRequests": [{"driver": "nvidia", "count": -1.0, "capabilities": ["gpu"]}]}, "nvidia:all"),
        ({"deviceRequests": [{"driver": "nvidia", "count": 2.0}]}, "nvidia:2"),
        ({"deviceRequests": [{"driver": "nvidia", "deviceIds": ["0", "1"]}]}, "nvidia:0,1"),
        ({"deviceRequests": [{"driver": "cdi", "deviceIds": ["nvidia.com/gpu=all"]}]}, "cdi:nvidia.com/gpu=all"),
        ({"devices": [{"hostPath": "/dev/kfd"}, {"hostPath": "/dev/dri/renderD128"}]}, "amd:renderD128"),
        ({"devices": [{"hostPath": "/dev/kfd"}, {"hostPath": "/dev/dri"}]}, "amd:all"),
        ({"devices": [{"hostPath": "/dev/fuse"}]}, ""),
    ],
)
def test_gpus_show_for_every_driver(inputs: dict[str, Any], shown: str) -> None:
    from tools.gate.run import _gpu

    assert _gpu(inputs) == shown


def test_the_amd_example_shows_its_gpus_in_the_inventory() -> None:
    from tools.gate.run import rows
    from tools.offline import evaluate

    ev = evaluate("amd", root=ROOT / "tests" / "stack" / "data")
    report = StackReport("amd", rows(ev))
    [ollama] = [r for r in report.rows if r.name == "ollama"]
    assert ollama.gpu == "amd:renderD128,renderD129"  # the example's renderNodes
    # The AMD exporter reads the same GPUs (monitoring is on for a server).
    assert "(gpu-exporter amd:renderD128,renderD129, ollama amd:renderD128,renderD129)" in render.markdown([report])
    assert "| ollama/ollama:0.32.15-rocm | 16.0 | 65536Mi | amd:renderD128,renderD129 |" in render.markdown([report])


def _pack_that(tmp_path: Path, first_line: str) -> Path:
    """The shipped pack with `first_line` run before anything else in its entry point."""
    pack = pack_copy(tmp_path)
    entry = pack / "__main__.py"
    entry.write_text(first_line + "\n" + entry.read_text())
    return pack


def test_what_registers_before_the_pack_is_up_is_still_judged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The program runs while the pack boots; here the pack takes longer than the whole program,
    # so every resource is held until the pack is configured, and none may be lost.
    unlimit_litellm(monkeypatch)
    (report,) = run_gate(["dev"], pack_dir=_pack_that(tmp_path, "import time; time.sleep(3)"))
    assert {(d.policy_name, d.urn.rsplit("::", 1)[1]) for d in report.mandatory} == {
        ("container-resource-limits", "litellm"),
        ("stack-host-capacity", "litellm"),
    }


def test_a_pack_that_never_starts_fails_the_stack_with_its_table(tmp_path: Path) -> None:
    (report,) = run_gate(["dev"], pack_dir=_pack_that(tmp_path, "raise SystemExit('the pack is broken')"))
    assert not report.passed
    assert report.error is not None and report.error.startswith("policy pack did not start: ")
    assert "the pack is broken" in report.error
    assert any(row.name == "litellm" for row in report.rows)  # the program ran, its table shows
